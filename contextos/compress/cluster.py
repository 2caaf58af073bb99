"""Cluster compression: many similar items become one representative (or one summary) per cluster.

CRAG (the "Clustering-based" RAG of Akesson & Santos, "Clustered Retrieved Augmented Generation",
2024) clusters similar items such as product reviews and keeps a summary per cluster, so the tokens
a prompt spends stop growing with the number of items. Here items are clustered by embedding
cosine (a greedy leader clustering over the items in score order, which is deterministic), each
cluster is represented by its medoid, the member most similar to the rest, and clusters are kept
largest first while they fit the target. With a summarizer, each cluster of two or more becomes
a generated summary of its members instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from contextos.compress.base import CompressorBase, dropped, unchanged
from contextos.context.items import ContextItem
from contextos.context.sources import Compressed, Compressor
from contextos.context.tokens import TokenCounter
from contextos.embed.base import Embedder


class ClusterCompressor(CompressorBase):
    """One representative per cluster of similar items, the largest clusters first, within the target.

    ```python
    ClusterCompressor(similarity=0.6).compress_sync(reviews, "", target_tokens=400)
    ClusterCompressor(summarizer=LLMSummarizer(client))   # a generated summary per cluster
    ```
    """

    name = "cluster"

    def __init__(
        self,
        *,
        counter: TokenCounter | None = None,
        embedder: Embedder | None = None,
        similarity: float = 0.6,
        summarizer: Compressor | None = None,
    ) -> None:
        super().__init__(counter=counter)
        self._embedder = embedder
        self.similarity = similarity
        self.summarizer = summarizer

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from contextos.embed.default import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    async def _shorten(
        self, items: list[ContextItem], query: str, target: int, before: list[int]
    ) -> list[Compressed]:
        vectors = self.embedder.embed([i.content for i in items])
        clusters = leader_clusters(vectors, [i.score for i in items], self.similarity)
        results: dict[str, Compressed] = {}
        order: list[str] = []
        room = target
        for members in sorted(clusters, key=lambda m: (-len(m), m[0])):
            rep = _medoid(vectors, members)
            others = [items[m].id for m in members if m != rep]
            chosen = unchanged(
                items[rep], before[rep], f"{self.name}: represents {len(members)} items"
            )
            if self.summarizer is not None and others and room > 0:
                share = min(room, sum(before[m] for m in members) - 1)
                merged = items[rep].with_content("\n\n".join(items[m].content for m in members))
                summary = (await self.summarizer.compress([merged], query, max(share, 1)))[0]
                if summary.item is not None:
                    chosen = summary
            cost = chosen.decision.tokens_after
            if chosen.item is not None and cost <= room:
                room -= cost
                results[items[rep].id] = chosen
                order.append(items[rep].id)
                why = f"{self.name}: similar to {items[rep].id}, which represents its cluster"
            else:
                why = (
                    f"{self.name}: its cluster of {len(members)} did not fit the {room} tokens left"
                )
                results[items[rep].id] = dropped(items[rep], before[rep], why)
            for m in members:
                if m != rep:
                    results[items[m].id] = dropped(items[m], before[m], why)
        taken = set(order)
        return [results[i] for i in order] + [r for i, r in results.items() if i not in taken]


def leader_clusters(
    vectors: np.ndarray, scores: Sequence[float], similarity: float
) -> list[list[int]]:
    """Greedy leader clustering: in score order, each item joins the first cluster whose leader it is
    at least ``similarity`` (cosine) to, else leads a new one. Returns member indices per cluster."""
    order = sorted(range(len(vectors)), key=lambda i: (-scores[i], i))
    leaders: list[int] = []
    members: list[list[int]] = []
    for i in order:
        if leaders:
            sims = vectors[leaders] @ vectors[i]
            best = int(np.argmax(sims))
            if sims[best] >= similarity:
                members[best].append(i)
                continue
        leaders.append(i)
        members.append([i])
    return [sorted(m) for m in members]


def _medoid(vectors: np.ndarray, members: list[int]) -> int:
    if len(members) <= 2:
        return members[0]
    block = vectors[members] @ vectors[members].T
    return members[int(np.argmax(block.sum(1)))]
