"""Choosing what fits: pinned items first, section floors next, then utility per token.

The value of a chunk of context is not independent of the others chosen with it, nor monotonic
in their number (CORAG, "A Cost-Constrained Retrieval Optimization System for RAG", Wang et al.
2024). Selection therefore re-scores each candidate against what is already selected: an item
that repeats a selected one loses utility in proportion to their overlap, and a near-duplicate is
dropped outright. Since penalties only grow as the selection grows, a lazy greedy (re-score the top
of the heap, take it if it still leads) gives the same result as re-scoring everything each round.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from contextos.context.budget import Budget
from contextos.context.items import ContextItem, DecisionStatus
from contextos.errors import BudgetError

#: Items at least this similar (word-bigram Jaccard) to a selected item are dropped as duplicates.
DUPLICATE_SIMILARITY = 0.9
#: Sources whose items are turns of a dialogue, not information chunks: never penalised as redundant.
DIALOGUE_SOURCES = frozenset({"conversation", "input"})
TRUNCATION_MARK = " …[truncated]"


@dataclass
class Candidate:
    """An item with what selection needs to know about it."""

    item: ContextItem
    cost: int
    """Tokens it adds to the request when included."""
    shingles: frozenset[int]
    """Hashed word bigrams, for redundancy."""


@dataclass
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

    @property
    def included(self) -> list[ContextItem]:
        return [o.item for o in self.outcomes.values() if o.item is not None]


@dataclass
class _Unit:
    """Items kept or dropped together (one item, or all items sharing a group)."""

    members: list[Candidate]
    weight: float

    @property
    def cost(self) -> int:
        return sum(m.cost for m in self.members)

    @property
    def score(self) -> float:
        return max(m.item.score for m in self.members)

    @property
    def priority(self) -> int:
        return max(m.item.priority for m in self.members)

    @property
    def pinned(self) -> bool:
        return any(m.item.pinned for m in self.members)

    @property
    def sources(self) -> set[str]:
        return {m.item.source for m in self.members}

    @property
    def key(self) -> str:
        return self.members[0].item.id


def shingles(text: str) -> frozenset[int]:
    """Hashed lower-case word bigrams of ``text`` (unigrams for one-word texts)."""
    words = text.lower().split()
    if len(words) < 2:
        return frozenset(hash(w) for w in words)
    return frozenset(hash((a, b)) for a, b in zip(words, words[1:]))


def similarity(a: frozenset[int], b: frozenset[int]) -> float:
    """Jaccard similarity of two shingle sets."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter) if inter else 0.0


def select_within_budget(
    candidates: Sequence[Candidate],
    budget: Budget,
    *,
    section_cost: Callable[[str], int],
    base_cost: int,
    truncate: Callable[[Candidate, int], Candidate | None] | None = None,
    measure: Callable[[list[ContextItem]], int] | None = None,
) -> Selection:
    """Choose the candidates that fit ``budget``.

    ``section_cost(source)`` is the one-off cost of a source's section (its heading) once it holds
    an item, ``base_cost`` what every request spends. ``truncate(candidate, max_cost)`` may return a
    shortened copy costing at most ``max_cost`` tokens, or None. ``measure(items)`` gives the exact
    tokens of a rendered request of ``items``; it settles whether pinned items fit when the
    (deliberately conservative) estimate says they do not.
    """
    if base_cost > budget.available:
        raise BudgetError(
            f"a budget of {budget.available} tokens is below the {base_cost} tokens any request spends; raise it"
        )
    state = _State(budget, section_cost, base_cost)
    units = _units(candidates, budget)

    pinned = [u for u in units if u.pinned]
    for unit in pinned:
        state.take(unit, "pinned")
    if state.used > budget.available and measure is not None:
        state.used = measure([m.item for u in pinned for m in u.members])
    if state.used > budget.available:
        sizes = ", ".join(f"{m.item.id} ({m.cost} tokens)" for u in pinned for m in u.members)
        raise BudgetError(
            f"pinned items need {state.used} tokens (with request overhead) but the budget allows "
            f"{budget.available}: {sizes}. Unpin or shorten some of them, or raise the budget."
        )

    rest = [u for u in units if not u.pinned]
    for source, section in budget.sections.items():
        if section.floor:
            own = [u for u in rest if u.sources == {source}]
            state.greedy(own, until=lambda s=source, f=section.floor: state.by_source.get(s, 0) >= f, reason="section floor")
    state.greedy([u for u in rest if u.key not in state.decided], reason=None)

    if truncate is not None:
        state.truncate_best_dropped(rest, truncate)
    for unit in units:
        for member in unit.members:
            state.selection.outcomes.setdefault(
                member.item.id, Outcome(DecisionStatus.DROPPED, 0, state.drop_reasons.get(unit.key, "over budget"))
            )
    state.selection.used = state.used
    return state.selection


def _units(candidates: Sequence[Candidate], budget: Budget) -> list[_Unit]:
    grouped: dict[str, list[Candidate]] = {}
    units: list[_Unit] = []
    for c in candidates:
        if c.item.group is None:
            units.append(_Unit([c], budget.section(c.item.source).weight))
        elif c.item.group in grouped:
            grouped[c.item.group].append(c)
        else:
            grouped[c.item.group] = [c]
            units.append(_Unit(grouped[c.item.group], budget.section(c.item.source).weight))
    return units


class _State:
    def __init__(self, budget: Budget, section_cost: Callable[[str], int], base_cost: int) -> None:
        self.budget = budget
        self.section_cost = section_cost
        self.used = base_cost
        self.by_source: dict[str, int] = {}
        self.selected: list[Candidate] = []
        self.decided: set[str] = set()
        self.drop_reasons: dict[str, str] = {}
        self.selection = Selection()

    def extra_cost(self, unit: _Unit) -> int:
        """Tokens ``unit`` would add, its sections' one-off costs included."""
        new_sections = {s for s in unit.sources if s not in self.by_source}
        return unit.cost + sum(self.section_cost(s) for s in new_sections)

    def fits(self, unit: _Unit) -> str | None:
        """None if ``unit`` fits; otherwise why not."""
        for source in unit.sources:
            cap = self.budget.section(source).cap
            add = sum(m.cost for m in unit.members if m.item.source == source)
            if cap is not None and self.by_source.get(source, 0) + add > cap:
                return f"section cap of {source} ({cap} tokens) reached"
        if self.used + self.extra_cost(unit) > self.budget.available:
            return "over budget"
        return None

    def take(self, unit: _Unit, reason: str) -> None:
        self.used += self.extra_cost(unit)
        for m in unit.members:
            self.by_source[m.item.source] = self.by_source.get(m.item.source, 0) + m.cost
            self.selected.append(m)
            self.selection.outcomes[m.item.id] = Outcome(DecisionStatus.INCLUDED, m.cost, reason, m.item)
        self.decided.add(unit.key)

    def redundancy(self, unit: _Unit, since: int) -> tuple[float, str | None]:
        """The highest similarity of ``unit`` to items selected from index ``since`` on."""
        best, best_id = 0.0, None
        for member in unit.members:
            if member.item.source in DIALOGUE_SOURCES:
                continue
            for other in self.selected[since:]:
                if other.item.source in DIALOGUE_SOURCES:
                    continue
                sim = similarity(member.shingles, other.shingles)
                if sim > best:
                    best, best_id = sim, other.item.id
        return best, best_id

    def greedy(self, units: list[_Unit], *, reason: str | None, until: Callable[[], bool] | None = None) -> None:
        """Lazy greedy by (priority, utility per token), penalising redundancy with the selection."""
        penalty = self.budget.redundancy_penalty
        heap: list[tuple[int, float, float, str, int, int]] = []
        by_key = {u.key: u for u in units}
        max_sim: dict[str, tuple[float, str | None]] = {u.key: (0.0, None) for u in units}
        for i, u in enumerate(units):
            heapq.heappush(heap, (-u.priority, -_density(u, 0.0, penalty), -u.score, u.key, i, 0))
        while heap:
            if until is not None and until():
                return
            neg_priority, neg_density, neg_score, key, order, seen = heapq.heappop(heap)
            unit = by_key[key]
            if key in self.decided:
                continue
            if seen < len(self.selected):
                sim, sim_id = self.redundancy(unit, seen)
                if sim > max_sim[key][0]:
                    max_sim[key] = (sim, sim_id)
                if max_sim[key][0] >= DUPLICATE_SIMILARITY:
                    self.drop_reasons[key] = f"near-duplicate of {max_sim[key][1]} (similarity {max_sim[key][0]:.2f})"
                    self.decided.add(key)
                    continue
                density = _density(unit, max_sim[key][0], penalty)
                heapq.heappush(heap, (neg_priority, -density, neg_score, key, order, len(self.selected)))
                continue
            why_not = self.fits(unit)
            if why_not is not None:
                self.drop_reasons[key] = why_not
                continue
            sim, sim_id = max_sim[key]
            detail = reason or "utility per token"
            if sim > 0.2 and sim_id is not None:
                detail += f" (partly redundant with {sim_id}: {sim:.2f})"
            self.take(unit, detail)

    def truncate_best_dropped(self, units: list[_Unit], truncate: Callable[[Candidate, int], Candidate | None]) -> None:
        """Fit the best single-item unit that was dropped for space into what is left, shortened."""
        dropped = [
            u for u in units
            if u.key not in self.decided and len(u.members) == 1 and u.members[0].item.compressible
            and self.drop_reasons.get(u.key) == "over budget"
        ]
        dropped.sort(key=lambda u: (-u.priority, -u.score * u.weight, u.key))
        for unit in dropped[:1]:
            member = unit.members[0]
            source = member.item.source
            room = self.budget.available - self.used - self.extra_cost(unit) + unit.cost
            cap = self.budget.section(source).cap
            if cap is not None:
                room = min(room, cap - self.by_source.get(source, 0))
            if room - (member.cost - _content_share(member)) < self.budget.min_truncated_tokens:
                continue
            short = truncate(member, room)
            if short is None or short.cost > room:
                continue
            self.take(_Unit([short], unit.weight), "")
            self.selection.outcomes[member.item.id] = Outcome(
                DecisionStatus.TRUNCATED, short.cost, f"truncated from {member.cost} to {short.cost} tokens to fit", short.item
            )


def _density(unit: _Unit, sim: float, penalty: float) -> float:
    relevance = max(unit.score, 0.0) + 0.01
    return unit.weight * relevance * (1.0 - penalty * sim) / max(unit.cost, 1)


def _content_share(member: Candidate) -> int:
    # The part of an item's cost that is not fixed overhead: truncation can only shrink this part.
    return member.cost - 3 if member.item.source in DIALOGUE_SOURCES else member.cost - 1
