"""Compression where the orchestrator and the agent use it: only where it pays, recorded, traced."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from contextos import (
    Budget,
    ContextItem,
    InputSource,
    Orchestrator,
    StaticSource,
    Step,
    TiktokenCounter,
)
from contextos.agents import Agent, Conversation
from contextos.compress import default_compressor
from contextos.compress.base import COMPRESSION
from contextos.compress.default import agent_compressors
from contextos.testing import Reply, ScriptedModel

COUNTER = TiktokenCounter(encoding="o200k_base")
FILLER = "The committee met on a Tuesday and discussed the budget at length. "
DOCS = [
    ContextItem(
        id=f"doc{n}",
        source="documents",
        score=0.5,
        content=FILLER * 6
        + (f"The bridge over the river was opened in {1900 + n}. " if n == 3 else "")
        + FILLER * 4,
    )
    for n in range(6)
]


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    """Every finished span, from the SDK provider (set here unless a test before set one)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())
    spans = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(spans))
    return spans


def test_the_orchestrator_compresses_what_does_not_fit_and_traces_it(exporter):
    exporter.clear()
    orchestrator = Orchestrator(
        [StaticSource("documents", DOCS), InputSource()],
        Budget(context_window=150),
        counter=COUNTER,
        compressors=[default_compressor(COUNTER)],
    )
    result = orchestrator.build_sync(Step(input="When was the bridge over the river opened?"))
    assert "opened in 1903" in result.messages[0]["content"]
    decision = result.decision("doc3")
    assert decision.status.value == "compressed" and decision.tokens_after < decision.tokens_before
    kept = next(i for i in result.items if i.id == "doc3")
    assert "removed" in kept.metadata[COMPRESSION]
    assert result.usage.request_tokens <= 150
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "contextos.compress"]
    attrs = span.attributes
    assert (
        attrs["contextos.compressor.name"] == "extractive"
        and attrs["contextos.compressor.source"] == "documents"
    )
    assert (
        attrs["contextos.compressor.tokens_out"]
        <= attrs["contextos.compressor.target_tokens"]
        < attrs["contextos.compressor.tokens_in"]
    )
    assert 0 < attrs["contextos.compressor.ratio"] < 1 and span.end_time > span.start_time


def test_nothing_is_compressed_when_everything_fits(exporter):
    exporter.clear()
    orchestrator = Orchestrator(
        [StaticSource("documents", DOCS[:1])],
        Budget(context_window=4000),
        counter=COUNTER,
        compressors=[default_compressor(COUNTER)],
    )
    result = orchestrator.build_sync(Step(input="bridge"))
    assert result.decision("doc0").status.value == "included"
    assert not [s for s in exporter.get_finished_spans() if s.name == "contextos.compress"]


def test_the_agent_compresses_documents_by_default_and_can_be_told_not_to():
    model = ScriptedModel(responder=lambda request: Reply.text("1903."))
    agent = Agent(
        model,
        sources=[StaticSource("documents", DOCS)],
        budget=Budget(context_window=260, reserve_output=60),
        counter=COUNTER,
    )
    step = agent.run("When was the bridge over the river opened?").steps[0]
    assert step.context.decision("doc3").status.value == "compressed"
    assert "opened in 1903" in str(model.requests[0].messages)
    plain = Agent(
        ScriptedModel(responder=lambda request: Reply.text("?")),
        sources=[StaticSource("documents", DOCS)],
        budget=Budget(context_window=260, reserve_output=60),
        counter=COUNTER,
        compressors=[],
    )
    statuses = {
        d.status.value
        for d in plain.run("When was the bridge over the river opened?").steps[0].context.decisions
    }
    assert "compressed" not in statuses


def order_turns():
    """Three tool calls and their long results, as ``conversation`` items (tool results compressible)."""
    turns = []
    for n in (101, 102, 103):
        call = {
            "id": f"c{n}",
            "type": "function",
            "function": {"name": "lookup_order", "arguments": f'{{"number": {n}}}'},
        }
        turns.append(
            ContextItem(
                id=f"call{n}",
                source="conversation",
                role="assistant",
                payload={"tool_calls": [call]},
            )
        )
        body = (
            f"Order ORD-{n} shipped; total {n}.50 EUR.\n"
            + "Carrier scan recorded at the depot. " * 60
        )
        turns.append(
            ContextItem(
                id=f"result{n}",
                source="conversation",
                role="tool",
                content=body,
                payload={"tool_call_id": f"c{n}", "name": "lookup_order"},
            )
        )
    return turns


def test_old_tool_results_are_digested_and_the_newest_kept_whole(exporter):
    conversation = Conversation()
    conversation.add_nowait(
        ContextItem(
            id="task", source="conversation", content="Where are orders 101 to 103?", pinned=True
        ),
        *order_turns(),
    )
    orchestrator = Orchestrator(
        [conversation],
        Budget(context_window=1000),
        counter=COUNTER,
        compressors=agent_compressors([], counter=COUNTER),
    )
    result = orchestrator.build_sync(Step(input="Where are orders 101 to 103?"))
    tools = [m for m in result.messages if m["role"] == "tool"]
    # each still answers its call
    assert len(tools) == 3 and [m["tool_call_id"] for m in tools] == [
        "c101",
        "c102",
        "c103",
    ]
    assert (
        "digested" in tools[0]["content"]
        and "ORD-101" in tools[0]["content"]
        and "101.50" in tools[0]["content"]
    )
    assert (
        "digested" not in tools[-1]["content"] and tools[-1]["content"].count("Carrier scan") == 60
    )
    assert result.usage.request_tokens <= 1000
