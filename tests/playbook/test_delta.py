"""Delta operations: validated as a whole, applied by deterministic code, never dropping bullets silently."""

from __future__ import annotations

import pytest

from contextos import InvalidDeltaError
from contextos.playbook import PlaybookState, Provenance
from contextos.playbook.delta import apply_delta, parse_delta


def state_with(*contents: str) -> PlaybookState:
    ops = parse_delta([{"op": "add", "section": "strategies", "content": c} for c in contents])
    return apply_delta(PlaybookState(), ops, now=1.0)


def test_every_operation_applies_in_order_as_one_new_version() -> None:
    base = state_with("Check units.", "Use the calculator.", "Round at the end.")
    ops = parse_delta(
        [
            {"op": "tag", "id": "pb-0001", "helpful": 2},
            {"op": "tag", "id": "pb-0002", "harmful": 1, "helpful": 3},
            {
                "op": "merge",
                "ids": ["pb-0002", "pb-0001"],
                "content": "Check units, then use the calculator.",
            },
            {
                "op": "update",
                "id": "pb-0003",
                "content": "Round only the final result.",
                "section": "formulas",
            },
            {"op": "add", "section": "pitfalls", "content": "Never divide by a rounded value."},
            {"op": "delete", "id": "pb-0003"},
        ]
    )
    new = apply_delta(base, ops, now=2.0, provenance=Provenance(run_ids=["r1"], step_ids=["r1:0"]))
    assert base.version == 1 and len(base.bullets) == 3  # the input is untouched
    assert new.version == 2 and new.ids == ["pb-0002", "pb-0004"]
    merged = new.get("pb-0002")
    # the sum of the merged counters
    assert merged is not None and (merged.helpful, merged.harmful) == (
        5,
        1,
    )
    assert (
        merged.content == "Check units, then use the calculator."
        and merged.provenance.run_ids == ["r1"]
    )
    assert new.next_id == 5


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"op": "rewrite", "content": "x"}, "unknown op 'rewrite'"),
        ({"op": "add", "content": "no section"}, "section"),
        ({"op": "tag", "id": "pb-0001"}, "helpful"),
        ({"op": "merge", "ids": ["pb-0001"], "content": "x"}, "ids"),
        (["not", "an", "object"], "not an object"),
    ],
)
def test_malformed_operations_are_named(row: object, message: str) -> None:
    with pytest.raises(InvalidDeltaError, match=message) as err:
        parse_delta(
            [{"op": "add", "section": "s", "content": "fine"}, row],
            labels=["d.jsonl:1", "d.jsonl:4"],
        )
    assert "d.jsonl:4" in str(err.value)


@pytest.mark.parametrize(
    "row",
    [
        {"op": "update", "id": "pb-0099", "content": "x"},
        {"op": "delete", "id": "pb-0099"},
        {"op": "tag", "id": "pb-0099", "harmful": 1},
        {"op": "merge", "ids": ["pb-0001", "pb-0099"], "content": "x"},
        {"op": "add", "section": "s", "content": "word " * 300},
        {"op": "add", "section": "s", "content": "  check   UNITS. "},
    ],
)
def test_one_invalid_operation_rejects_the_whole_delta(row: dict) -> None:
    base = state_with("Check units.")
    ops = parse_delta([{"op": "add", "section": "pitfalls", "content": "A valid lesson."}, row])
    with pytest.raises(InvalidDeltaError, match="operation 2"):
        apply_delta(base, ops, now=2.0, count_tokens=lambda t: len(t.split()))
    assert base.ids == ["pb-0001"]


def test_a_deleted_bullet_cannot_be_used_later_in_the_delta_and_ids_are_never_reused() -> None:
    base = state_with("Check units.", "Use the calculator.")
    with pytest.raises(InvalidDeltaError, match="unknown bullet id 'pb-0001'"):
        apply_delta(
            base,
            parse_delta(
                [{"op": "delete", "id": "pb-0001"}, {"op": "tag", "id": "pb-0001", "helpful": 1}]
            ),
            now=2.0,
        )
    after = apply_delta(base, parse_delta([{"op": "delete", "id": "pb-0002"}]), now=2.0)
    again = apply_delta(
        after, parse_delta([{"op": "add", "section": "s", "content": "New."}]), now=3.0
    )
    assert again.ids == ["pb-0001", "pb-0003"]


def test_an_empty_delta_is_rejected() -> None:
    with pytest.raises(InvalidDeltaError, match="no operations"):
        apply_delta(PlaybookState(), [], now=1.0)
