"""An agent run under faults: a deadline for the whole run, the steps kept when a step fails, and an
answer cut at the output limit not taken for a final one."""

from __future__ import annotations

import time

import pytest

from contextos import Agent, ModelClient, ModelRequestError, RetryPolicy, RunLimits
from contextos.llm._runtime import load_litellm
from contextos.testing import FakeModelServer, Fault, Reply

from .rawserver import RawServer, completion, trickle


def weather(city: str) -> str:
    """The weather.

    Args:
        city: A city.
    """
    return f"rain in {city}"


def _client(api_base: str, timeout: float = 60) -> ModelClient:
    return ModelClient(
        "hosted_vllm/fake-model", api_base=api_base, timeout=timeout, retry=RetryPolicy.none()
    )


def test_max_seconds_ends_a_run_held_by_a_trickling_server() -> None:
    load_litellm()
    with RawServer(trickle(completion(), every_s=0.1)) as server:  # the answer takes half a minute
        agent = Agent(_client(server.api_base), tools=[weather], limits=RunLimits(max_seconds=1.5))
        started = time.monotonic()
        result = agent.run("weather?")
        took = time.monotonic() - started
    assert result.stop_reason == "max_seconds"
    assert result.steps == []
    assert took < 6


def test_a_run_that_fails_at_step_two_hands_over_step_one() -> None:
    with FakeModelServer() as server:
        server.enqueue(
            Reply.tool_call("weather", {"city": "Oslo"}), Fault.status_code(400, "bad field")
        )
        agent = Agent(_client(server.api_base), tools=[weather])
        with pytest.raises(ModelRequestError) as caught:
            agent.run("weather?")
    partial = caught.value.partial
    assert partial is not None and partial.stop_reason == "error"
    assert len(partial.steps) == 1
    assert partial.steps[0].tool_results[0].content == "rain in Oslo"
    assert partial.usage.total_tokens > 0


@pytest.mark.parametrize("content", [None, ""])
def test_an_empty_answer_cut_at_the_output_limit_is_not_a_final_answer(content) -> None:
    with FakeModelServer() as server:
        server.enqueue(Reply(content=content, finish_reason="length"))
        result = Agent(_client(server.api_base)).run("write a lot")
    assert result.stop_reason == "output_limit"
    assert result.answer is None


def test_max_seconds_is_checked() -> None:
    from contextos import ConfigError

    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ConfigError):
            RunLimits(max_seconds=bad)
