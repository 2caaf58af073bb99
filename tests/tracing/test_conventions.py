"""Spans of a real traced agent run follow the GenAI conventions, with contextos.* for the context assembly."""

from __future__ import annotations

import dataclasses
import json

import pytest

from contextos.tracing.store import TraceStore


def _by_name(store: TraceStore, run_id: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for s in store.spans(run_id):
        out.setdefault(s.name, []).append(s)
    return out


def test_agent_chat_and_tool_spans_carry_genai_attributes(traced_run):
    store, run_id = traced_run
    spans = store.spans(run_id)
    assert {s.trace_id for s in spans} == {run_id}
    names = _by_name(store, run_id)
    (agent,) = names["invoke_agent weather"]
    assert agent.parent_span_id is None
    assert agent.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert agent.attributes["gen_ai.agent.name"] == "weather"
    assert agent.attributes["gen_ai.request.model"] == "offline/demo"
    assert agent.attributes["contextos.agent.stop_reason"] == "final_answer"

    chats = names["chat offline/demo"]
    assert len(chats) == 2
    for index, chat in enumerate(chats):
        a = chat.attributes
        assert chat.kind == "CLIENT"
        assert a["gen_ai.operation.name"] == "chat"
        assert a["gen_ai.request.model"] == "offline/demo"
        assert a["gen_ai.provider.name"] == "contextos.offline"
        assert a["contextos.step"] == index
        assert (
            isinstance(a["gen_ai.usage.input_tokens"], int) and a["gen_ai.usage.input_tokens"] > 0
        )
        assert (
            isinstance(a["gen_ai.usage.output_tokens"], int) and a["gen_ai.usage.output_tokens"] > 0
        )
    # the second request carries the tool call and its result, so it is longer
    assert (
        chats[1].attributes["gen_ai.usage.input_tokens"]
        > chats[0].attributes["gen_ai.usage.input_tokens"]
    )

    (tool,) = names["execute_tool lookup_weather"]
    assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool.attributes["gen_ai.tool.name"] == "lookup_weather"
    assert tool.attributes["gen_ai.tool.call.id"]
    assert json.loads(tool.attributes["gen_ai.tool.call.arguments"]) == {"city": "Oslo"}

    by_id = {s.span_id: s for s in spans}
    for s in (*chats, tool, *names["contextos.assemble"]):
        assert by_id[s.parent_span_id].name == "contextos.step"
    assert all(s.parent_span_id == agent.span_id for s in names["contextos.step"])
    # children lie within their parents in time
    for s in spans:
        if s.parent_span_id:
            parent = by_id[s.parent_span_id]
            assert parent.start_time <= s.start_time <= s.end_time <= parent.end_time


def test_assembly_span_has_per_source_usage_and_every_decision(traced_run):
    store, run_id = traced_run
    assemblies = sorted(_by_name(store, run_id)["contextos.assemble"], key=lambda s: s.start_time)
    assert [s.attributes["contextos.step"] for s in assemblies] == [0, 1]
    for s in assemblies:
        a = s.attributes
        per_source = json.loads(a["contextos.context.per_source"])
        assert (
            set(per_source)
            == {"instructions", "tools", "conversation"}
            == set(a["contextos.context.sources"])
        )
        for usage in per_source.values():
            assert set(usage) >= {"offered", "offered_tokens", "kept", "kept_tokens"}
            assert usage["kept_tokens"] <= usage["offered_tokens"]
        decisions = json.loads(a["contextos.context.decisions"])
        assert {d["source"] for d in decisions} == set(per_source)
        assert sum(1 for d in decisions if d["status"] != "dropped") == sum(
            u["kept"] for u in per_source.values()
        )
        assert all(
            {"id", "status", "tokens_before", "tokens_after", "reason"} <= set(d) for d in decisions
        )
        assert 0 < a["contextos.context.request_tokens"] <= a["contextos.context.budget"]
    # step 1 holds the tool call and its result on top of what step 0 had
    first, second = (json.loads(s.attributes["contextos.context.per_source"]) for s in assemblies)
    assert second["conversation"]["kept"] == first["conversation"]["kept"] + 2


@pytest.mark.parametrize("capture", [True, False])
def test_assembly_attributes_read_as_the_assembled_context_step_after_step(tmp_path, capture):
    # per-source usage, decisions and items as the assembled context holds them at each step (a row
    # that comes back reads as it is, a changed one as it changed), a secret in a decision redacted
    from contextos.context import (
        AssembledContext,
        ContextDecision,
        ContextItem,
        ContextUsage,
        SourceUsage,
    )
    from contextos.tracing import assembly_span, configure_tracing, record_assembly, run_span

    decisions = [
        ContextDecision(
            id=f"doc-{i}",
            source="documents",
            status="included",
            tokens_before=10 + i,
            tokens_after=10 + i,
            score=0.5,
            reason="utility per token",
        )
        for i in range(3)
    ]
    changed = dataclasses.replace(
        decisions[2], status="dropped", tokens_after=0, reason="over budget sk-abcdefghijklmnop"
    )
    items = [ContextItem(id=f"doc-{i}", source="documents", content=f"text {i}") for i in range(3)]
    steps = [(decisions, items, 33), ([*decisions[:2], changed], items[:2], 21)]
    tracing = configure_tracing(trace_dir=tmp_path, capture_content=capture)
    try:
        with run_span("test") as root:
            for step_decisions, step_items, kept_tokens in steps:
                usage = ContextUsage(
                    budget=100,
                    request_tokens=kept_tokens + 5,
                    per_source={
                        "documents": SourceUsage(
                            offered=3,
                            offered_tokens=33,
                            kept=len(step_items),
                            kept_tokens=kept_tokens,
                        )
                    },
                )
                with assembly_span() as s:
                    record_assembly(
                        s,
                        AssembledContext(
                            messages=[],
                            tools=[],
                            decisions=step_decisions,
                            usage=usage,
                            items=step_items,
                        ),
                    )
        run_id = f"{root.get_span_context().trace_id:032x}"
    finally:
        tracing.shutdown()
    recorded = sorted(
        _by_name(TraceStore(tmp_path), run_id)["contextos.assemble"], key=lambda s: s.start_time
    )
    assert len(recorded) == 2
    for span, (step_decisions, step_items, kept_tokens) in zip(recorded, steps):
        a = span.attributes
        assert json.loads(a["contextos.context.per_source"]) == {
            "documents": {
                "offered": 3,
                "offered_tokens": 33,
                "kept": len(step_items),
                "kept_tokens": kept_tokens,
                "unexamined": 0,
            }
        }
        expected = [dataclasses.asdict(d) for d in step_decisions]
        for d in expected:
            d["reason"] = d["reason"].replace("sk-abcdefghijklmnop", "[REDACTED]")
        assert json.loads(a["contextos.context.decisions"]) == expected
        if capture:
            tokens = {d.id: d.tokens_after for d in step_decisions}
            assert json.loads(a["contextos.context.items"]) == [
                {
                    "id": i.id,
                    "source": i.source,
                    "role": i.role,
                    "tokens": tokens[i.id],
                    "content": i.content,
                }
                for i in step_items
            ]
        else:
            assert "contextos.context.items" not in a
    assert "sk-abcdefghijklmnop" not in (tmp_path / f"{run_id}.jsonl").read_text()


def test_summary_counts_steps_tokens_and_model(traced_run):
    store, run_id = traced_run
    summary = store.summary(run_id)
    chats = _by_name(store, run_id)["chat offline/demo"]
    assert summary.steps == 2
    assert summary.models == ["offline/demo"]
    assert summary.status == "ok"
    assert summary.input_tokens == sum(c.attributes["gen_ai.usage.input_tokens"] for c in chats)
    assert summary.output_tokens == sum(c.attributes["gen_ai.usage.output_tokens"] for c in chats)
    assert summary.name == "invoke_agent weather"


def test_a_span_left_by_an_error_records_it_and_restores_the_current_span(tmp_path):
    import asyncio

    import pytest
    from opentelemetry import trace

    from contextos.tracing import configure_tracing, run_span, tool_span

    tracing = configure_tracing(trace_dir=tmp_path)
    try:
        with pytest.raises(ValueError), run_span("failing run"):
            with tool_span("lookup", call_id="c1") as tool:
                assert trace.get_current_span() is tool
                raise ValueError("no such city")
        assert not trace.get_current_span().get_span_context().is_valid  # nothing left current
        with pytest.raises(asyncio.CancelledError), run_span("cancelled run"):
            raise asyncio.CancelledError()
    finally:
        tracing.shutdown()
    store = TraceStore(tmp_path)
    runs = {r.name: r for r in store.runs()}
    assert runs["failing run"].status == "error"
    spans = {s.name: s for s in store.spans(runs["failing run"].run_id)}
    tool = spans["execute_tool lookup"]
    assert tool.parent_span_id == spans["failing run"].span_id
    assert tool.status == "ERROR" and tool.status_description == "ValueError: no such city"
    assert tool.attributes["error.type"] == "ValueError"
    assert [e.name for e in tool.events] == ["exception"]
    assert tool.events[0].attributes["exception.type"] == "ValueError"
    # a cancellation is not an error (as OpenTelemetry's use_span has it), but its type is kept
    (cancelled,) = store.spans(runs["cancelled run"].run_id)
    assert cancelled.status == "UNSET" and not cancelled.events
    assert cancelled.attributes["error.type"] == "CancelledError"
