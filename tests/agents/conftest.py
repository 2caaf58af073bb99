"""Fixtures for the agent tests: a fake vLLM server on a real socket and a client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contextos.llm import ModelClient, RetryPolicy
from contextos.testing import FakeModelServer, RecordedRequest, Reply


def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
        city: The city name, e.g. "Paris".
    """
    return f"Sunny in {city}, 21 C"


def tool_then_answer(request: RecordedRequest) -> Reply:
    """A model that calls get_weather once, then answers from the result."""
    last = request.messages[-1]
    if last["role"] == "tool":
        return Reply.text(f"It says: {last['content']}")
    return Reply.tool_call("get_weather", {"city": "Oslo"})


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    with FakeModelServer() as fake:
        yield fake


def make_client(server: FakeModelServer) -> ModelClient:
    return ModelClient(
        "hosted_vllm/fake-model",
        api_base=server.api_base,
        timeout=10,
        retry=RetryPolicy(max_attempts=2, initial_wait_s=0.01, max_wait_s=0.02, jitter_s=0.0),
    )


@pytest.fixture
def client(server: FakeModelServer) -> ModelClient:
    return make_client(server)
