"""WorkingMemory: the window never exceeds its budget (except by the latest pinned turn and the newest block) and never
splits a tool call from its result."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contextos import Budget, ContextItem, Orchestrator, Step, TiktokenCounter
from contextos.errors import BudgetError, MemoryStoreError
from contextos.memory import WorkingMemory

COUNTER = TiktokenCounter()
WORDS = st.lists(
    st.sampled_from(["alpha", "beta", "gamma", "delta", "omega", "tool", "result", "42"]),
    min_size=0,
    max_size=40,
)


@st.composite
def conversations(draw, pinned: bool = True):
    """A list of "events": plain messages, pinned tasks (as an agent adds them) and tool-call turns whose
    results may arrive interleaved later."""
    events = []
    pending: list[str] = []
    n_calls = 0
    for n in range(draw(st.integers(1, 25))):
        kinds = (
            ["user", "assistant", "call"]
            + (["task"] if pinned else [])
            + (["result"] if pending else [])
        )
        kind = draw(st.sampled_from(kinds))
        if kind in ("user", "assistant"):
            events.append({"role": kind, "content": " ".join(draw(WORDS)) or "ok"})
        elif kind == "task":
            events.append(
                ContextItem(
                    id=f"task-{n}",
                    source="conversation",
                    role="user",
                    content=" ".join(draw(WORDS)) or "do it",
                    pinned=True,
                    compressible=False,
                )
            )
        elif kind == "call":
            ids = [f"c{n_calls}-{i}" for i in range(draw(st.integers(1, 3)))]
            n_calls += 1
            calls = [
                {
                    "id": i,
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"q": "x"}'},
                }
                for i in ids
            ]
            events.append(
                {
                    "role": "assistant",
                    "content": draw(st.sampled_from(["", "let me check"])),
                    "tool_calls": calls,
                }
            )
            pending.extend(ids)
        else:
            call_id = pending.pop(draw(st.integers(0, len(pending) - 1)))
            events.append(
                {
                    "role": "tool",
                    "tool_call_id": call_id,
                    "content": " ".join(draw(WORDS)) or "done",
                }
            )
    return events


def blocks_of(items: list[ContextItem]) -> list[list[ContextItem]]:
    """The window's items as blocks: a call with its results, or one message."""
    blocks: dict[str, list[ContextItem]] = {}
    for item in items:
        blocks.setdefault(item.group or item.id, []).append(item)
    return list(blocks.values())


def check_invariants(
    window: WorkingMemory,
    everything: list[ContextItem],
    moved: list[ContextItem],
    newest: int | None,
) -> None:
    """``newest``: the position of the latest turn that entered the window."""
    items = window.items
    # Never over the budget except by what never moves out: the latest pinned block and the newest block.
    pinned = [i.position for i in everything if i.pinned]
    task = max(pinned) if pinned else None
    if window.tokens > window.budget_tokens:
        for block in blocks_of(items):
            assert {task, newest} & {i.position for i in block}, (
                f"over budget ({window.tokens} > {window.budget_tokens}) while holding a movable block {block}"
            )
    assert sum(window.cost(i) for i in items) == window.tokens
    # The latest pinned turn (the current task) never moves out; earlier ones may.
    assert task is None or task in {i.position for i in items}
    # Nothing lost: every turn is in the window or was moved out, exactly once.
    assert sorted(i.position for i in items + moved) == sorted(i.position for i in everything)
    # The window is the latest turns: everything moved out is older than the window's oldest call block start.
    in_window = {i.position for i in items}
    by_group: dict[str, set[int]] = {}
    for item in everything:
        if item.group:
            by_group.setdefault(item.group, set()).add(item.position)
    for group, positions in by_group.items():
        present = positions & in_window
        assert not present or present == positions, (
            f"group {group} split: {present} of {positions} in window"
        )
    # Every tool result in the window has its call in the window.
    calls = {c["id"] for i in items for c in (i.payload or {}).get("tool_calls", [])}
    for i in items:
        if i.role == "tool":
            assert i.payload["tool_call_id"] in calls


@settings(max_examples=150, deadline=None)
@given(events=conversations(), budget=st.integers(20, 400))
def test_window_never_exceeds_budget_but_by_pinned_and_newest_nor_splits_calls(events, budget):
    window = WorkingMemory(budget, counter=COUNTER)
    moved: list[ContextItem] = []
    newest = None
    for event in events:
        position = len(window.items) + len(moved)
        left = window.add_nowait(event)
        moved.extend(left)
        # only a late result leaves at once: it follows its call out
        if position in {i.position for i in left}:
            assert event["role"] == "tool" and {
                i.group for i in moved if i.position == position
            } <= {i.group for i in moved if i.position < position}
        else:
            newest = position
        everything = window.items + moved
        check_invariants(window, everything, moved, newest)
    # Blocks leave oldest first: every non-group item moved out is older than every unpinned non-group
    # item kept (a pinned one may have stayed while it was the current task).
    kept = [i.position for i in window.items if i.group is None and not i.pinned]
    gone = [i.position for i in moved if i.group is None]
    if kept and gone:
        assert max(gone) < min(kept)


@settings(max_examples=40, deadline=None)
@given(
    events=conversations(pinned=False), budget=st.integers(20, 300), context=st.integers(200, 2000)
)
def test_orchestrator_keeps_window_groups_whole(events, budget, context):
    window = WorkingMemory(budget, counter=COUNTER)
    window.add_nowait(*events)
    orchestrator = Orchestrator([window], Budget(context_window=context), counter=COUNTER)
    assembled = orchestrator.build_sync(Step())
    assert assembled.usage.request_tokens <= context
    ids = [m.get("tool_call_id") for m in assembled.messages if m["role"] == "tool"]
    calls = {c["id"] for m in assembled.messages for c in m.get("tool_calls") or []}
    assert set(ids) <= calls


async def test_moved_turns_reach_sinks_in_order():
    got: list[list[int]] = []

    class Sink:
        async def absorb(self, items):
            got.append([i.position for i in items])

    window = WorkingMemory(
        40, counter=COUNTER, sinks=[Sink(), lambda items: got.append(["sync", len(items)])]
    )
    for n in range(6):
        await window.add(
            {"role": "user", "content": f"message number {n} with a few more words in it"}
        )
    flat = [p for batch in got if batch and batch[0] != "sync" for p in batch]
    assert flat == sorted(flat) and flat[0] == 0
    assert len(flat) + len(window.items) == 6
    assert window.tokens <= 40


async def test_a_pinned_task_stays_and_the_unpinned_turns_after_it_leave_in_order():
    got: list[ContextItem] = []
    window = WorkingMemory(60, counter=COUNTER, sinks=[got.extend])
    task = ContextItem(
        id="task-1",
        source="conversation",
        role="user",
        pinned=True,
        content="Plan a week in Lisbon for two: museums, food markets, a day trip to Sintra and a fado night.",
    )
    await window.add(task)
    for n in range(6):
        await window.add(
            {"role": "assistant", "content": f"step {n}: a few more words about the plan in it"}
        )
    positions = [i.position for i in got]
    assert window.items[0].id == "task-1"
    assert positions == sorted(positions) and positions[0] == 1 and 0 not in positions
    # The task counts against the budget: the window is within it, and would not be with one more turn.
    assert window.tokens <= 60 < window.tokens + window.cost(got[-1])
    # it fits without the task
    assert window.tokens - window.cost(window.items[0]) + window.cost(got[-1]) <= 60


def test_the_newest_block_stays_even_over_the_budget_and_leaves_once_a_newer_one_comes():
    window = WorkingMemory(60, counter=COUNTER)
    window.add_nowait(
        ContextItem(
            id="task-1", source="conversation", role="user", content="Get the report.", pinned=True
        )
    )
    call = {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "r1", "type": "function", "function": {"name": "report", "arguments": "{}"}}
        ],
    }
    window.add_nowait(call)
    moved = window.add_nowait(
        {"role": "tool", "tool_call_id": "r1", "content": "sunny and mild " * 60}
    )
    assert moved == [] and [i.role for i in window.items] == ["user", "assistant", "tool"]
    assert window.tokens > 60  # the task and the newest block, nothing movable
    moved = window.add_nowait({"role": "assistant", "content": "It is sunny."})
    # the call leaves with its result, oldest first
    assert [i.role for i in moved] == [
        "assistant",
        "tool",
    ]
    assert [i.id for i in window.items] == ["task-1", "turn-3"] and window.tokens <= 60


def test_late_result_of_moved_call_follows_it_out():
    window = WorkingMemory(60, counter=COUNTER)
    call = {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "k1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ],
    }
    window.add_nowait(call)
    # pushes the call (and this) out
    moved = window.add_nowait({"role": "user", "content": "x " * 80})
    assert any(i.payload and i.payload.get("tool_calls") for i in moved)
    late = window.add_nowait({"role": "tool", "tool_call_id": "k1", "content": "result"})
    assert [i.role for i in late] == ["tool"] and late[0].group == moved[0].group
    assert all(i.role != "tool" for i in window.items)


def test_bad_messages_are_refused():
    window = WorkingMemory(100, counter=COUNTER)
    with pytest.raises(MemoryStoreError, match="tool_call_id"):
        window.add_nowait({"role": "tool", "content": "x"})
    with pytest.raises(MemoryStoreError, match="unknown call"):
        window.add_nowait({"role": "tool", "tool_call_id": "nope", "content": "x"})
    with pytest.raises(MemoryStoreError, match="role"):
        window.add_nowait({"role": "wizard", "content": "x"})
    with pytest.raises(BudgetError):
        WorkingMemory(0)
    with pytest.raises(MemoryStoreError, match="absorb"):
        WorkingMemory(100, sinks=["summary"])


def test_candidates_render_as_messages_with_tool_calls():
    window = WorkingMemory(500, counter=COUNTER)
    window.add_nowait(
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "w1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "w1", "content": "sunny"},
    )
    items = asyncio.run(window.candidates(Step()))
    assert [i.position for i in items] == [0, 1, 2]
    assert items[1].group == items[2].group is not None
    assembled = Orchestrator([window], Budget(context_window=1000), counter=COUNTER).build_sync(
        Step()
    )
    assert [m["role"] for m in assembled.messages] == ["user", "assistant", "tool"]
    assert assembled.messages[1]["tool_calls"][0]["id"] == "w1"


def test_window_sized_by_the_conversation_section_moves_turns_out_instead_of_losing_them():
    from contextos import Section

    budget = Budget(context_window=1000, sections={"conversation": Section(cap=60)})
    window = WorkingMemory.for_section(budget, counter=COUNTER)
    assert window.budget_tokens == 60
    moved = window.add_nowait(
        *(
            {"role": "user", "content": f"message {n} about the hotel booking in Lisbon"}
            for n in range(8)
        )
    )
    assert moved and window.tokens <= 60
    assembled = Orchestrator([window], budget, counter=COUNTER).build_sync(Step())
    # The section's cap is the window's own: the selection keeps every turn still in it.
    assert {d.id for d in assembled.decisions if d.tokens_after > 0} == {i.id for i in window.items}
    with pytest.raises(BudgetError, match="no cap for the 'conversation' section"):
        WorkingMemory.for_section(Budget(context_window=1000))


def test_earlier_tasks_leave_so_a_long_chat_does_not_fill_the_window_with_them():
    window = WorkingMemory(80, counter=COUNTER)
    moved: list[ContextItem] = []
    for run in range(12):  # twelve runs of an agent sharing the window, each pinning its task
        moved += window.add_nowait(
            ContextItem(
                id=f"task-{run}",
                source="conversation",
                role="user",
                pinned=True,
                content=f"Task {run}: summarise the quarterly report for the board.",
            )
        )
        moved += window.add_nowait(
            {"role": "assistant", "content": f"Done with task {run}: revenue grew."}
        )
    kept_tasks = [i.id for i in window.items if i.pinned]
    assert "task-11" in kept_tasks and len(kept_tasks) < 12
    assert "task-0" in {i.id for i in moved}
    assert window.tokens <= 80
