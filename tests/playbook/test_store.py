"""``Playbook`` in a real LanceDB folder: versions, revert, diff, export / import, and the trace of every delta."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contextos import InvalidDeltaError, PlaybookError
from contextos.playbook import Playbook
from contextos.playbook.store import APPLY_SPAN, REJECTED_EVENT
from contextos.tracing import configure_tracing
from contextos.tracing.store import TraceStore

ADD_TWO = [
    {
        "op": "add",
        "section": "pitfalls",
        "content": "Convert both amounts to the same currency before comparing them.",
    },
    {
        "op": "add",
        "section": "strategies",
        "content": "Call the calculator tool for any arithmetic on more than two digits.",
    },
]


def test_versions_are_recorded_and_any_earlier_one_restored(tmp_path: Path) -> None:
    playbook = Playbook(tmp_path / "pb")
    assert playbook.version == 0 and playbook.bullets == []
    playbook.apply(ADD_TWO)
    playbook.apply(
        [{"op": "tag", "id": "pb-0001", "harmful": 2}, {"op": "delete", "id": "pb-0002"}]
    )
    assert [b.id for b in playbook.bullets] == ["pb-0001"] and playbook.get("pb-0001").harmful == 2
    assert [v.kind for v in playbook.history()] == ["apply", "apply"]
    assert playbook.history()[1].ops == [
        {"op": "tag", "id": "pb-0001", "harmful": 2},
        {"op": "delete", "id": "pb-0002"},
    ]

    restored = playbook.revert(1)
    assert restored.version == 3 and [(b.id, b.harmful) for b in restored.bullets] == [
        ("pb-0001", 0),
        ("pb-0002", 0),
    ]
    assert playbook.history()[-1].ops == [{"op": "revert", "to": 1}]
    diff = playbook.diff(2, 3)
    assert [b.id for b in diff.added] == ["pb-0002"] and diff.removed == []
    assert [(a.harmful, b.harmful) for a, b in diff.changed] == [(2, 0)]
    playbook.apply(
        [
            {
                "op": "add",
                "section": "formulas",
                "content": "Interest is principal times rate times years.",
            }
        ]
    )
    # an id is never handed out twice, even across a revert
    assert playbook.get("pb-0003") is not None

    reopened = Playbook(tmp_path / "pb", create=False)
    assert reopened.version == 4 and reopened.to_json() == playbook.to_json()
    assert reopened.at(2).ids == ["pb-0001"]
    with pytest.raises(PlaybookError, match="no version 9"):
        reopened.revert(9)


def test_search_leaves_out_harmful_bullets(tmp_path: Path) -> None:
    playbook = Playbook(tmp_path / "pb")
    playbook.apply(ADD_TWO)
    assert playbook.search("compare prices in euros and dollars", 1)[0].id == "pb-0001"
    playbook.apply([{"op": "tag", "id": "pb-0001", "harmful": 1}])
    assert "pb-0001" not in [
        h.id for h in playbook.search("compare prices in euros and dollars", 5)
    ]
    assert "pb-0001" in [
        h.id
        for h in playbook.search("compare prices in euros and dollars", 5, include_harmful=True)
    ]


def test_the_bullets_table_is_repaired_from_the_latest_version(tmp_path: Path) -> None:
    playbook = Playbook(tmp_path / "pb")
    playbook.apply(ADD_TWO)
    # as if the process died between the two tables' commits
    playbook.bullets_table.delete(["pb-0002"])
    reopened = Playbook(tmp_path / "pb")
    assert reopened.bullets_table.count() == 2
    assert {h.id for h in reopened.search("calculator arithmetic", 5)} == {"pb-0001", "pb-0002"}


@pytest.mark.parametrize("fmt", ["json", "md"])
def test_export_and_import_round_trip(tmp_path: Path, fmt: str) -> None:
    source = Playbook(tmp_path / "a")
    source.apply(
        [
            *ADD_TWO,
            {
                "op": "add",
                "section": "code",
                "content": "Parse dates with:\n  datetime.fromisoformat(s)",
            },
        ]
    )
    source.apply([{"op": "tag", "id": "pb-0002", "helpful": 3}])
    text = json.dumps(source.to_json()) if fmt == "json" else source.to_markdown()
    target = Playbook(tmp_path / "b")
    target.import_bullets(Playbook.parse_export(text))
    keep = ("id", "section", "content", "helpful", "harmful")
    assert [b.model_dump(include=set(keep)) for b in target.bullets] == [
        b.model_dump(include=set(keep)) for b in source.bullets
    ]
    target.apply(
        [{"op": "add", "section": "pitfalls", "content": "A new lesson after the import."}]
    )
    assert target.bullets[-1].id == "pb-0004"


def test_a_bad_markdown_import_names_the_line() -> None:
    with pytest.raises(PlaybookError, match="line 3"):
        Playbook.parse_export("# Playbook\n## pitfalls\njust prose\n", where="pb.md")


def test_every_delta_is_in_the_trace_and_a_rejected_one_changes_nothing(tmp_path: Path) -> None:
    tracing = configure_tracing(trace_dir=tmp_path / "traces")
    try:
        playbook = Playbook(tmp_path / "pb")
        playbook.apply(ADD_TWO)
        with pytest.raises(InvalidDeltaError, match="unknown bullet id 'pb-0042'"):
            playbook.apply(
                [{"op": "tag", "id": "pb-0001", "helpful": 1}, {"op": "delete", "id": "pb-0042"}]
            )
        playbook.revert(0)
    finally:
        tracing.shutdown()
    assert (
        Playbook(tmp_path / "pb").version == 2
        and Playbook(tmp_path / "pb").at(1).get("pb-0001").helpful == 0
    )
    store = TraceStore(tmp_path / "traces")
    spans = [s for rid in store.run_ids() for s in store.spans(rid) if s.name == APPLY_SPAN]
    assert sorted(s.attributes["contextos.playbook.outcome"] for s in spans) == [
        "applied",
        "applied",
        "rejected",
    ]
    rejected = next(s for s in spans if s.attributes["contextos.playbook.outcome"] == "rejected")
    assert rejected.events[0].name == REJECTED_EVENT and rejected.status == "ERROR"
    assert json.loads(rejected.attributes["contextos.playbook.delta"])[1] == {
        "op": "delete",
        "id": "pb-0042",
    }
    applied = next(s for s in spans if s.attributes.get("contextos.playbook.version_to") == 1)
    assert "Convert both amounts" in applied.attributes["contextos.playbook.delta"]


def test_an_absent_playbook_is_not_created_by_reading(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="apply a delta"):
        Playbook(tmp_path / "nothing", create=False)
