"""The Orchestrator: from registered sources to the exact request a model sees, under a budget."""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Sequence
from typing import Any, TypeAlias

from contextos.blocking import run_blocking
from contextos.context._redundancy import NeighbourCache, shingles
from contextos.context._select import Candidate, Outcome, Selection, select_within_budget
from contextos.context.budget import Budget
from contextos.context.counters import counter_for_model
from contextos.context.items import (
    FULL_CONTENT,
    AssembledContext,
    ContextDecision,
    ContextItem,
    ContextUsage,
    DecisionStatus,
    SourceUsage,
    Step,
)
from contextos.context.render import Renderer
from contextos.context.source_names import CONVERSATION, TOOLS
from contextos.context.sources import Compressor, ContextSource, run_compressor
from contextos.context.tokens import (
    TOOLS_BLOCK_OVERHEAD,
    TiktokenCounter,
    TokenCounter,
    accounting,
)
from contextos.context.vllm_tokenize import ServerCheckedCounter
from contextos.errors import (
    BudgetError,
    ConfigError,
    ContextOSError,
    EmbeddingError,
    InvalidItemError,
    ModelError,
    SourceError,
    StoreError,
)
from contextos.tracing.conventions import assembly_span, record_assembly

LEFT_OUT = "contextos.left_out"
"""``metadata`` key marking an item a compressor left out (it stays a candidate, with score 0)."""

SOURCE_TIMEOUT_S = 60.0
"""Seconds a source may take to propose its candidates before the step goes on without it."""

OUTAGES: tuple[type[ContextOSError], ...] = (StoreError, EmbeddingError, ModelError)
"""contextos errors that a source's store or model may raise one step and not the next: like a crash
or a timeout, they cost the source's items, not the step. Other contextos errors (a bad filter, a bad
item) are the caller's to fix and raise ``SourceError``."""

MEASURED_CACHE_SIZE = 200_000
"""Items whose costs and sketches an orchestrator remembers (then it starts afresh)."""

Rendered: TypeAlias = tuple[list[ContextItem], list[dict[str, Any]], list[dict[str, Any]]]
"""The included items in render order, the request's messages and its tools."""


class Orchestrator:
    """Gathers candidates from sources, compresses, selects within the budget and renders.

    ```python
    >>> from contextos import Budget, InputSource, InstructionsSource, Step
    >>> orchestrator = Orchestrator(
    ...     [InstructionsSource("You are terse."), InputSource()], Budget(context_window=4096), model="gpt-4o"
    ... )
    >>> assembled = orchestrator.build_sync(Step(input="What is 2 + 2?"))
    >>> assembled.messages
    [{'role': 'system', 'content': 'You are terse.'}, {'role': 'user', 'content': 'What is 2 + 2?'}]
    >>> assembled.usage.request_tokens, assembled.usage.counted_with
    (21, 'tiktoken:o200k_base')
    >>> [(d.id, d.status.value, d.reason) for d in assembled.decisions]
    [('instructions', 'included', 'pinned'), ('input-0', 'included', 'pinned')]

    ```

    Tokens are counted as ``model`` counts them (``counter_for_model``; docs/tokens.md), or by
    ``counter``; with neither, they are an estimate, flagged in every ``usage``.
    """

    def __init__(
        self,
        sources: Sequence[ContextSource],
        budget: Budget,
        *,
        counter: TokenCounter | None = None,
        model: str | None = None,
        compressors: Sequence[Compressor] = (),
        renderer: Renderer | None = None,
        source_timeout_s: float | None = None,
    ) -> None:
        _check_setup(sources, budget)
        names = [s.name for s in sources]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(
                f"sources must have distinct names; {duplicates} appear more than once"
            )
        if sources:  # without sources, items come through assemble() and name their own sources
            budget.check_sections(names)
        self.sources = list(sources)
        self.budget = budget
        # Counted as the model counts (``counter_for_model``); with neither a counter nor a model,
        # the counts are an estimate, said in a warning and in every assembly's usage.
        self.counter = counter or counter_for_model(model)
        self.compressors = list(compressors)
        self.renderer = renderer or Renderer()
        source_timeout_s = SOURCE_TIMEOUT_S if source_timeout_s is None else source_timeout_s
        if (
            isinstance(source_timeout_s, bool)
            or not isinstance(source_timeout_s, (int, float))
            or not 0 < source_timeout_s < float("inf")
        ):
            raise ConfigError(
                f"source_timeout_s must be a positive number of seconds, got {source_timeout_s!r}"
            )
        self.source_timeout_s = float(source_timeout_s)
        """Seconds each source may take; a slower or failing one is left out of the step, and said so."""
        # Per (content, source, role): the last candidate made of such an item for each payload, whose
        # cost, content tokens and sketch serve every item with the same key and payload.
        self._measured: dict[tuple[str, str, str], list[Candidate]] = {}
        self._renderings = 0  # numbers the distinct renderings measured (Candidate.key)
        self._neighbours = NeighbourCache()

    async def gather(self, step: Step) -> list[ContextItem]:
        """Every source's candidates for ``step``, sources run concurrently; a source that fails or
        takes longer than ``source_timeout_s`` is left out (``build`` records it in the decisions)."""
        return (await self._gather(step))[0]

    async def _gather(self, step: Step) -> tuple[list[ContextItem], list[ContextDecision]]:
        async def one(source: ContextSource) -> tuple[Sequence[ContextItem], str | None]:
            try:
                return await asyncio.wait_for(source.candidates(step), self.source_timeout_s), None
            except TimeoutError:
                return (), f"did not answer within {self.source_timeout_s:g} s"
            except Exception as exc:
                # the caller's mistake: say so
                if isinstance(exc, ContextOSError) and not isinstance(exc, OUTAGES):
                    raise SourceError(
                        f"source {source.name!r} failed: {type(exc).__name__}: {exc}"
                    ) from exc
                # costs its items, not the step
                return (
                    (),
                    f"failed ({type(exc).__name__}: {str(exc)[:200]})",
                )

        results = await asyncio.gather(*(one(s) for s in self.sources))
        left_out = [
            ContextDecision(
                f"{source.name}:unavailable",
                source.name,
                DecisionStatus.DROPPED,
                0,
                0,
                0.0,
                f"source {source.name!r} {why}; the step went on without its items",
            )
            for source, (_, why) in zip(self.sources, results)
            if why is not None
        ]
        return [item for items, _ in results for item in items], left_out

    async def build(self, step: Step) -> AssembledContext:
        """Assemble the context for ``step`` (one ``contextos.assemble`` span, gathering included)."""
        with assembly_span(step) as span:
            items, left_out = await self._gather(step)
            assembled = await self._assemble(items, step)
            assembled.decisions.extend(left_out)
            record_assembly(span, assembled)
        return assembled

    def build_sync(self, step: Step) -> AssembledContext:
        """``build`` for code that is not async (inside a running event loop, ``await orchestrator.build(...)``)."""
        return run_blocking(
            lambda: self.build(step), "Orchestrator.build_sync()", "await orchestrator.build(...)"
        )

    async def assemble(
        self, items: Sequence[ContextItem], step: Step | None = None
    ) -> AssembledContext:
        """Compress, select and render given candidates (``build`` without the sources)."""
        step = step or Step()
        with assembly_span(step) as span:
            assembled = await self._assemble(items, step)
            record_assembly(span, assembled)
        return assembled

    async def _assemble(self, items: Sequence[ContextItem], step: Step) -> AssembledContext:
        _check_unique(items)
        given = list(items)
        compressed = await self._compress(given, step)
        # What a compressor replaced, by id: decisions report an item's size before and after.
        originals = (
            {}
            if compressed is given
            else {a.id: a for a, b in zip(items, compressed) if a is not b}
        )
        # The conversation is walked from its newest turn back: only the turns reached are measured.
        turns = _in_render_order([item for item in compressed if item.source == CONVERSATION])
        candidates = [self._candidate(item) for item in compressed if item.source != CONVERSATION]
        selection = select_within_budget(
            candidates,
            self.budget,
            section_cost=lambda s: self.renderer.section_cost(s, self.counter),
            base_cost=self.renderer.base_cost(self.counter),
            truncate=self._truncate,
            measure=lambda chosen: self.counter.count_request(*self.renderer.render(chosen)),
            neighbour_cache=self._neighbours,
            turns=turns,
            turn_candidate=self._candidate,
        )
        candidates.extend(selection.examined_turns)
        ordered, messages, tools = self._render_within_budget(selection, candidates)
        if isinstance(self.counter, ServerCheckedCounter):
            ordered, messages, tools = await self._checked_by_server(
                selection, candidates, ordered, messages, tools
            )
        return self._result(originals, candidates, selection, ordered, messages, tools)

    async def _checked_by_server(
        self,
        selection: Selection,
        candidates: list[Candidate],
        ordered: list[ContextItem],
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
    ) -> Rendered:
        """The final request counted by the vLLM server (the authority) when the local count is an
        estimate or close to the limit; while the server counts more than the budget, the local
        limit shrinks by the server's excess ratio and the request is rendered again."""
        counter = self.counter
        assert isinstance(counter, ServerCheckedCounter)
        available = limit = self.budget.available
        for attempt in range(4):
            if attempt == 0 and not counter.needs_check(selection.used, available):
                return ordered, messages, tools
            served = await counter.checked_count(messages, tools)
            if served is None:  # the server could not answer: warned once, the local count stands
                return ordered, messages, tools
            if served <= available:
                selection.used = served
                return ordered, messages, tools
            # The server counts more than the local counter: shrink the local limit by the same ratio.
            limit = min(limit, selection.used * available // served) - 1
            ordered, messages, tools = self._render_within_budget(selection, candidates, limit)
        raise BudgetError(
            f"the vLLM server still counts {served} tokens for this request, over the budget of {available}, "
            f"after shrinking it four times; check that contextos counts with the served model's tokenizer"
        )

    # ---------------------------------------------------------------------------------------

    async def _compress(self, items: list[ContextItem], step: Step) -> list[ContextItem]:
        """Shorten each source's compressible items toward its share of the room left, where they
        do not fit it (only there does compression pay), with ``step.input`` as the query. Selection
        then decides as usual, so a decision records both; an item a compressor left out stays as
        it was, for selection to drop."""
        if not self.compressors:
            return items
        groups: dict[str, list[ContextItem]] = {}
        fixed = 0
        for item in items:
            if item.compressible and not item.pinned:
                groups.setdefault(item.source, []).append(item)
            else:
                fixed += self._candidate(item).cost
        sections = sum(
            self.renderer.section_cost(s, self.counter) for s in {i.source for i in items}
        )
        room = self.budget.available - self.renderer.base_cost() - sections - fixed
        wanted = {
            source: sum(self._candidate(i).cost for i in group) for source, group in groups.items()
        }
        total = sum(wanted.values())
        replaced: dict[str, ContextItem] = {}
        for source, group in groups.items():
            share = max(0, room) * wanted[source] // total if total > room else wanted[source]
            cap = self.budget.section(source).cap
            share = min(share, cap) if cap is not None else share
            overhead = sum(
                self._candidate(i).cost - self._candidate(i).content_tokens for i in group
            )
            # Compressors count text; rendering adds each kept item's overhead (all of it, at worst).
            target = share - overhead
            if wanted[source] <= share or target < 1:
                continue
            offered = group
            for compressor in self.compressors:
                results = await run_compressor(
                    compressor, group, step.input, target, counter=self.counter, source=source
                )
                group = [r.item for r in results if r.item is not None]
                replaced.update((i.id, i) for i in group)
                if sum(self._candidate(i).content_tokens for i in group) <= target:
                    break
            # What the compressors left out stays a candidate, but last in line: kept only where room is
            # left once what they kept is in (else an untouched item could crowd out the shortened one).
            kept = {i.id for i in group}
            replaced.update(
                (
                    i.id,
                    i.model_copy(update={"score": 0.0, "metadata": {**i.metadata, LEFT_OUT: True}}),
                )
                for i in offered
                if i.id not in kept
            )
        return [replaced.get(i.id, i) for i in items]

    def _candidate(self, item: ContextItem) -> Candidate:
        # Keyed by the text itself (Python caches a string's hash), payloads compared for equality:
        # sources that build their items anew at every step (as memory and tool sources do) find their
        # costs and sketches here without hashing every item's content again.
        key = (item.content, item.source, item.role)
        seen = self._measured.get(key)
        if seen and seen[0].item is item:  # a source returning the same item as before
            return seen[0]
        if seen is None:
            if len(self._measured) >= MEASURED_CACHE_SIZE:
                self._measured.clear()
            seen = self._measured[key] = []
        for n, known in enumerate(seen):
            if known.item is item:  # a source returning the same item as before
                return known
            if known.item.payload == item.payload:
                seen[n] = known = Candidate(
                    item, known.cost, known.shingles, known.content_tokens, known.key
                )
                return known
        content_tokens = self.counter.count(item.content)
        self._renderings += 1
        known = Candidate(
            item,
            self.renderer.item_cost(item, self.counter, content_tokens),
            shingles(item.content),
            content_tokens,
            self._renderings,
        )
        seen.append(known)  # one per payload: tools may share a description
        return known

    def _truncate(self, candidate: Candidate, max_cost: int) -> Candidate | None:
        """The longest prefix of the item's text (cut at a word) that, with a note of what was cut, costs at
        most ``max_cost``. The shortened item keeps the full text in its metadata (``FULL_CONTENT``)."""
        item = candidate.item
        text = item.content
        metadata = {**item.metadata, FULL_CONTENT: item.metadata.get(FULL_CONTENT, text)}
        lo, hi, best = 0, len(text), None
        while lo <= hi:
            mid = (lo + hi) // 2
            cut = text[:mid].rsplit(" ", 1)[0] if mid < len(text) else text
            if not cut.strip():
                lo = mid + 1
                continue
            note = truncation_note(
                text,
                cut,
                candidate.content_tokens - self.counter.count(cut),
                candidate.content_tokens,
            )
            short = self._candidate(item.with_content(cut + note, metadata=metadata))
            if short.cost <= max_cost:
                best, lo = short, mid + 1
            else:
                hi = mid - 1
        return best

    def _render_within_budget(
        self, selection: Selection, candidates: list[Candidate], limit: int | None = None
    ) -> Rendered:
        """Render (the included items in render order, messages, tools); if tokenizer merges across
        joins push the request over budget (or ``limit``), drop and retry."""
        limit = self.budget.available if limit is None else limit
        while True:
            ordered = self.renderer.render_order(selection.included)
            messages, tools = self.renderer.layout(ordered)
            actual = self._request_tokens(messages, tools, ordered)
            if actual <= limit:
                selection.used = actual
                return ordered, messages, tools
            by_id = {c.item.id: c for c in candidates}
            # The least useful other item goes first; the conversation only from its oldest kept turn.
            droppable = [
                (1, 0, o.item.position or 0, i)
                if o.item.source == CONVERSATION
                else (0, o.item.priority, o.item.score / max(by_id[i].cost, 1), i)
                for i, o in selection.outcomes.items()
                if o.item is not None
                and o.reason != "pinned"  # pinned directly or through its group
            ]
            if not droppable:  # pinned alone fit by estimate but not as rendered
                raise BudgetError(
                    f"pinned items need {actual} tokens once rendered but the budget allows {limit}; "
                    "raise the budget or shorten them"
                )
            victim = min(droppable)[-1]
            victim_item = selection.outcomes[victim].item
            group = victim_item.group if victim_item is not None else None
            for item_id, outcome in list(selection.outcomes.items()):
                if item_id == victim or (
                    group is not None and outcome.item is not None and outcome.item.group == group
                ):
                    selection.outcomes[item_id] = Outcome(
                        DecisionStatus.DROPPED,
                        0,
                        f"over budget once rendered ({actual} > {limit} tokens)",
                    )

    def _request_tokens(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        ordered: list[ContextItem],
    ) -> int:
        """Exact tokens of the rendered request.

        With the default counter and renderer, a tools block costs its overhead plus each tool
        item's cost, which is that same count (``count_tool`` of the item's schema) cached by
        content hash: encoding every schema to JSON again was a tenth of a warm step. Other
        counters and renderers count the whole request.
        """
        if (
            not tools
            or type(self.counter) is not TiktokenCounter
            or type(self.renderer) is not Renderer
        ):
            return self.counter.count_request(messages, tools)
        schemas = sum(self._candidate(item).cost for item in ordered if item.source == TOOLS)
        return self.counter.count_request(messages, None) + TOOLS_BLOCK_OVERHEAD + schemas

    def _result(
        self,
        originals: dict[str, ContextItem],
        candidates: list[Candidate],
        selection: Selection,
        ordered: list[ContextItem],
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
    ) -> AssembledContext:
        counts: dict[str, list[int]] = {}  # source -> [offered, offered tokens, kept, kept tokens]
        decisions = []
        outcomes = selection.outcomes
        for c in candidates:
            item = c.item
            outcome = outcomes[item.id]
            status, reason, before = outcome.status, outcome.reason, c.cost
            original = originals.get(item.id) if originals else None
            if original is not None and item.metadata.get(LEFT_OUT):
                reason = f"left out by the compressor (score set to 0), then {reason}"
            elif original is not None:
                before = self._candidate(original).cost
                if status is DecisionStatus.INCLUDED:
                    status, reason = (
                        DecisionStatus.COMPRESSED,
                        f"compressed from {before} to {c.cost} tokens; {reason}",
                    )
                else:
                    reason = f"compressed from {before} to {c.cost} tokens, then {reason}"
            decisions.append(
                ContextDecision(
                    item.id, item.source, status, before, outcome.tokens_after, item.score, reason
                )
            )
            n = counts.get(item.source)
            if n is None:
                n = counts[item.source] = [0, 0, 0, 0]
            n[0] += 1
            n[1] += before
            if outcome.item is not None:
                n[2] += 1
                n[3] += outcome.tokens_after
        usage = {
            source: SourceUsage(offered=n[0], offered_tokens=n[1], kept=n[2], kept_tokens=n[3])
            for source, n in counts.items()
        }
        if selection.left_out_turns:
            conversation = usage.setdefault(CONVERSATION, SourceUsage())
            conversation.offered += len(selection.left_out_turns)
            conversation.unexamined = len(selection.left_out_turns)
        counted = accounting(self.counter)  # what counted: its name, and whether it estimates
        return AssembledContext(
            messages=messages,
            tools=tools,
            decisions=decisions,
            usage=ContextUsage(
                budget=self.budget.available,
                request_tokens=selection.used,
                per_source=usage,
                counted_with=counted.counted_with,
                estimated=counted.estimated,
            ),
            items=ordered,
        )


def truncation_note(text: str, kept: str, cut_tokens: int, tokens: int) -> str:
    """The visible note at the end of a shortened text: how much was cut, and where the rest is."""
    lines = text.count("\n") + 1
    where = f", from line {kept.count(chr(10)) + 1} of {lines}" if lines > 1 else ""
    return f" …[{cut_tokens} of {tokens} tokens cut{where}; the full text is in the trace]"


def _in_render_order(turns: list[ContextItem]) -> list[ContextItem]:
    """Conversation turns in the order they render (by position, then id): as stores keep them, mostly."""
    positions = [t.position for t in turns if t.position is not None]
    if len(positions) == len(turns) and all(map(operator.lt, positions, positions[1:])):
        return turns
    return sorted(turns, key=lambda t: (t.position is None, t.position or 0, t.id))


def _check_setup(sources: Sequence[ContextSource], budget: Budget) -> None:
    if not isinstance(budget, Budget):
        raise ConfigError(
            f"budget must be a Budget(context_window=...), got {type(budget).__name__}"
        )
    for source in sources:
        if not isinstance(source, ContextSource) or not isinstance(source.name, str):
            raise ConfigError(
                f"a source needs a text `name` and a `candidates(step)` method, got {type(source).__name__}"
            )


def _check_unique(items: Sequence[ContextItem]) -> None:
    # Set and map passes run in C: a conversation of thousands of turns is checked at every step.
    if set(map(type, items)) - {ContextItem}:
        for item in items:
            if not isinstance(item, ContextItem):
                raise InvalidItemError(
                    f"sources must return ContextItem objects, got {type(item).__name__}"
                )
    if len(set(map(_ID, items))) == len(items):
        return
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise InvalidItemError(
                f"two candidate items share the id {item.id!r}; ids must be unique within a step "
                "(prefix them with the source name)"
            )
        seen.add(item.id)


_ID = operator.attrgetter("id")
