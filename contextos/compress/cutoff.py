"""Dynamic cut-off: keep a ranked list's head, cut where relevance falls steeply.

SAGE (Zhang et al., "SAGE: A Framework of Precise Retrieval for RAG", ICDE 2025) replaces a fixed
top-k with gradient-based selection: walk down the ranking and stop where the scores' "decreasing
speed" exceeds a threshold, so an easy query (one clear winner) takes few chunks and a hard one
(a flat ranking) more. Items are kept whole; the target caps how many.
"""

from __future__ import annotations

from contextos.compress._text import BM25, terms
from contextos.compress.base import CompressorBase, dropped, unchanged
from contextos.context.items import ContextItem
from contextos.context.sources import Compressed
from contextos.context.tokens import TokenCounter


class DynamicCutoff(CompressorBase):
    """Keeps the best-ranked items until the relative drop to the next one exceeds ``steepness``.

    ```python
    DynamicCutoff(steepness=0.4).compress_sync(items, "capital of Peru", target_tokens=500)
    ```

    Items are ranked by BM25 against the query when it has content words, else by their own
    ``score``. The first item is always kept when it fits; an item that does not fit in what is
    left of the target ends the list.
    """

    name = "cutoff"

    def __init__(self, *, counter: TokenCounter | None = None, steepness: float = 0.4) -> None:
        super().__init__(counter=counter)
        if not 0.0 < steepness < 1.0:
            raise ValueError(f"steepness is a relative drop between 0 and 1, got {steepness}")
        self.steepness = steepness

    async def _shorten(
        self, items: list[ContextItem], query: str, target: int, before: list[int]
    ) -> list[Compressed]:
        q = terms(query)
        scores = (
            BM25([terms(i.content) for i in items]).scores(q) if q else [i.score for i in items]
        )
        order = sorted(range(len(items)), key=lambda i: (-scores[i], i))
        kept: list[int] = []
        room, reason = target, ""
        for rank, i in enumerate(order):
            if rank > 0:
                previous = scores[order[rank - 1]]
                fall = (previous - scores[i]) / previous if previous > 0 else 1.0
                if fall > self.steepness:
                    reason = f"cut after rank {rank}: score fell {fall:.0%} ({previous:.3g} -> {scores[i]:.3g})"
                    break
            if before[i] > room:
                reason = f"cut after rank {rank}: the next item ({before[i]} tokens) exceeds the {room} tokens left"
                break
            kept.append(i)
            room -= before[i]
        taken = set(kept)
        results = [
            unchanged(items[i], before[i], f"{self.name}: rank {r + 1}, kept")
            for r, i in enumerate(kept)
        ]
        results += [
            dropped(items[i], before[i], f"{self.name}: {reason}") for i in order if i not in taken
        ]
        return results
