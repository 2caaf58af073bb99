"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def run_cli(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run ``contextos ARGS`` as a real subprocess of this checkout's code."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "contextos", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=timeout,
        cwd=ROOT,
    )


@pytest.fixture
def cli():
    """``cli("assemble", "--items", ...)`` runs the command line in a subprocess."""
    return run_cli


@pytest.fixture(scope="session", autouse=True)
def _private_trace_store(tmp_path_factory: pytest.TempPathFactory):
    """Whatever the tests trace (in process or through ``cli``) goes to a temporary store, never the user's."""
    patch = pytest.MonkeyPatch()
    patch.setenv("CONTEXTOS_TRACE_DIR", str(tmp_path_factory.mktemp("trace-store")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public data sets beside the checkout (../shared/data)."""
    if not SHARED_DATA.exists():
        pytest.skip(f"{SHARED_DATA} is not present")
    return SHARED_DATA
