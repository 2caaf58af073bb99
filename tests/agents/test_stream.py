"""Agent.arun_stream / Agent.stream: typed events in order, tokens as the model streams them."""

from __future__ import annotations

import pytest

from contextos import Agent, ModelClient
from contextos.agents.stream import (
    ContextAssembled,
    ModelToken,
    RunFinished,
    StepFinished,
    StepStarted,
    ToolCalled,
    ToolReturned,
)
from contextos.testing import FakeModelServer, Reply, ScriptedModel


def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"18 degrees in {city}"


def kinds(events) -> list[str]:
    return [e.kind for e in events if not isinstance(e, ModelToken)]


async def test_events_arrive_in_order_with_the_result_last():
    model = ScriptedModel(
        [Reply.tool_call("get_weather", {"city": "Oslo"}), Reply.text("It is 18 degrees in Oslo.")]
    )
    events = [e async for e in Agent(model, tools=[get_weather]).arun_stream("Weather in Oslo?")]
    assert kinds(events) == [
        "step_started",
        "context_assembled",
        "tool_called",
        "tool_returned",
        "step_finished",
        "step_started",
        "context_assembled",
        "step_finished",
        "run_finished",
    ]
    assembled = next(e for e in events if isinstance(e, ContextAssembled))
    assert assembled.request_tokens > 0 and {d.id for d in assembled.decisions} >= {"get_weather"}
    assert next(e for e in events if isinstance(e, ToolCalled)).call.arguments == {"city": "Oslo"}
    assert (
        next(e for e in events if isinstance(e, ToolReturned)).result.content
        == "18 degrees in Oslo"
    )
    tokens = "".join(e.text for e in events if isinstance(e, ModelToken) and e.step == 1)
    assert tokens == "It is 18 degrees in Oslo."
    final = events[-1]
    assert isinstance(final, RunFinished) and final.result.answer == "It is 18 degrees in Oslo."
    assert [e.record.index for e in events if isinstance(e, StepFinished)] == [0, 1]


def test_the_sync_stream_streams_tokens_from_a_vllm_compatible_server():
    with FakeModelServer() as server:
        server.enqueue(Reply.text("Sunny and mild in Oslo today."))
        agent = Agent(ModelClient("hosted_vllm/fake-model", api_base=server.api_base))
        events = list(agent.stream("Weather in Oslo?"))
    tokens = [e.text for e in events if isinstance(e, ModelToken)]
    assert len(tokens) > 1 and "".join(tokens) == "Sunny and mild in Oslo today."
    assert isinstance(events[0], StepStarted) and isinstance(events[-1], RunFinished)
    assert events[-1].result.stop_reason == "final_answer"


async def test_a_failing_run_raises_after_the_events_before_it():
    model = ScriptedModel([Reply.text("fine")])

    def explode(step):
        raise RuntimeError("hook failed")

    class Hook:
        before_step = staticmethod(explode)

    agent = Agent(model, hooks=[Hook()])
    seen = []
    with pytest.raises(RuntimeError, match="hook failed"):
        async for event in agent.arun_stream("hi"):
            seen.append(event.kind)
    assert seen == ["step_started"]
