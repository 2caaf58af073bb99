"""The learning loop end to end on the offline backend: runs, feedback, reflection, curation, and the
playbook's bullets entering later runs; every delta in the trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contextos.agents import Agent
from contextos.llm import ModelClient
from contextos.playbook import Playbook, PlaybookLearner, PlaybookSource, ground_truth
from contextos.playbook.learn import LEARN_SPAN
from contextos.playbook.store import APPLY_SPAN, REJECTED_EVENT
from contextos.tracing import configure_tracing
from contextos.tracing.store import TraceStore

TASK = "Multiply 17 and 23"
OTHER = "Multiply 12 and 11"


def multiply(a: int, b: int) -> int:
    """Multiply two whole numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a * b


def playbook_items(result: Any) -> list[str]:
    """The playbook bullets that were in the model's context at some step of a run."""
    return sorted(
        {
            d.id
            for s in result.steps
            for d in s.context.decisions
            if d.source == "playbook" and d.status != "dropped" and d.id != "playbook-instruction"
        }
    )


class Loop:
    """An offline agent reading a playbook, and a learner writing it, traced into a temp store."""

    def __init__(self, folder: Path) -> None:
        self.playbook = Playbook(folder)
        client = ModelClient("offline/demo")
        self.agent = Agent(client, tools=[multiply], sources=[PlaybookSource(self.playbook)])
        self.learner = PlaybookLearner(self.playbook, client, token_budget=400)
        self.run_ids: list[str] = []

    def run(self, task: str, expected: str) -> tuple[Any, Any]:
        result = self.agent.run(task)
        self.run_ids.append(result.run_id)
        return result, self.learner.learn(result, task, feedback=ground_truth(expected))


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two loops, run once: one whose answers are right (391), one whose are judged wrong."""
    folder = tmp_path_factory.mktemp("loop")
    tracing = configure_tracing(trace_dir=folder / "traces")
    try:
        good, bad = Loop(folder / "good"), Loop(folder / "bad")
        good_runs = [good.run(TASK, "391"), good.run(TASK, "391"), good.run(OTHER, "132")]
        bad_runs = [bad.run(TASK, "999"), bad.run(TASK, "999"), bad.run(TASK, "999")]
    finally:
        tracing.shutdown()
    return {
        "good": good,
        "bad": bad,
        "good_runs": good_runs,
        "bad_runs": bad_runs,
        "store": TraceStore(folder / "traces"),
    }


def test_feedback_grows_a_playbook_whose_bullets_enter_later_runs(traced: dict[str, Any]) -> None:
    (first, learned), (second, relearned), (third, _) = traced["good_runs"]
    playbook: Playbook = traced["good"].playbook
    assert (
        playbook_items(first) == [] and learned.feedback.success is True and learned.versions == [1]
    )
    (lesson,) = playbook.at(1).bullets
    assert (
        lesson.section == "strategies"
        and TASK in lesson.content
        and lesson.provenance.run_ids == [first.run_id]
    )
    # the next run on the task reads the lesson, and its answer cites it: the step records the id
    assert playbook_items(second) == ["playbook-pb-0001"]
    assert second.steps[-1].cited == ["pb-0001"] and "[pb-0001]" in (second.answer or "")
    assert relearned.reflection is not None and relearned.reflection.bullet_tags == {
        "pb-0001": "helpful"
    }
    # the same lesson is not added twice
    assert any("already says this" in r for r in relearned.rejected)
    # another task adds its own lesson: the playbook grows
    assert [b.id for b in playbook.bullets] == ["pb-0001", "pb-0002"]
    assert OTHER in playbook.get("pb-0002").content
    # runs 2 and 3 used it
    assert "playbook-pb-0001" in playbook_items(third) and playbook.get("pb-0001").helpful == 2


def test_a_harmful_bullet_counts_up_and_drops_out_of_selection(traced: dict[str, Any]) -> None:
    (_, learned), (second, relearned), (third, _) = traced["bad_runs"]
    playbook: Playbook = traced["bad"].playbook
    assert learned.feedback.success is False and playbook.at(1).bullets[0].section == "pitfalls"
    assert playbook_items(second) == ["playbook-pb-0001"]
    assert relearned.reflection is not None and relearned.reflection.bullet_tags == {
        "pb-0001": "harmful"
    }
    assert playbook.get("pb-0001").harmful == 1 and playbook.get("pb-0001").is_harmful
    assert playbook_items(third) == []  # out of selection: the third run never saw it
    assert [b.id for b in playbook.bullets] == ["pb-0001"]  # kept, not silently dropped


def test_every_delta_and_rejection_is_in_the_trace(traced: dict[str, Any]) -> None:
    store: TraceStore = traced["store"]
    spans = [s for rid in store.run_ids() for s in store.spans(rid)]
    for loop in (traced["good"], traced["bad"]):
        playbook: Playbook = loop.playbook
        mine = [
            s
            for s in spans
            if s.name == APPLY_SPAN
            and s.attributes.get("contextos.playbook.outcome") == "applied"
            and s.trace_id
            in {
                x.trace_id
                for x in spans
                if x.name == LEARN_SPAN
                and x.attributes.get("contextos.playbook.run_id") in loop.run_ids
            }
        ]
        assert sorted(s.attributes["contextos.playbook.version_to"] for s in mine) == [
            v.version for v in playbook.history()
        ]
    learns = [s for s in spans if s.name == LEARN_SPAN]
    assert len(learns) == 6
    assert any(
        e.name == REJECTED_EVENT and "already says this" in e.attributes["contextos.playbook.error"]
        for s in learns
        for e in s.events
    )
    # the reflector's and curator's model calls sit inside their learn span
    chats = [
        s
        for s in spans
        if s.attributes.get("gen_ai.operation.name") == "chat" and s.trace_id == learns[0].trace_id
    ]
    assert len(chats) == 2


def test_offline_mode_learns_from_stored_runs_over_epochs(
    traced: dict[str, Any], tmp_path: Path
) -> None:
    good: Loop = traced["good"]
    playbook = Playbook(tmp_path / "offline")
    learner = PlaybookLearner(playbook, ModelClient("offline/demo"))
    outcomes = learner.learn_offline(good.run_ids, store=traced["store"], epochs=2)
    assert [o.epoch for o in outcomes] == [1, 1, 1, 2, 2, 2]
    # execution signals: each run ended in a final answer
    assert all(o.feedback.success for o in outcomes)
    assert {b.content for b in playbook.bullets} == {b.content for b in good.playbook.bullets}
    # each epoch, the two runs that had pb-0001 in their context tag it helpful
    assert playbook.get("pb-0001").helpful == 4
