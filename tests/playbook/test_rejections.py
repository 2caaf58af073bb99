"""Bad model output never changes the playbook: it is rejected and the rejection is in the trace; and the
lazy refinement near the token budget (merging near-duplicates, then pruning)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contextos.embed import default_embedder
from contextos.playbook import (
    Feedback,
    Playbook,
    PlaybookLearner,
    RunDigest,
    execution_signals,
    scored,
)
from contextos.playbook._dedup import duplicate_merges, prune_to_budget
from contextos.playbook.learn import LEARN_SPAN
from contextos.playbook.store import REJECTED_EVENT
from contextos.testing import ScriptedModel
from contextos.tracing import configure_tracing
from contextos.tracing.store import TraceStore

RUN = RunDigest(
    run_id="r" * 32,
    task="Compare 40 EUR with 45 USD",
    answer="45 USD is cheaper",
    used=["pb-0001"],
    steps=1,
)
REFLECTION = {
    "reasoning": "r",
    "error_identification": "e",
    "root_cause": "c",
    "correct_approach": "a",
    "key_insight": "Convert currencies first.",
    "bullet_tags": {"pb-0001": "harmful"},
}


def curation(*ops: dict) -> str:
    full = [
        {
            "op": "add",
            "section": "pitfalls",
            "content": "",
            "id": None,
            "ids": None,
            "reason": None,
            **op,
        }
        for op in ops
    ]
    return json.dumps({"reasoning": "r", "operations": full})


@pytest.fixture
def playbook(tmp_path: Path) -> Playbook:
    playbook = Playbook(tmp_path / "pb")
    playbook.apply(
        [
            {
                "op": "add",
                "section": "strategies",
                "content": "Compare prices in the currency of the question.",
            }
        ]
    )
    return playbook


@pytest.mark.parametrize(
    ("curator_reply", "why"),
    [
        ("this is not JSON", "not a JSON object"),
        (curation({"op": "rewrite", "content": "Everything."}), "unknown op 'rewrite'"),
        (
            curation({"op": "update", "id": "pb-0042", "content": "Fixed."}),
            "unknown bullet id 'pb-0042'",
        ),
        (curation({"op": "add", "content": "word " * 400}), "over the limit"),
        (
            curation({"op": "add", "content": "Good lesson."}, {"op": "delete", "id": "pb-0007"}),
            "unknown bullet id 'pb-0007'",
        ),
    ],
)
async def test_a_malformed_curation_is_rejected_recorded_and_changes_nothing(
    playbook: Playbook, tmp_path: Path, curator_reply: str, why: str
) -> None:
    model = ScriptedModel([json.dumps(REFLECTION), curator_reply])
    tracing = configure_tracing(trace_dir=tmp_path / "traces")
    try:
        outcome = await PlaybookLearner(playbook, model).alearn_digest(
            RUN, feedback=Feedback(success=False)
        )
    finally:
        tracing.shutdown()
    assert outcome.versions == [2]  # the tags applied; the curation did not
    assert len(outcome.rejected) == 1 and why in outcome.rejected[0]
    assert [b.id for b in playbook.bullets] == ["pb-0001"] and playbook.get("pb-0001").harmful == 1
    assert model.requests[1].params["response_format"]["type"] == "json_schema"
    store = TraceStore(tmp_path / "traces")
    (learn,) = [s for rid in store.run_ids() for s in store.spans(rid) if s.name == LEARN_SPAN]
    assert [
        e.attributes["contextos.playbook.stage"] for e in learn.events if e.name == REJECTED_EVENT
    ] == ["curation"]


@pytest.mark.parametrize(
    "reflector_reply",
    [
        "{not json",
        json.dumps({**REFLECTION, "bullet_tags": {"pb-0099": "helpful"}}),
        json.dumps({**REFLECTION, "key_insight": ""}),
    ],
)
async def test_a_malformed_reflection_changes_nothing(
    playbook: Playbook, reflector_reply: str
) -> None:
    model = ScriptedModel([reflector_reply])
    outcome = await PlaybookLearner(playbook, model).alearn_digest(
        RUN, feedback=Feedback(success=True)
    )
    assert (
        outcome.reflection is None
        and outcome.versions == []
        and outcome.rejected[0].startswith("reflection rejected")
    )
    # no curation of a rejected reflection
    assert playbook.version == 1 and len(model.requests) == 1


def test_near_duplicates_are_merged_by_embedding_similarity() -> None:
    from contextos.playbook import Bullet

    bullets = [
        Bullet(
            id="pb-0001",
            section="pitfalls",
            content="Always convert currencies before comparing prices.",
            harmful=1,
        ),
        Bullet(id="pb-0002", section="code", content="Read CSV files with the csv module."),
        Bullet(
            id="pb-0003",
            section="pitfalls",
            content="Always convert the currencies before you compare prices.",
            helpful=2,
        ),
    ]
    (merge,) = duplicate_merges(bullets, default_embedder(), 0.9)
    # the better bullet survives
    assert merge.ids == ["pb-0003", "pb-0001"] and merge.content == bullets[2].content
    deletes = prune_to_budget(bullets, lambda b: 10, 20)
    assert [d.id for d in deletes] == ["pb-0001"]  # the least useful goes first


async def test_near_the_budget_the_learner_merges_then_prunes(tmp_path: Path) -> None:
    playbook = Playbook(tmp_path / "pb")
    playbook.apply(
        [
            {
                "op": "add",
                "section": "pitfalls",
                "content": "Always convert currencies before comparing prices.",
            },
            {
                "op": "add",
                "section": "pitfalls",
                "content": "Always convert the currencies before you compare prices.",
            },
            {
                "op": "add",
                "section": "code",
                "content": "Read CSV files with the csv module, never by splitting lines on commas.",
            },
            {"op": "tag", "id": "pb-0003", "helpful": 1},
        ]
    )
    no_tags = {**REFLECTION, "bullet_tags": {}}
    model = ScriptedModel(
        [json.dumps(no_tags), json.dumps({"reasoning": "nothing new", "operations": []})] * 2
    )
    roomy = PlaybookLearner(playbook, model, token_budget=playbook.tokens() + 2, dedup_at=0.9)
    outcome = await roomy.alearn_digest(
        RUN.model_copy(update={"used": []}), feedback=Feedback(success=True)
    )
    assert outcome.versions == [2] and [b.id for b in playbook.bullets] == ["pb-0001", "pb-0003"]
    assert playbook.history()[-1].ops[0]["op"] == "merge"
    tight = PlaybookLearner(playbook, model, token_budget=playbook.tokens() - 1)
    outcome = await tight.alearn_digest(
        RUN.model_copy(update={"used": []}), feedback=Feedback(success=True)
    )
    # pruned: the least useful bullet, explicitly deleted
    assert [b.id for b in playbook.bullets] == ["pb-0003"]
    assert playbook.history()[-1].ops[0] == {
        "op": "delete",
        "id": "pb-0001",
        "reason": f"over the playbook's budget of {tight.token_budget} tokens",
    }


def test_feedback_from_execution_signals_and_a_scoring_function() -> None:
    failing = RUN.model_copy(
        update={
            "actions": ["search(q) -> ok", "run_tests() -> Error: 2 failed"],
            "tool_errors": ["run_tests() -> Error: 2 failed"],
            "stop_reason": "final_answer",
        }
    )
    signals = execution_signals(failing)
    assert signals.success is False and any("final check" in n for n in signals.notes)
    recovered = failing.model_copy(update={"actions": [*failing.actions, "run_tests() -> ok"]})
    assert execution_signals(recovered).success is True and execution_signals(recovered).notes
    assert execution_signals(RUN.model_copy(update={"stop_reason": "max_steps"})).success is False
    judged = scored(lambda run: 0.8 if "USD" in (run.answer or "") else 0.0)(RUN)
    assert judged.success is True and judged.score == 0.8
