"""``MemorySource``: per step, the memories most relevant to the step's input, scored, as candidates."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from contextos.context.items import ContextItem, Step
from contextos.context.source_names import MEMORY
from contextos.errors import MemoryStoreError
from contextos.memory.records import Filters, MemoryHit, MemoryStore

DEFAULT_MIN_SIMILARITY = 0.25
"""The relevance floor: a memory whose indexed text has a lower cosine similarity to the step's
input is not offered, however many of the ``k`` slots are free. 0.25 is about the 99th percentile
of all-MiniLM-L6-v2 (the default embedder) similarity between unrelated texts (tool requests
against LoCoMo turns: ``python benchmarks/memory.py null-similarity``); with another embedder,
pass a floor on its own scale."""


def _default_format(hit: MemoryHit) -> str:
    when = datetime.fromtimestamp(hit.record.created_at, tz=UTC).strftime("%Y-%m-%d")
    return f"[{when}] {hit.record.content}"


class MemorySource:
    """Proposes up to ``k`` memories per store for each step; the orchestrator's budget decides what enters.

    ```python
    source = MemorySource([long_term, episodes_as_store], k=8, filters=lambda step: {"user": step.metadata["user"]})
    orchestrator = Orchestrator([InstructionsSource("..."), source, window, InputSource()], budget)
    ```

    Each item's ``score`` is the store's combined score (relevance, recency, importance), so the
    selection weighs memories against other sources per token. A store ranks its records relative to
    each other, so its best hit looks relevant even when nothing is: ``min_similarity`` is the
    relevance floor, on the hit's cosine similarity to the input (``MemoryHit.similarity``; hits
    without one, from stores without vectors, pass), so that "Bob collects stamps" is not offered
    for "Where is my order A-1001?" just because slots were free. 0 turns it off. ``filters`` is a fixed dict or a
    function of the step (per user, per session); ``step.metadata["memory_filters"]`` adds to it.
    Records already in the conversation window can be excluded with ``exclude``.
    """

    def __init__(
        self,
        stores: MemoryStore | Sequence[MemoryStore],
        *,
        k: int = 5,
        name: str = MEMORY,
        filters: Filters | Callable[[Step], Filters | None] | None = None,
        min_score: float = 0.0,
        min_similarity: float = DEFAULT_MIN_SIMILARITY,
        format: Callable[[MemoryHit], str] = _default_format,
        exclude: Callable[[], set[str]] | None = None,
    ) -> None:
        if k < 1:
            raise MemoryStoreError(
                f"k must be at least 1 (memories proposed per store and step), got {k}"
            )
        self.stores = [stores] if not isinstance(stores, Sequence) else list(stores)
        for store in self.stores:
            if not isinstance(store, MemoryStore):
                raise MemoryStoreError(
                    f"{type(store).__name__} is not a MemoryStore (add, get, update, delete, "
                    "search(query, k, filters)): pass VectorMemory, EpisodicMemory or your own MemoryStore"
                )
        self.k = k
        self.name = name
        self.filters = filters
        self.min_score = min_score
        if not -1.0 <= min_similarity <= 1.0:
            raise MemoryStoreError(
                f"min_similarity is a cosine similarity floor in -1..1, got {min_similarity}"
            )
        self.min_similarity = min_similarity
        self.format = format
        self.exclude = exclude

    def _filters(self, step: Step) -> Filters | None:
        base = self.filters(step) if callable(self.filters) else self.filters
        extra = step.metadata.get("memory_filters")
        if not base and not extra:
            return None
        return {**(base or {}), **(extra or {})}

    async def candidates(self, step: Step) -> list[ContextItem]:
        if not step.input.strip():
            return []
        filters = self._filters(step)
        # Stores are synchronous (LanceDB calls): run them in threads so sources stay concurrent.
        results = await asyncio.gather(
            *(asyncio.to_thread(s.search, step.input, self.k, filters) for s in self.stores)
        )
        skip = self.exclude() if self.exclude else set()
        items: dict[str, ContextItem] = {}
        for hits in results:
            for hit in hits:
                if hit.score < self.min_score or hit.record.id in skip:
                    continue
                if hit.similarity is not None and hit.similarity < self.min_similarity:
                    continue  # below the relevance floor: offered only because slots were free
                item_id = f"{self.name}-{hit.record.id}"
                if item_id in items and items[item_id].score >= hit.score:
                    continue
                items[item_id] = ContextItem(
                    id=item_id,
                    source=self.name,
                    content=self.format(hit),
                    score=hit.score,
                    # Oldest first when rendered: memories read as a timeline, and a stable order keeps the prefix cacheable.
                    position=int(hit.record.created_at),
                    metadata={
                        "record_id": hit.record.id,
                        "kind": hit.record.kind,
                        "relevance": hit.relevance,
                        "recency": hit.recency,
                        "similarity": hit.similarity,
                    },
                )
        return list(items.values())
