"""Traced runs of the offline agent for the tracing tests: real spans, a real store in a temp folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from contextos.agents import Agent
from contextos.llm import ModelClient
from contextos.tracing import configure_tracing
from contextos.tracing.store import TraceStore

# Planted secrets: none of them may reach a file of the store.
API_KEY = "sk-proj-PLANTEDkey1234567890abcdef"
BEARER = "tok_PLANTEDbearer_0987654321"
AUTH_HEADER_VALUE = "Basic UExBTlRFRGhlYWRlcjpwYXNzd29yZA"
ACCOUNT = "acct-739182"  # matched only by the configured pattern below
PATTERNS = (r"acct-\d{6}",)
SCRIPT = "<script>document.title='pwned';document.body.appendChild(document.createElement('planted-by-tool'))</script>"
TASK = f"lookup the weather in Oslo please (my key is {API_KEY}, account {ACCOUNT})"


def lookup_weather(city: str) -> str:
    """Look up the weather for a city.

    Args:
        city: The city name.
    """
    return (
        f"{SCRIPT} Weather in {city}: sunny. Fetched with Authorization: Bearer {BEARER} "
        f'and headers {{"Authorization": "{AUTH_HEADER_VALUE}"}}'
    )


def traced_agent_run(
    trace_dir: Path,
    *,
    tool: Callable[..., str] = lookup_weather,
    task: str = TASK,
    **settings: object,
) -> tuple[TraceStore, str]:
    """Run the offline agent once (``task``, with ``tool``) with tracing into ``trace_dir``; the store and the run id."""
    tracing = configure_tracing(trace_dir=trace_dir, redact_patterns=PATTERNS, **settings)
    try:
        result = Agent(ModelClient("offline/demo"), name="weather", tools=[tool]).run(task)
    finally:
        tracing.shutdown()
    assert result.traced and result.stop_reason == "final_answer" and len(result.steps) == 2
    return TraceStore(trace_dir), result.run_id


@pytest.fixture(scope="session")
def traced_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[TraceStore, str]:
    """One offline agent run (tool call, then answer), content captured, with secrets planted."""
    return traced_agent_run(tmp_path_factory.mktemp("traces"))
