"""What selection works on: candidates (items with their costs), units (items kept or dropped
together), and the outcome of each item."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from contextos.context._scale import relevances
from contextos.context.budget import Budget
from contextos.context.items import ContextItem, DecisionStatus


@dataclass(slots=True)
class Candidate:
    """An item with what selection needs to know about it."""

    item: ContextItem
    cost: int
    """Tokens it adds to the request when included."""
    shingles: tuple[int, ...]
    """A bottom-k sketch of its words, for redundancy (see ``redundancy.shingles``)."""
    content_tokens: int
    """Tokens of its text alone: the part of ``cost`` that truncation can shrink."""
    key: int | None = None
    """A number its measurer gives every distinct rendering (equal items share it), so that caches across
    steps need no hash of the content; None: ``item.content_hash`` serves."""


@dataclass(slots=True)
class Outcome:
    """Selection's verdict on one item."""

    status: DecisionStatus
    tokens_after: int
    reason: str
    item: ContextItem | None = None
    """The item as it goes in (a truncated copy when truncated); None when dropped."""


@dataclass
class Selection:
    """The result of ``select_within_budget``."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    """Per item id."""
    used: int = 0
    """Estimated request tokens of the selection, overheads included."""
    examined_turns: list[Candidate] = field(default_factory=list)
    """The conversation turns selection looked at (each has an outcome), as measured."""
    left_out_turns: Sequence[ContextItem] = ()
    """The oldest conversation turns, never looked at: older than a block that did not fit, they cannot
    be part of the kept suffix (no outcome each; the orchestrator reports how many)."""

    @property
    def included(self) -> list[ContextItem]:
        return [o.item for o in self.outcomes.values() if o.item is not None]


class Unit:
    """Items kept or dropped together (one item, or all items sharing a group)."""

    __slots__ = (
        "block",
        "cost",
        "cost_by_source",
        "decided",
        "drop_reason",
        "indices",
        "key",
        "members",
        "pinned",
        "priority",
        "score",
        "sim",
        "sim_id",
        "taken",
        "value",
        "version",
        "weight",
    )

    def __init__(
        self,
        members: tuple[Candidate, ...],
        indices: tuple[int, ...],
        weight: float,
        relevance: float,
        block: int = -1,
    ) -> None:
        self.members = members
        self.indices = indices
        """The members' positions among the candidates (none for conversation blocks: never redundant)."""
        self.weight = weight
        self.block = block
        """For a conversation block, its place from the newest (0); -1 for other units."""
        # What selection has found so far: taken or dropped; why dropped; the most similar taken
        # item and how similar; and a counter bumped whenever that similarity rises.
        self.decided = False
        self.taken = False
        self.drop_reason = "over budget"
        self.sim = 0.0
        self.sim_id: str | None = None
        self.version = 0
        if len(members) == 1:  # the common case, kept cheap: this runs for every candidate
            only = members[0]
            item = only.item
            self.key = item.id
            self.cost = only.cost
            self.score = relevance
            self.priority = item.priority
            self.pinned = item.pinned
            self.cost_by_source: tuple[tuple[str, int], ...] = ((item.source, only.cost),)
        else:
            self.key = members[0].item.id
            self.cost = sum(m.cost for m in members)
            self.score = relevance
            self.priority = max(m.item.priority for m in members)
            self.pinned = any(m.item.pinned for m in members)
            by_source: dict[str, int] = {}
            for m in members:
                by_source[m.item.source] = by_source.get(m.item.source, 0) + m.cost
            self.cost_by_source = tuple(by_source.items())
            """(source, tokens) per source among the members; tuples, as this is made for every candidate."""
        self.value = weight * (relevance + 0.01) / max(self.cost, 1)
        """Utility per token before any redundancy penalty (see ``density``); ``score`` is the relevance on
        the common scale (``scale.py``)."""

    def density(self, sim: float, penalty: float) -> float:
        """Utility per token when the unit is ``sim`` similar to the selection."""
        return self.value * (1.0 - penalty * sim)


def render_key(item: ContextItem) -> tuple[bool, int, str]:
    """The order turns render in: by position, then id; those without a position last."""
    return (item.position is None, item.position or 0, item.id)


def make_units(candidates: Sequence[Candidate], budget: Budget) -> list[Unit]:
    """One unit per ungrouped candidate and per group, in order of first appearance."""
    weights: dict[str, float] = {}
    relevance = relevances([c.item for c in candidates])
    units: list[Unit | None] = []
    groups: dict[str, tuple[int, list[int]]] = {}  # group -> (its place in units, member positions)
    for n, c in enumerate(candidates):
        item = c.item
        weight = weights.get(item.source)
        if weight is None:
            weight = weights[item.source] = budget.section(item.source).weight
        group = item.group
        if group is None:
            units.append(Unit((c,), (n,), weight, relevance[n]))
        elif group in groups:
            groups[group][1].append(n)
        else:
            groups[group] = (len(units), [n])
            units.append(None)
    for place, positions in groups.values():
        first = candidates[positions[0]]
        units[place] = Unit(
            tuple(candidates[n] for n in positions),
            tuple(positions),
            weights[first.item.source],
            max(relevance[n] for n in positions),
        )
    return units  # type: ignore[return-value]  # every None was replaced by its group
