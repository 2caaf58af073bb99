"""``MemorySource``: per step, the memories most relevant to the step's input, scored, as candidates."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from contextos.context.items import ContextItem, Step
from contextos.errors import MemoryStoreError
from contextos.memory.records import Filters, MemoryHit, MemoryStore


def _default_format(hit: MemoryHit) -> str:
    when = datetime.fromtimestamp(hit.record.created_at, tz=timezone.utc).strftime("%Y-%m-%d")
    return f"[{when}] {hit.record.content}"


class MemorySource:
    """Proposes up to ``k`` memories per store for each step; the orchestrator's budget decides what enters.

    ```python
    source = MemorySource([long_term, episodes_as_store], k=8, filters=lambda step: {"user": step.metadata["user"]})
    orchestrator = Orchestrator([InstructionsSource("..."), source, window, InputSource()], budget)
    ```

    Each item's ``score`` is the store's combined score (relevance, recency, importance), so the
    selection weighs memories against other sources per token. ``filters`` is a fixed dict or a
    function of the step (per user, per session); ``step.metadata["memory_filters"]`` adds to it.
    Records already in the conversation window can be excluded with ``exclude``.
    """

    def __init__(
        self,
        stores: MemoryStore | Sequence[MemoryStore],
        *,
        k: int = 5,
        name: str = "memory",
        filters: Filters | Callable[[Step], Filters | None] | None = None,
        min_score: float = 0.0,
        format: Callable[[MemoryHit], str] = _default_format,
        exclude: Callable[[], set[str]] | None = None,
    ) -> None:
        if k < 1:
            raise MemoryStoreError(f"k must be at least 1 (memories proposed per store and step), got {k}")
        self.stores = [stores] if not isinstance(stores, Sequence) else list(stores)
        for store in self.stores:
            if not callable(getattr(store, "search", None)):
                raise MemoryStoreError(f"{type(store).__name__} has no search(query, k, filters): pass MemoryStore objects")
        self.k = k
        self.name = name
        self.filters = filters
        self.min_score = min_score
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
        results = await asyncio.gather(*(asyncio.to_thread(s.search, step.input, self.k, filters) for s in self.stores))
        skip = self.exclude() if self.exclude else set()
        items: dict[str, ContextItem] = {}
        for hits in results:
            for hit in hits:
                if hit.score < self.min_score or hit.record.id in skip:
                    continue
                item_id = f"{self.name}-{hit.record.id}"
                if item_id in items and items[item_id].score >= hit.score:
                    continue
                items[item_id] = ContextItem(
                    id=item_id, source=self.name, content=self.format(hit), score=hit.score,
                    # Oldest first when rendered: memories read as a timeline, and a stable order keeps the prefix cacheable.
                    position=int(hit.record.created_at),
                    metadata={"record_id": hit.record.id, "kind": hit.record.kind, "relevance": hit.relevance, "recency": hit.recency},
                )
        return list(items.values())
