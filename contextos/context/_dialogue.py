"""The conversation as selection sees it: whole blocks, kept as the newest contiguous suffix.

A conversation is a dialogue, not a bag of facts: the model needs its latest turns verbatim, in
order, with roles that alternate the way chat templates require. So selection keeps it as a
contiguous newest suffix of whole *blocks* (a message, or an assistant message that calls tools
together with the results of those calls) and leaves out what is older, oldest first. The blocks are
found from the newest back, so a step costs what it keeps, not the length of the history.

The roles (``follows``): the conversation starts with a user turn; a user turn is followed by an
assistant turn; an assistant turn by a user turn (or, within its block, by its tool results); tool
results by more results, an assistant turn or a user turn. System turns are passed over.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from contextos.context._units import Candidate, Outcome, Unit
from contextos.context.items import ContextItem, DecisionStatus
from contextos.context.source_names import CONVERSATION

if TYPE_CHECKING:
    from contextos.context._select import State


_NEXT: dict[str | None, frozenset[str]] = {
    None: frozenset({"user"}),
    "user": frozenset({"assistant"}),
    "assistant": frozenset({"user", "tool"}),
    "tool": frozenset({"tool", "assistant", "user"}),
}


def follows(previous: str | None, role: str) -> bool:
    """Whether a turn of ``role`` may come right after one of ``previous`` (None: nothing before it
    but the system message). System turns always may."""
    return role == "system" or role in _NEXT.get(previous, _NEXT[None])


def recency(k: int) -> float:
    """The relevance of the conversation's ``k``-th newest block (0: the newest), on the scale of
    ``scale.py``: every turn counts as fully relevant (1.0), discounted by its rank in recency as
    other sources' items are by their rank in score."""
    return 1.0 / math.log2(k + 2)


class Dialogue:
    """The turns of a conversation in render order (oldest first), split into blocks from the newest back.

    Block ``k`` is the ``k``-th newest (``span(k)`` gives its turns as ``start, end`` indices). A block
    is one turn, or the turns from the first to the last member of a group (a tool call and its
    results) with whatever lies between, so no group is ever split. Finding a block looks only at
    its own turns, and where its groups start (found in C, by ``list.index``, once per group).
    """

    def __init__(self, turns: Sequence[ContextItem]) -> None:
        self.turns = turns
        self._groups = [turn.group for turn in turns]
        self._group_start: dict[str, int] = {}
        flags = [turn.pinned for turn in turns]
        self._pinned = len(flags) - 1 - flags[::-1].index(True) if True in flags else -1
        self._spans: list[tuple[int, int]] = []
        self.pinned_block: int | None = None
        """The block holding the newest pinned turn (the current task): the only pinned one. Older pinned
        turns (earlier tasks of a long chat) are turns like any other, or the suffix would have holes."""
        if self._pinned >= 0:
            k = 0
            while (span := self.span(k)) is not None and span[0] > self._pinned:
                k += 1
            self.pinned_block = k

    def __len__(self) -> int:
        return len(self.turns)

    def span(self, k: int) -> tuple[int, int] | None:
        """The turns of block ``k`` as ``(start, end)`` indices, or None when there are fewer blocks."""
        spans = self._spans
        while len(spans) <= k:
            end = spans[-1][0] if spans else len(self.turns)
            if end == 0:
                return None
            start = end - 1
            low = self._start_of(start)
            while start > low:
                start -= 1
                low = min(low, self._start_of(start))
            spans.append((start, end))
        return spans[k]

    def _start_of(self, index: int) -> int:
        group = self._groups[index]
        if group is None:
            return index
        start = self._group_start.get(group)
        if start is None:
            start = self._group_start[group] = self._groups.index(group)
        return start

    @property
    def considered(self) -> int:
        """Turns found so far (those of the blocks asked for), counted from the newest."""
        return len(self.turns) - self._spans[-1][0] if self._spans else 0

    def first_role(self, k: int) -> str:
        """The role of block ``k``'s first turn that is not a system turn."""
        start, end = self._spans[k]
        return next((t.role for t in self.turns[start:end] if t.role != "system"), "system")

    def last_role(self, k: int) -> str | None:
        """The role of block ``k``'s last turn that is not a system turn (None if it has only system turns)."""
        start, end = self._spans[k]
        return next(
            (
                self.turns[i].role
                for i in range(end - 1, start - 1, -1)
                if self.turns[i].role != "system"
            ),
            None,
        )


class Chain:
    """The conversation's blocks as units, made from the newest back as selection reaches them."""

    def __init__(
        self, dialogue: Dialogue, candidate: Callable[[ContextItem], Candidate], weight: float
    ) -> None:
        self.dialogue = dialogue
        self.candidate = candidate
        self.weight = weight
        self.blocks: list[Unit] = []
        self.stopped: int | None = None
        """The block where the walk stopped (it did not fit): it and every older one are left out."""

    def block(self, k: int) -> Unit | None:
        """Block ``k`` (0: the newest) as a unit, or None past the oldest."""
        while len(self.blocks) <= k:
            span = self.dialogue.span(len(self.blocks))
            if span is None:
                return None
            turns = self.dialogue.turns[span[0] : span[1]]
            n = len(self.blocks)
            unit = Unit(
                tuple(self.candidate(t) for t in turns), (), self.weight, recency(n), block=n
            )
            if n != self.dialogue.pinned_block:
                # only the newest pinned turn is pinned (see Dialogue.pinned_block)
                unit.pinned = False
            self.blocks.append(unit)
        return self.blocks[k]

    def next_after(self, k: int) -> Unit | None:
        """The first undecided block older than block ``k``."""
        while (unit := self.block(k + 1)) is not None and unit.decided:
            k += 1
        return unit

    def stop(self, k: int, reason: str) -> None:
        """The walk ends at block ``k``: it is left out for ``reason``, the older ones as older than it."""
        self.stopped = k
        self.blocks[k].drop_reason = reason
        self.blocks[k].decided = True
        for unit in self.blocks[k + 1 :]:
            if not unit.decided:
                unit.drop_reason, unit.decided = (
                    f"older than the turns kept (a newer turn did not fit: {reason})",
                    True,
                )


def keep_newest(
    state: State,
    chain: Chain,
    truncate: Callable[[Candidate, int], Candidate | None] | None,
    measure: Callable[[list[ContextItem]], int] | None,
) -> int:
    """Take the conversation's newest block (with the blocks before it back to a turn its roles may
    follow), its longest compressible members shortened if it does not fit whole. Returns the number of
    the oldest block protected so (-1: none, the conversation is left out)."""
    dialogue = chain.dialogue
    if chain.block(0) is None:
        return -1
    pinned = dialogue.pinned_block
    k = 0
    while True:
        before = dialogue.last_role(pinned) if pinned is not None and pinned > k else None
        if follows(before, dialogue.first_role(k)) or chain.block(k + 1) is None or k + 1 == pinned:
            break
        k += 1
    span = [u for u in chain.blocks[: k + 1] if not u.decided]
    if not span:
        return k
    room = state.available - state.used
    cap = state.budget.section(CONVERSATION).cap
    if cap is not None:
        room = min(room, cap - state.by_source.get(CONVERSATION, 0))
    need = sum(state.extra_cost(u) for u in span)
    shortened: dict[str, tuple[int, Candidate]] = {}

    def exact() -> int | None:
        """The exact tokens of the request with the span (as shortened so far), when the estimate says it
        is over the budget but not over a cap: estimates are conservative by a few tokens."""
        if measure is None or (
            cap is not None and need > cap - state.by_source.get(CONVERSATION, 0)
        ):
            return None
        kept = [o.item for o in state.selection.outcomes.values() if o.item is not None]
        span_items = [
            shortened[m.item.id][1].item if m.item.id in shortened else m.item
            for u in span
            for m in u.members
        ]
        tokens = measure(kept + span_items)
        return tokens if tokens <= state.available else None

    measured = exact() if need > room else None
    if need > room and measured is None and truncate is not None:
        members = sorted(
            (m for u in span for m in u.members if m.item.compressible and not m.item.pinned),
            key=lambda m: -m.cost,
        )
        for member in members:
            if need <= room:
                break
            overhead = member.cost - member.content_tokens
            target = max(member.cost - (need - room), overhead + state.budget.min_truncated_tokens)
            short = truncate(member, target) if target < member.cost else None
            if short is not None and short.cost < member.cost:
                need -= member.cost - short.cost
                shortened[member.item.id] = (member.cost, short)
        if need > room:
            measured = exact()
    if need > room and measured is None:
        chain.stop(
            span[0].block, f"the newest turns need {need} tokens even shortened, {room} are left"
        )
        for unit in span[1:]:
            unit.drop_reason, unit.decided = span[0].drop_reason, True
        return -1
    for unit in span:
        if any(m.item.id in shortened for m in unit.members):
            unit = Unit(
                tuple(
                    shortened[m.item.id][1] if m.item.id in shortened else m for m in unit.members
                ),
                (),
                unit.weight,
                unit.score,
                unit.block,
            )
            chain.blocks[unit.block] = unit
        state.take(
            unit,
            "the conversation's newest turn"
            if unit.block == 0
            else "before the newest turn, so that roles alternate",
        )
    for item_id, (full_cost, short) in shortened.items():
        state.selection.outcomes[item_id] = Outcome(
            DecisionStatus.TRUNCATED,
            short.cost,
            f"truncated from {full_cost} to {short.cost} tokens to keep the newest turn",
            short.item,
        )
    if measured is not None:
        state.used = measured
    return k


def alternate(state: State, chain: Chain, protected: int) -> None:
    """Leave out the oldest blocks of the kept suffix until its first turn may follow what comes before it
    (the pinned task, or nothing): a conversation never opens with an assistant reply or a tool result."""
    dialogue = chain.dialogue
    m = taken_run(chain) + 1  # blocks 0..m-1 are kept
    pinned = dialogue.pinned_block
    while m - 1 > protected and not chain.blocks[m - 1].pinned:
        before = dialogue.last_role(pinned) if pinned is not None and pinned >= m else None
        if follows(before, dialogue.first_role(m - 1)):
            return
        state.untake(
            chain.blocks[m - 1],
            "left out so that the kept turns start with a turn their roles may follow",
        )
        m -= 1


def taken_run(chain: Chain) -> int:
    """The oldest block of the kept suffix: blocks 0..k are all included (-1: not even the newest)."""
    k, blocks = -1, chain.blocks
    while k + 1 < len(blocks) and blocks[k + 1].taken:
        k += 1
    return k
