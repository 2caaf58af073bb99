"""Property tests of the conversation rule: whatever the chat, the other sources and the budget, the
conversation sent is a contiguous newest suffix of whole blocks whose roles alternate, the newest block is
there whenever it fits at all once shortened, and the request fits the budget (counted independently)."""

from __future__ import annotations

import asyncio
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextos import Budget, BudgetError, ContextItem, Orchestrator, Renderer, Section
from tests.context.test_budget_property import COUNTER, ENCODING, independent_count

WORDS = "the river bank north tower was built in 1850 by engineers who later moved to Lyon and Paris".split()
# A text from two numbers (its length in words and where it starts): cheap to draw and to shrink.
texts = st.tuples(st.integers(1, 90), st.integers(0, 10_000)).map(
    lambda a: " ".join(WORDS[(a[1] + i * (1 + a[1] % 5)) % len(WORDS)] for i in range(a[0]))
)


@st.composite
def conversations(draw):
    """A well-formed chat: user turns, assistant replies and tool-call groups, as conversation items."""
    items: list[ContextItem] = []
    n_blocks = draw(st.integers(1, 24))
    previous = None  # role class of the last block: "user", "reply", "calls"
    pinned_at = draw(st.one_of(st.none(), st.integers(0, n_blocks - 1)))
    for b in range(n_blocks):
        if previous in (None, "reply"):
            kind = "user"
        elif previous == "user":
            kind = draw(st.sampled_from(["reply", "calls"]))
        else:
            kind = draw(st.sampled_from(["reply", "calls", "calls"]))
        n = len(items)
        if kind == "calls":
            calls = draw(st.integers(1, 3))
            ids = [f"c{n}-{k}" for k in range(calls)]
            group = f"g{n}"
            items.append(
                ContextItem(
                    id=f"t{n}",
                    source="conversation",
                    role="assistant",
                    content="",
                    group=group,
                    position=n,
                    payload={
                        "tool_calls": [
                            {
                                "id": i,
                                "type": "function",
                                "function": {"name": "f", "arguments": "{}"},
                            }
                            for i in ids
                        ]
                    },
                )
            )
            for k, call_id in enumerate(ids):
                items.append(
                    ContextItem(
                        id=f"t{n + 1 + k}",
                        source="conversation",
                        role="tool",
                        content=draw(texts),
                        group=group,
                        position=n + 1 + k,
                        payload={"tool_call_id": call_id},
                    )
                )
        else:
            role = "user" if kind == "user" else "assistant"
            pinned = kind == "user" and (
                pinned_at is not None and b >= pinned_at and draw(st.booleans())
            )
            items.append(
                ContextItem(
                    id=f"t{n}",
                    source="conversation",
                    role=role,
                    content=draw(texts),
                    position=n,
                    pinned=pinned,
                    compressible=not pinned,
                )
            )
        previous = kind
    return items


@st.composite
def others(draw):
    out = []
    for i in range(draw(st.integers(0, 25))):
        source = draw(st.sampled_from(["memory", "documents", "notes"]))
        out.append(
            ContextItem(
                id=f"o{i}",
                source=source,
                content=draw(texts),
                score=draw(st.floats(0, 1)),
                compressible=draw(st.booleans()),
            )
        )
    if draw(st.booleans()):
        out.append(
            ContextItem(
                id="sys",
                source="instructions",
                role="system",
                content="Answer briefly.",
                pinned=True,
            )
        )
    return out


@st.composite
def budgets(draw):
    window = draw(st.integers(60, 2500))
    reserve = draw(st.integers(0, window // 3))
    sections = {}
    if draw(st.booleans()):
        sections["memory"] = Section(cap=draw(st.integers(0, 400)))
    return Budget(
        context_window=window,
        reserve_output=reserve,
        sections=sections,
        min_truncated_tokens=draw(st.integers(32, 120)),
    )


def blocks(turns):
    """The conversation's blocks, oldest first: a message, or a call with its results."""
    out: list[list[ContextItem]] = []
    for t in turns:
        if out and t.group is not None and out[-1][0].group == t.group:
            out[-1].append(t)
        else:
            out.append([t])
    return out


def tokens(text):
    return len(ENCODING.encode(text, disallowed_special=()))


def least_cost(block, min_truncated):
    """What ``block`` costs at the least: compressible texts cut to the minimum (a generous bound, note included)."""
    total = 0
    for t in block:
        whole = independent_count(Renderer().render([t])[0], []) - 3
        if t.compressible and tokens(t.content) > min_truncated + 40:
            whole -= tokens(t.content) - (min_truncated + 40)
        total += whole
    return total


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(conversations(), others(), budgets(), st.booleans())
def test_the_conversation_sent_is_a_contiguous_alternating_newest_suffix_within_budget(
    turns, other, budget, with_input
):
    items = list(other) + list(turns)
    # A current input after the conversation's last reply (not beside a pinned task: two pinned user turns
    # side by side cannot alternate, whatever selection does).
    if (
        with_input
        and turns[-1].role == "assistant"
        and not turns[-1].payload
        and not any(t.pinned for t in turns)
    ):
        items.append(
            ContextItem(
                id="input", source="input", content="And then?", pinned=True, compressible=False
            )
        )
    try:
        result = asyncio.run(Orchestrator([], budget, counter=COUNTER).assemble(items))
    except BudgetError:
        pinned = (
            [i for i in other if i.pinned]
            + [i for i in items if i.source == "input"]
            + [t for t in turns if t.pinned][-1:]
        )
        assert independent_count(*Renderer().render(pinned)) > budget.available
        return
    assert independent_count(result.messages, result.tools) <= budget.available

    kept = {
        d.id for d in result.decisions if d.status.value != "dropped" and d.source == "conversation"
    }
    chat = blocks(turns)
    task = max((k for k, b in enumerate(chat) if any(t.pinned for t in b)), default=None)
    kept_blocks = [k for k, b in enumerate(chat) if b[0].id in kept]
    for k, b in enumerate(chat):  # whole blocks
        assert all(t.id in kept for t in b) == (b[0].id in kept), f"block {k} split"
    suffix = [k for k in kept_blocks if k != task]
    if suffix:  # contiguous to the newest, the pinned task aside
        assert suffix == [k for k in range(suffix[0], len(chat)) if k != task]
    if task is not None:
        assert task in kept_blocks

    roles = [m for m in result.messages if m["role"] != "system"]
    assert not roles or roles[0]["role"] == "user"
    for a, b in pairwise(roles):
        assert not (a["role"] == b["role"] and a["role"] in ("user", "assistant")), [
            m["role"] for m in roles
        ]
        if b["role"] == "tool":
            assert a["role"] == "tool" or a.get("tool_calls")
    calls = {c["id"] for m in roles for c in m.get("tool_calls") or []}
    assert {m["tool_call_id"] for m in roles if m["role"] == "tool"} <= calls

    newest = len(chat) - 1
    if newest not in kept_blocks:
        # The newest block, with the blocks before it back to one whose first role may follow what precedes
        # it: the pinned task when there is one, else nothing (a user turn must open).
        opens = {
            None: {"user"},
            "user": {"assistant"},
            "assistant": {"user"},
            "tool": {"user", "assistant"},
        }
        span = [newest]
        while span[0] - 1 != task and span[0] > 0:
            before = chat[task][-1].role if task is not None and task < span[0] else None
            if chat[span[0]][0].role in opens[before]:
                break
            span.insert(0, span[0] - 1)
        pinned = [i for i in items if i.pinned and i.source != "conversation"] + (
            chat[task] if task is not None else []
        )
        need = independent_count(*Renderer().render(pinned)) + sum(
            least_cost(chat[k], budget.min_truncated_tokens) for k in span if k != task
        )
        assert need > budget.available, (
            f"the newest block was dropped though it fits shortened ({need} <= {budget.available})"
        )
