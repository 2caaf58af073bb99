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
import zlib
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
    shingles: tuple[int, ...]
    """A bottom-k sketch of its words, for redundancy (see ``shingles``)."""
    content_tokens: int
    """Tokens of its text alone: the part of ``cost`` that truncation can shrink."""


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


class _Unit:
    """Items kept or dropped together (one item, or all items sharing a group)."""

    __slots__ = ("members", "weight", "cost", "score", "priority", "pinned", "cost_by_source", "key")

    def __init__(self, members: list[Candidate], weight: float) -> None:
        self.members = members
        self.weight = weight
        self.key = members[0].item.id
        if len(members) == 1:  # the common case, kept cheap: this runs for every candidate
            only = members[0]
            self.cost, self.score, self.priority, self.pinned = only.cost, only.item.score, only.item.priority, only.item.pinned
            self.cost_by_source = {only.item.source: only.cost}
            return
        self.cost = sum(m.cost for m in members)
        self.score = max(m.item.score for m in members)
        self.priority = max(m.item.priority for m in members)
        self.pinned = any(m.item.pinned for m in members)
        self.cost_by_source: dict[str, int] = {}
        for m in members:
            self.cost_by_source[m.item.source] = self.cost_by_source.get(m.item.source, 0) + m.cost

    @property
    def sources(self) -> set[str]:
        return set(self.cost_by_source)


SKETCH_SIZE = 16
#: Sketch values held by more than this share of candidates (and at least COMMON_VALUE_MIN) are
#: not used to find similar pairs.
COMMON_VALUE_SHARE = 0.01
COMMON_VALUE_MIN = 8


def shingles(text: str) -> tuple[int, ...]:
    """A bottom-k sketch of ``text``: the ``SKETCH_SIZE`` smallest hashes of its lower-case word
    bigrams (unigrams for one-word texts). Two sketches estimate the texts' Jaccard similarity
    (Broder's bottom-k MinHash), at a fixed cost however long the texts are. The hash is CRC-32,
    not Python's per-process ``hash``, so a selection is the same in every run."""
    words = text.lower().split()
    grams = set(words) if len(words) < 2 else {f"{a} {b}" for a, b in zip(words, words[1:])}
    return tuple(sorted(zlib.crc32(g.encode("utf-8")) for g in grams)[:SKETCH_SIZE])


def similarity(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Estimated Jaccard similarity of the texts behind two sketches."""
    if not a or not b:
        return 0.0
    shared = set(a).intersection(b)
    if not shared:
        return 0.0
    union = sorted(set(a).union(b))[:SKETCH_SIZE]
    return sum(1 for h in union if h in shared) / len(union)


def select_within_budget(
    candidates: Sequence[Candidate],
    budget: Budget,
    *,
    section_cost: Callable[[str], int],
    base_cost: int,
    truncate: Callable[[Candidate, int], Candidate | None] | None = None,
    measure: Callable[[list[ContextItem]], int] | None = None,
    similarity_cache: dict[tuple[str, str], float] | None = None,
) -> Selection:
    """Choose the candidates that fit ``budget``.

    ``section_cost(source)`` is the one-off cost of a source's section (its heading) once it holds
    an item, ``base_cost`` what every request spends. ``truncate(candidate, max_cost)`` may return a
    shortened copy costing at most ``max_cost`` tokens, or None. ``measure(items)`` gives the exact
    tokens of a rendered request of ``items``; it settles whether pinned items fit when the
    (deliberately conservative) estimate says they do not. ``similarity_cache`` keeps pairwise
    similarities across calls, keyed by content hashes.
    """
    if base_cost > budget.available:
        raise BudgetError(
            f"a budget of {budget.available} tokens is below the {base_cost} tokens any request spends; raise it"
        )
    state = _State(budget, section_cost, base_cost, {} if similarity_cache is None else similarity_cache)
    units = _units(candidates, budget)
    state.register([u for u in units if not u.pinned])

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
    """One unit per ungrouped candidate and per group, in order of first appearance."""
    members: dict[str, list[Candidate]] = {}
    for c in candidates:
        members.setdefault(c.item.id if c.item.group is None else "\x00" + c.item.group, []).append(c)
    return [_Unit(group, budget.section(group[0].item.source).weight) for group in members.values()]


class _State:
    def __init__(
        self, budget: Budget, section_cost: Callable[[str], int], base_cost: int, pairs: dict[tuple[str, str], float]
    ) -> None:
        self.budget = budget
        self.pairs = pairs
        self.caps = {name: s.cap for name, s in budget.sections.items() if s.cap is not None}
        self.section_cost = section_cost
        self.used = base_cost
        self.by_source: dict[str, int] = {}
        self.selected: list[Candidate] = []
        # Sketch value -> the undecided candidates holding it: only items sharing a value can be
        # similar, so taking an item updates just those candidates' redundancy.
        self.postings: dict[int, list[tuple[_Unit, Candidate]]] = {}
        self.max_sim: dict[str, tuple[float, str | None]] = {}
        self.version: dict[str, int] = {}
        self.decided: set[str] = set()
        self.drop_reasons: dict[str, str] = {}
        self.selection = Selection()

    def extra_cost(self, unit: _Unit) -> int:
        """Tokens ``unit`` would add, its sections' one-off costs included."""
        cost = unit.cost
        for source in unit.cost_by_source:
            if source not in self.by_source:
                cost += self.section_cost(source)
        return cost

    def fits(self, unit: _Unit) -> str | None:
        """None if ``unit`` fits; otherwise why not."""
        for source, add in unit.cost_by_source.items():
            cap = self.caps.get(source)
            if cap is not None and self.by_source.get(source, 0) + add > cap:
                return f"section cap of {source} ({cap} tokens) reached"
        if self.used + self.extra_cost(unit) > self.budget.available:
            return "over budget"
        return None

    def register(self, units: list[_Unit]) -> None:
        """Index the sketches of candidates that may be penalised as redundant.

        A sketch value held by many candidates (a stock phrase) says little about whether two of
        them repeat each other, and near-duplicates share most of their values anyway; such values
        are left out of the index, which keeps the cost of each take small.
        """
        for unit in units:
            self.max_sim[unit.key] = (0.0, None)
            self.version[unit.key] = 0
            for m in unit.members:
                if m.item.source not in DIALOGUE_SOURCES:
                    for value in m.shingles:
                        self.postings.setdefault(value, []).append((unit, m))
        common = max(COMMON_VALUE_MIN, int(COMMON_VALUE_SHARE * len(units)))
        for value in [v for v, holders in self.postings.items() if len(holders) > common]:
            del self.postings[value]

    def take(self, unit: _Unit, reason: str) -> None:
        self.used += self.extra_cost(unit)
        for m in unit.members:
            self.by_source[m.item.source] = self.by_source.get(m.item.source, 0) + m.cost
            self.selected.append(m)
            self.selection.outcomes[m.item.id] = Outcome(DecisionStatus.INCLUDED, m.cost, reason, m.item)
        self.decided.add(unit.key)
        for m in unit.members:
            if m.item.source not in DIALOGUE_SOURCES:
                self._update_redundancy(m)

    def _update_redundancy(self, chosen: Candidate) -> None:
        """Raise the redundancy of every undecided candidate that resembles ``chosen``."""
        seen: set[int] = set()
        decided, pairs, max_sim = self.decided, self.pairs, self.max_sim
        for value in chosen.shingles:
            for unit, other in self.postings.get(value, ()):
                if unit.key in decided or id(other) in seen:
                    continue
                seen.add(id(other))
                a, b = chosen.item.content_hash, other.item.content_hash
                pair = (a, b) if a < b else (b, a)
                sim = pairs.get(pair)
                if sim is None:
                    sim = pairs[pair] = similarity(chosen.shingles, other.shingles)
                if sim > max_sim[unit.key][0]:
                    max_sim[unit.key] = (sim, chosen.item.id)
                    self.version[unit.key] += 1

    def greedy(self, units: list[_Unit], *, reason: str | None, until: Callable[[], bool] | None = None) -> None:
        """Lazy greedy by (priority, utility per token), penalising redundancy with the selection.

        A heap entry carries the redundancy version it was scored at; when the candidate has
        become more redundant since, it is re-scored and pushed back instead of taken.
        """
        penalty = self.budget.redundancy_penalty
        by_key = {u.key: u for u in units}
        heap = [
            (-u.priority, -_density(u, self.max_sim[u.key][0], penalty), -u.score, u.key, self.version[u.key])
            for u in units
        ]
        heapq.heapify(heap)
        while heap:
            if until is not None and until():
                return
            neg_priority, _, neg_score, key, version = heapq.heappop(heap)
            if key in self.decided:
                continue
            unit = by_key[key]
            sim, sim_id = self.max_sim[key]
            if version != self.version[key]:
                if sim >= DUPLICATE_SIMILARITY:
                    self.drop_reasons[key] = f"near-duplicate of {sim_id} (similarity {sim:.2f})"
                    self.decided.add(key)
                else:
                    heapq.heappush(heap, (neg_priority, -_density(unit, sim, penalty), neg_score, key, self.version[key]))
                continue
            why_not = self.fits(unit)
            if why_not is not None:
                self.drop_reasons[key] = why_not
                continue
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
            if room - (member.cost - member.content_tokens) < self.budget.min_truncated_tokens:
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
