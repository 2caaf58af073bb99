"""Fixtures for the model-dispatch tests: a fake vLLM server on a real socket and fast retry waits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contextos.llm import Attempt, ModelClient, RetryPolicy
from contextos.testing import FakeModelServer

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
