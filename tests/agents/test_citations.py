"""The agent records which citable context items (playbook bullets) its answer cites, on the step and its span."""

from __future__ import annotations

from pathlib import Path

from contextos import ContextItem, StaticSource
from contextos.agents import Agent
from contextos.context.items import CITE_ID
from contextos.testing import ScriptedModel
from contextos.tracing import configure_tracing
from contextos.tracing._attributes import STEP_CITED, STEP_SPAN
from contextos.tracing.store import TraceStore


def lessons() -> StaticSource:
    return StaticSource(
        "playbook",
        [
            ContextItem(
                id=f"playbook-{i}",
                source="playbook",
                content=f"[{i}] lesson {i}",
                metadata={CITE_ID: i},
            )
            for i in ("pb-0001", "pb-0002", "pb-0010")
        ],
    )


def test_cited_ids_are_recorded_on_the_step_and_its_span(tmp_path: Path) -> None:
    model = ScriptedModel(["Cheaper in dollars, as [pb-0002] and pb-0010 say (not pb-00011)."])
    tracing = configure_tracing(trace_dir=tmp_path)
    try:
        result = Agent(model, sources=[lessons()]).run("Which is cheaper?")  # type: ignore[arg-type]
    finally:
        tracing.shutdown()
    assert result.steps[0].cited == ["pb-0002", "pb-0010"]
    (step,) = [s for s in TraceStore(tmp_path).spans(result.run_id) if s.name == STEP_SPAN]
    assert step.attributes[STEP_CITED] == ["pb-0002", "pb-0010"]


def test_an_answer_citing_nothing_records_nothing() -> None:
    result = Agent(ScriptedModel(["No lesson applies."]), sources=[lessons()]).run("Hi")  # type: ignore[arg-type]
    assert result.steps[0].cited == []
