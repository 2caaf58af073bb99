import pytest

from contextos import Budget, BudgetError, ContextItem, Section
from tests.context.helpers import assemble, item, status

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau".split()


def text(n: int, offset: int = 0) -> str:
    return " ".join(WORDS[(i + offset) % len(WORDS)] + str(i) for i in range(n))


def test_pinned_items_always_go_in_first():
    items = [
        item("sys", "instructions", "Be brief.", pinned=True),
        item("doc", content=text(400), score=1.0),
    ]
    result = assemble(items, Budget(context_window=120))
    assert status(result, "sys") == "included"
    assert result.decision("sys").reason == "pinned"
    assert status(result, "doc") in {"dropped", "truncated"}


def test_pinned_items_over_budget_raise_and_name_them():
    items = [
        item("big", "instructions", text(300), pinned=True),
        item("small", "input", "hi", pinned=True),
    ]
    with pytest.raises(BudgetError, match=r"big \(\d+ tokens\).*small \(\d+ tokens\)"):
        assemble(items, Budget(context_window=100))


def test_higher_utility_per_token_wins():
    items = [
        item("dense", content=text(20), score=0.9),
        item("sparse", content=text(200, 5), score=0.9),
    ]
    result = assemble(items, Budget(context_window=120, min_truncated_tokens=1000))
    assert status(result, "dense") == "included"
    assert status(result, "sparse") == "dropped"
    assert result.decision("sparse").reason == "over budget"


def test_priority_tier_beats_utility():
    items = [
        item("low", content=text(20), score=1.0),
        item("high", content=text(30, 3), score=0.1, priority=1),
    ]
    result = assemble(items, Budget(context_window=100, min_truncated_tokens=1000))
    assert status(result, "high") == "included"
    assert status(result, "low") == "dropped"


def test_near_duplicates_do_not_crowd_out_distinct_information():
    base = text(40)
    items = [
        item("a", content=base, score=0.9),
        item("a-copy", content=base + " omega", score=0.9),
        item("b", content=text(40, 7), score=0.5),
    ]
    result = assemble(items, Budget(context_window=400))
    assert status(result, "a") == "included"
    assert status(result, "b") == "included"
    assert status(result, "a-copy") == "dropped"
    assert "near-duplicate of a" in result.decision("a-copy").reason


def overlapping_items():
    shared = text(30)
    return [
        item("first", content=shared + " " + text(10, 3), score=0.9),
        item("overlapping", content=shared + " " + text(10, 11), score=0.62),
        item("distinct", content=text(40, 13), score=0.6),
    ]


def test_partial_overlap_lowers_utility():
    # Room for two of the three: the distinct item beats the overlapping one despite its lower score
    # (and its rank: on the common scale the second of a source is worth 0.63 of its score, the third 0.5).
    result = assemble(overlapping_items(), Budget(context_window=190, min_truncated_tokens=1000))
    assert status(result, "first") == "included"
    assert status(result, "distinct") == "included"
    assert status(result, "overlapping") == "dropped"


def test_redundancy_penalty_can_be_switched_off():
    shared = text(30)
    items = [
        item("first", content=shared + " " + text(10, 3), score=0.9),
        item("overlapping", content=shared + " " + text(10, 11), score=0.62),
        item("distinct", content=text(40, 13), score=0.6),
    ]
    result = assemble(
        items, Budget(context_window=190, min_truncated_tokens=1000, redundancy_penalty=0.0)
    )
    assert status(result, "overlapping") == "included"
    assert status(result, "distinct") == "dropped"


def test_section_cap_limits_a_source():
    items = [item(f"m{i}", "memory", text(20, i), score=0.9) for i in range(5)] + [
        item("d", content=text(20, 9), score=0.1)
    ]
    result = assemble(items, Budget(context_window=1000, sections={"memory": Section(cap=50)}))
    kept = [d for d in result.decisions if d.source == "memory" and d.status.value == "included"]
    assert sum(d.tokens_after for d in kept) <= 50
    assert any(
        "section cap of memory" in d.reason for d in result.decisions if d.status.value == "dropped"
    )
    assert status(result, "d") == "included"


def test_section_floor_reserves_room_for_a_low_scored_source():
    docs = [item(f"d{i}", "documents", text(20, i), score=0.9) for i in range(6)]
    mems = [item(f"m{i}", "memory", text(20, 10 + i), score=0.05) for i in range(3)]
    without = assemble(docs + mems, Budget(context_window=110, min_truncated_tokens=1000))
    assert all(status(without, m.id) == "dropped" for m in mems)
    with_floor = assemble(
        docs + mems,
        Budget(
            context_window=110, min_truncated_tokens=1000, sections={"memory": Section(floor=40)}
        ),
    )
    kept_memory = [m.id for m in mems if status(with_floor, m.id) == "included"]
    assert len(kept_memory) >= 1
    assert with_floor.usage.per_source["memory"].kept_tokens >= 40


def test_section_weight_scales_utility():
    items = [
        item("d", "documents", text(20), score=0.5),
        item("m", "memory", text(20, 4), score=0.4),
    ]
    result = assemble(
        items,
        Budget(
            context_window=60, min_truncated_tokens=1000, sections={"memory": Section(weight=2.0)}
        ),
    )
    assert status(result, "m") == "included"
    assert status(result, "d") == "dropped"


def test_grouped_items_are_kept_or_dropped_together():
    call = ContextItem(
        id="call",
        source="conversation",
        role="assistant",
        content="",
        group="g1",
        position=1,
        score=0.1,
        payload={
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ]
        },
    )
    result_item = ContextItem(
        id="result",
        source="conversation",
        role="tool",
        content=text(60),
        group="g1",
        position=2,
        score=0.1,
        payload={"tool_call_id": "c1"},
    )
    small = assemble([call, result_item], Budget(context_window=40))
    assert status(small, "call") == status(small, "result") == "dropped"
    big = assemble([call, result_item], Budget(context_window=400))
    assert status(big, "call") == status(big, "result") == "included"
    roles = [m["role"] for m in big.messages]
    assert roles == ["assistant", "tool"]
    assert big.messages[0]["tool_calls"][0]["id"] == big.messages[1]["tool_call_id"]


def call_and_long_result(result_words: int) -> list[ContextItem]:
    call = ContextItem(
        id="call",
        source="conversation",
        role="assistant",
        content="",
        group="g1",
        position=1,
        score=0.9,
        payload={
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ]
        },
    )
    result_item = ContextItem(
        id="result",
        source="conversation",
        role="tool",
        content=text(result_words),
        group="g1",
        position=2,
        score=0.9,
        payload={"tool_call_id": "c1"},
    )
    return [call, result_item]


@pytest.mark.parametrize(
    "budget",
    [
        Budget(context_window=200, min_truncated_tokens=32),
        Budget(
            context_window=2000,
            min_truncated_tokens=32,
            sections={"conversation": Section(cap=150)},
        ),
    ],
    ids=["over budget", "over its section cap"],
)
def test_a_group_that_does_not_fit_keeps_its_call_whole_and_its_result_truncated(budget):
    result = assemble(call_and_long_result(500), budget)
    assert status(result, "call") == "included" and status(result, "result") == "truncated"
    assert "truncated from" in result.decision("result").reason
    assert [m["role"] for m in result.messages] == ["assistant", "tool"]
    assert result.messages[0]["tool_calls"][0]["id"] == result.messages[1]["tool_call_id"] == "c1"
    assert result.messages[1]["content"].endswith("tokens cut; the full text is in the trace]")
    assert result.usage.request_tokens <= budget.available
    if budget.section("conversation").cap is not None:
        assert sum(d.tokens_after for d in result.decisions) <= 150


def test_the_best_item_that_does_not_fit_is_truncated_with_a_record():
    items = [
        item("short", content=text(20), score=0.5),
        item("long", content=text(500, 2), score=0.9),
    ]
    result = assemble(items, Budget(context_window=200, min_truncated_tokens=32))
    decision = result.decision("long")
    assert decision.status.value == "truncated"
    assert decision.tokens_after < decision.tokens_before
    assert "truncated from" in decision.reason
    assert "tokens cut; the full text is in the trace]" in result.messages[0]["content"]
    assert result.usage.request_tokens <= 200


def test_truncation_respects_its_minimum():
    items = [item("long", content=text(500), score=0.9)]
    result = assemble(items, Budget(context_window=40, min_truncated_tokens=64))
    assert status(result, "long") == "dropped"


def test_pinned_and_uncompressible_items_are_never_truncated():
    items = [item("long", content=text(500), score=0.9, compressible=False)]
    result = assemble(items, Budget(context_window=200, min_truncated_tokens=8))
    assert status(result, "long") == "dropped"
