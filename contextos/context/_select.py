"""Choosing what fits: pinned items, the newest turns, section floors, then utility per token.

The value of a chunk of context is not independent of the others chosen with it, nor monotonic
in their number (CORAG, "A Cost-Constrained Retrieval Optimization System for RAG", Wang et al.
2024). Selection therefore re-scores each candidate against what is already selected: an item
that repeats a selected one loses utility in proportion to their overlap, and a near-duplicate is
dropped outright. Since penalties only grow as the selection grows, a lazy greedy (re-score the top
of the heap, take it if it still leads) gives the same result as re-scoring everything each round.

Relevance is compared on one scale across sources (``scale.py``). The conversation is kept as a
contiguous newest suffix of whole blocks whose roles alternate (``dialogue.py``): its newest block
is never dropped while it fits once its longest results are shortened, and the older blocks join
the greedy one at a time, newest first, so the walk stops at the first block that does not fit.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from contextos.context._dialogue import (
    Chain,
    Dialogue,
    alternate,
    keep_newest,
    taken_run,
)
from contextos.context._redundancy import NeighbourCache, Neighbours, neighbours
from contextos.context._units import Candidate, Outcome, Selection, Unit, make_units, render_key
from contextos.context.budget import Budget
from contextos.context.items import ContextItem, DecisionStatus
from contextos.context.source_names import CONVERSATION, MESSAGE_SOURCES
from contextos.errors import BudgetError

__all__ = ["Candidate", "Outcome", "Selection", "select_within_budget"]

#: Items at least this similar (word-bigram Jaccard) to a selected item are dropped as duplicates.
DUPLICATE_SIMILARITY = 0.9
INCLUDED = DecisionStatus.INCLUDED


def select_within_budget(
    candidates: Sequence[Candidate],
    budget: Budget,
    *,
    section_cost: Callable[[str], int],
    base_cost: int,
    truncate: Callable[[Candidate, int], Candidate | None] | None = None,
    measure: Callable[[list[ContextItem]], int] | None = None,
    neighbour_cache: NeighbourCache | None = None,
    turns: Sequence[ContextItem] | None = None,
    turn_candidate: Callable[[ContextItem], Candidate] | None = None,
) -> Selection:
    """Choose the candidates that fit ``budget``.

    ``section_cost(source)`` is the one-off cost of a source's section (its heading) once it holds
    an item, ``base_cost`` what every request spends. ``truncate(candidate, max_cost)`` may return a
    shortened copy costing at most ``max_cost`` tokens, or None. ``measure(items)`` gives the exact
    tokens of a rendered request of ``items``; it settles whether pinned items fit when the
    (deliberately conservative) estimate says they do not. ``neighbour_cache`` keeps which
    candidates resemble which across calls.

    The conversation: either its candidates are among ``candidates``, or ``turns`` gives its items in
    render order and ``turn_candidate(item)`` measures one when the walk from the newest back reaches it
    (so turns older than what can fit are never measured).
    """
    if base_cost > budget.available:
        raise BudgetError(
            f"a budget of {budget.available} tokens is below the {base_cost} tokens any request spends; raise it"
        )
    if turns is None:
        others = [c for c in candidates if c.item.source != CONVERSATION]
        measured = {id(c.item): c for c in candidates if c.item.source == CONVERSATION}
        turns = sorted((c.item for c in measured.values()), key=render_key)
        turn_candidate = lambda item: measured[id(item)]  # noqa: E731
    else:
        others = list(candidates)
    foreign = {c.item.group for c in others if c.item.group is not None}
    moved: list[Candidate] = []
    # a group spanning sources: kept as one ordinary unit
    if foreign and any(t.group in foreign for t in turns):
        moved = [turn_candidate(t) for t in turns if t.group in foreign]  # type: ignore[misc]
        others += moved
        turns = [t for t in turns if t.group not in foreign]
    state = State(budget, section_cost, base_cost)
    units = make_units(others, budget)
    state.register(others, units, neighbour_cache)
    chain = Chain(Dialogue(turns), turn_candidate, budget.section(CONVERSATION).weight)  # type: ignore[arg-type]

    pinned = [u for u in units if u.pinned]
    if chain.dialogue.pinned_block is not None:
        block = chain.block(chain.dialogue.pinned_block)
        assert block is not None  # the block of a pinned turn exists
        pinned.append(block)
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

    protected = keep_newest(state, chain, truncate, measure)
    rest = [u for u in units if not u.pinned]
    for source, section in budget.sections.items():
        if section.floor:
            own = [
                u for u in rest if len(u.cost_by_source) == 1 and u.cost_by_source[0][0] == source
            ]
            state.greedy(
                own,
                until=partial(state.source_reached, source, section.floor),
                reason="section floor",
                chain=chain if source == CONVERSATION else None,
            )
    state.greedy([u for u in rest if not u.decided], reason=None, chain=chain)

    # the conversation keeps whole blocks: only its newest may be shortened
    if truncate is not None:
        state.truncate_best_dropped(rest, truncate)
    alternate(state, chain, protected)
    outcomes = state.selection.outcomes
    for unit in [*units, *chain.blocks]:
        for member in unit.members:
            if member.item.id not in outcomes:
                outcomes[member.item.id] = Outcome(DecisionStatus.DROPPED, 0, unit.drop_reason)
    state.selection.used = state.used
    first_examined = len(turns) - chain.dialogue.considered
    state.selection.left_out_turns = turns[:first_examined]
    state.selection.examined_turns = moved + [turn_candidate(t) for t in turns[first_examined:]]  # type: ignore[misc]
    return state.selection


class State:
    def __init__(self, budget: Budget, section_cost: Callable[[str], int], base_cost: int) -> None:
        self.budget = budget
        self.available = budget.available
        self.caps = {name: s.cap for name, s in budget.sections.items() if s.cap is not None}
        self.section_cost = section_cost
        self.section_costs: dict[str, int] = {}
        self.used = base_cost
        self.by_source: dict[str, int] = {}
        # The candidates that can be redundant (not dialogue), numbered 0..; per number, the
        # (number, similarity) of those it resembles: taking an item updates just their redundancy.
        self.neighbours: Neighbours = []
        self.number_of: list[int] = []
        """Per candidate position, its number among those (-1 for dialogue)."""
        self.unit_of: list[Unit] = []
        """Per number, its unit."""
        self.selection = Selection()

    def section(self, source: str) -> int:
        """The one-off cost of ``source``'s section."""
        cost = self.section_costs.get(source)
        if cost is None:
            cost = self.section_costs[source] = self.section_cost(source)
        return cost

    def extra_cost(self, unit: Unit) -> int:
        """Tokens ``unit`` would add, its sections' one-off costs included."""
        return unit.cost + sum(
            self.section(s) for s, _ in unit.cost_by_source if s not in self.by_source
        )

    def assess(self, unit: Unit) -> tuple[int, str | None]:
        """The tokens ``unit`` would add (``extra_cost``), and why it does not fit (None if it does)."""
        extra = unit.cost
        by_source, caps = self.by_source, self.caps
        for source, add in unit.cost_by_source:
            have = by_source.get(source)
            if caps:
                cap = caps.get(source)
                if cap is not None and (have or 0) + add > cap:
                    return extra, f"section cap of {source} ({cap} tokens) reached"
            if have is None:
                extra += self.section(source)
        return extra, ("over budget" if self.used + extra > self.available else None)

    def register(
        self, candidates: Sequence[Candidate], units: list[Unit], cache: NeighbourCache | None
    ) -> None:
        """Find which candidates resemble which (``redundancy.neighbours``).

        Dialogue turns are neither penalised nor penalise others; pinned items penalise the rest
        but do not count towards how common a sketch value is.
        """
        positions = [n for n, c in enumerate(candidates) if c.item.source not in MESSAGE_SOURCES]
        self.number_of = [-1] * len(candidates)
        for number, position in enumerate(positions):
            self.number_of[position] = number
        unit_at = {position: unit for unit in units for position in unit.indices}
        self.unit_of = [unit_at[p] for p in positions]
        sketches = [candidates[p].shingles for p in positions]
        counted = tuple(not unit.pinned for unit in self.unit_of)
        free = sum(1 for u in units if not u.pinned)
        if cache is None:
            self.neighbours = neighbours(sketches, counted, free)
        else:
            hashes = tuple(
                c.key if c.key is not None else c.item.content_hash
                for c in (candidates[p] for p in positions)
            )
            self.neighbours = cache.get(hashes, sketches, counted, free)

    def take(self, unit: Unit, reason: str, extra: int | None = None) -> None:
        """Include ``unit`` (adding ``extra`` tokens, ``extra_cost`` when not given), and raise the
        redundancy of every undecided candidate that resembles one of its members."""
        self.used += self.extra_cost(unit) if extra is None else extra
        by_source, outcomes, unit_of, number_of = (
            self.by_source,
            self.selection.outcomes,
            self.unit_of,
            self.number_of,
        )
        unit.decided = unit.taken = True
        for m in unit.members:
            item, cost = m.item, m.cost
            source = item.source
            by_source[source] = by_source.get(source, 0) + cost
            outcomes[item.id] = Outcome(INCLUDED, cost, reason, item)
        for position, m in zip(unit.indices, unit.members):
            number = number_of[position]
            if number < 0:
                continue
            for other, sim in self.neighbours[number]:
                similar = unit_of[other]
                if not similar.decided and sim > similar.sim:
                    similar.sim, similar.sim_id = sim, m.item.id
                    similar.version += 1

    def untake(self, unit: Unit, reason: str) -> None:
        """Leave out a conversation block taken before (its sections, message sources, cost nothing once)."""
        outcomes = self.selection.outcomes
        for m in unit.members:
            self.used -= outcomes[m.item.id].tokens_after
            self.by_source[m.item.source] -= outcomes[m.item.id].tokens_after
            del outcomes[m.item.id]
        unit.drop_reason, unit.taken = reason, False

    def source_reached(self, source: str, tokens: int) -> bool:
        """Whether the included items of ``source`` hold at least ``tokens`` tokens."""
        return self.by_source.get(source, 0) >= tokens

    def greedy(
        self,
        units: list[Unit],
        *,
        reason: str | None,
        until: Callable[[], bool] | None = None,
        chain: Chain | None = None,
    ) -> None:
        """Lazy greedy by (priority, utility per token), penalising redundancy with the selection.

        An entry carries the redundancy version it was scored at; when the candidate has become
        more redundant since, it is re-scored, and put back unless it still leads. Redundancy only
        lowers a score, so entries only ever move later: the entries sit in one sorted list, the
        few re-scored ones in a heap beside it, and the next to consider is the smaller head.
        With a ``chain``, its next conversation block waits in the heap too; taking it brings in the
        block before it, and the first that does not fit ends the walk.
        """
        penalty = self.budget.redundancy_penalty
        # Keys are unique, so comparisons never reach the unit at the end of an entry.
        entries = sorted(
            (-u.priority, -u.value * (1.0 - penalty * u.sim), -u.score, u.key, u.version, u)
            for u in units
        )
        rescored_heap: list[tuple[Any, ...]] = []

        def offer(block: Unit | None) -> None:
            if block is not None:
                heapq.heappush(
                    rescored_heap,
                    (-block.priority, -block.value, -block.score, block.key, block.version, block),
                )

        if chain is not None and chain.stopped is None and chain.blocks and chain.blocks[0].taken:
            offer(chain.next_after(taken_run(chain)))
        plain = reason or "utility per token"
        i, n = 0, len(entries)
        while i < n or rescored_heap:
            if until is not None and until():
                return
            if rescored_heap and (i == n or rescored_heap[0] < entries[i]):
                neg_priority, _, neg_score, key, version, unit = heapq.heappop(rescored_heap)
            else:
                neg_priority, _, neg_score, key, version, unit = entries[i]
                i += 1
            if unit.decided:
                continue
            sim, sim_id = unit.sim, unit.sim_id
            if version != unit.version:
                if sim >= DUPLICATE_SIMILARITY:
                    unit.drop_reason = f"near-duplicate of {sim_id} (similarity {sim:.2f})"
                    unit.decided = True
                    continue
                rescored = (
                    neg_priority,
                    -unit.density(sim, penalty),
                    neg_score,
                    key,
                    unit.version,
                    unit,
                )
                if (i < n and entries[i] < rescored) or (
                    rescored_heap and rescored_heap[0] < rescored
                ):
                    heapq.heappush(rescored_heap, rescored)
                    continue
                # Re-scored, it still leads: take it now rather than put it back and pick it again.
            extra, why_not = self.assess(unit)
            if why_not is not None:
                unit.drop_reason = why_not
                if unit.block >= 0 and chain is not None:
                    chain.stop(unit.block, why_not)
                continue
            if unit.block >= 0 and chain is not None:
                self.take(unit, "the conversation's newest turns, in order", extra)
                offer(chain.next_after(unit.block))
            elif sim > 0.2 and sim_id is not None:
                self.take(unit, f"{plain} (partly redundant with {sim_id}: {sim:.2f})", extra)
            else:
                self.take(unit, plain, extra)

    def truncate_best_dropped(
        self, units: list[Unit], truncate: Callable[[Candidate, int], Candidate | None]
    ) -> None:
        """Fit the best unit that was dropped for space into what is left, its longest compressible item
        shortened: one item, or a group (a tool call kept whole with its longest result cut)."""
        dropped = [
            u
            for u in units
            if not u.decided
            and (u.drop_reason == "over budget" or u.drop_reason.startswith("section cap"))
            and any(m.item.compressible for m in u.members)
        ]
        dropped.sort(key=lambda u: (-u.priority, -u.score * u.weight, u.key))
        for unit in dropped[:1]:
            member = max((m for m in unit.members if m.item.compressible), key=lambda m: m.cost)
            source = member.item.source
            rest = unit.cost - member.cost  # the members that stay whole
            room = self.available - self.used - self.extra_cost(unit) + unit.cost - rest
            cap = self.budget.section(source).cap
            if cap is not None:
                # the rest, in this section
                whole = sum(c for s, c in unit.cost_by_source if s == source) - member.cost
                room = min(room, cap - self.by_source.get(source, 0) - whole)
            if room - (member.cost - member.content_tokens) < self.budget.min_truncated_tokens:
                continue
            short = truncate(member, room)
            if short is None or short.cost > room:
                continue
            shortened = Unit(
                tuple(short if m is member else m for m in unit.members),
                unit.indices,
                unit.weight,
                unit.score,
                unit.block,
            )
            # a cap of another source among a mixed group's members
            if self.assess(shortened)[1] is not None:
                continue
            self.take(shortened, f"kept with {member.item.id}, truncated to fit")
            self.selection.outcomes[member.item.id] = Outcome(
                DecisionStatus.TRUNCATED,
                short.cost,
                f"truncated from {member.cost} to {short.cost} tokens to fit",
                short.item,
            )
