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
from collections.abc import Sequence

from contextos.context.items import ContextItem

#: The source whose items are the conversation.
CONVERSATION = "conversation"

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
        return next((self.turns[i].role for i in range(end - 1, start - 1, -1) if self.turns[i].role != "system"), None)
