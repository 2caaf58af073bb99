"""The replay helper rebuilds exactly the request a step sent (checked against what the server received)."""

from __future__ import annotations

import json

import pytest

from contextos.agents import Agent
from contextos.errors import TraceError
from contextos.llm import ModelClient, RetryPolicy
from contextos.testing import FakeModelServer, Reply
from contextos.tracing import configure_tracing
from contextos.tracing.store import TraceStore
from contextos.tracing.view import replay_request
from tests.agents.conftest import get_weather, tool_then_answer


def _without_none(value):
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def test_replay_matches_what_the_server_received_and_resends(tmp_path):
    with FakeModelServer() as server:
        server.responder = tool_then_answer
        client = ModelClient(
            "hosted_vllm/fake-model",
            api_base=server.api_base,
            timeout=10,
            retry=RetryPolicy(max_attempts=1),
        )
        tracing = configure_tracing(trace_dir=tmp_path)
        try:
            result = Agent(
                client, name="w", tools=[get_weather], model_params={"temperature": 0.0}
            ).run("Weather in Oslo?")
        finally:
            tracing.shutdown()
        spans = TraceStore(tmp_path).spans(result.run_id)
        received = server.completion_requests()
        assert len(received) == 2
        for step, request in enumerate(received):
            replay = replay_request(spans, step)
            assert replay.model == "hosted_vllm/fake-model"
            assert _without_none(replay.messages) == request.body["messages"]
            assert replay.tools == request.body["tools"]
            assert request.body["temperature"] == replay.params["temperature"] == 0.0
            assert request.body["max_tokens"] == replay.params["max_tokens"]
        # resend step 1 as it was: the server sees the same messages again
        kwargs = replay_request(spans, 1).kwargs()
        server.responder = lambda request: Reply.text("again")
        again = client.complete(
            kwargs["messages"],
            tools=kwargs["tools"],
            temperature=kwargs["temperature"],
            max_tokens=kwargs["max_tokens"],
        )
        assert again.content == "again"
        assert server.completion_requests()[-1].body["messages"] == received[1].body["messages"]
    with pytest.raises(TraceError, match="no model call at step 5"):
        replay_request(spans, 5)
    with pytest.raises(TraceError, match="call 3 does not exist"):
        replay_request(spans, 0, call=3)


def test_a_steps_messages_are_stored_once_and_read_from_the_call_that_sent_them(traced_run):
    from contextos.tracing.view import step_context

    store, run_id = traced_run
    spans = store.spans(run_id)
    for (
        span
    ) in spans:  # the assembly keeps items and decisions; the messages are on the chat span only
        if span.name == "contextos.assemble":
            assert "contextos.context.messages" not in span.attributes
            assert (
                "gen_ai.tool.definitions" not in span.attributes
                and "contextos.context.items" in span.attributes
            )
    for step in (0, 1):
        assert step_context(spans, step).messages == replay_request(spans, step).messages
    # an assembly that was never sent has no messages to show (its items still have their content)
    unsent = [s for s in spans if s.name != "chat offline/demo"]
    assert step_context(unsent, 1).messages is None and step_context(unsent, 1).items


def test_an_unsent_assembly_does_not_take_a_later_assemblys_messages():
    from contextos.tracing.records import SpanRecord
    from contextos.tracing.view import step_context

    def record(span_id, name, start, attributes):
        return SpanRecord(
            trace_id="a" * 32,
            span_id=span_id,
            parent_span_id="p" * 16,
            name=name,
            start_time=start,
            end_time=start + 1,
            attributes=attributes,
        )

    sent = [{"role": "user", "content": "second"}]
    spans = [  # two assemblies beside each other (no step spans around them), only the second one sent
        record("1" * 16, "contextos.assemble", 10, {"contextos.step": 0}),
        record("2" * 16, "contextos.assemble", 20, {"contextos.step": 1}),
        record(
            "3" * 16,
            "chat m",
            30,
            {"gen_ai.operation.name": "chat", "gen_ai.input.messages": json.dumps(sent)},
        ),
    ]
    assert step_context(spans, 0).messages is None
    assert step_context(spans, 1).messages == sent
