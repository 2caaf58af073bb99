"""Retrievers of demonstrations for a step: each a ``ContextSource`` named ``demonstrations``.

- ``KnnRetriever``: the examples whose inputs are closest to the step's input. This is the
  unified-retriever setting of UDR (Li et al., "Unified Demonstration Retriever for In-Context
  Learning", ACL 2023), one retriever for every task, with an off-the-shelf embedder in place of
  UDR's trained one. ``similarity="dense"`` is that alone; the default ``"hybrid"`` adds a word
  unigram + bigram TF-IDF cosine (``contextos.demos._lexical``), which keeps the function words
  a sentence embedder blurs (docs/demos.md has both measured).
- ``MmrRetriever``: maximal marginal relevance (Carbonell & Goldstein, SIGIR 1998): similar to the
  input but not to the examples already picked.
- ``BalancedRetriever``: one example of each label seen among the nearest neighbours, then the
  closest of the rest.

The ``order`` policy sets how the picked examples render: ``"similar_last"`` (the closest right
before the input, where recency helps it most; the default) or ``"similar_first"``.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from contextos.context.items import ContextItem, Step
from contextos.context.source_names import DEMONSTRATIONS
from contextos.demos.pool import Demonstration, DemoPool, ScoredDemo, Similarity
from contextos.errors import DemoError

Order = Literal["similar_last", "similar_first"]


def format_demonstration(demo: Demonstration) -> str:
    """The default rendering: ``Input: ...`` then ``Output: ...``."""
    return f"Input: {demo.input}\nOutput: {demo.output}"


class DemoRetriever(ABC):
    """The shared part of the retrievers (intended for internal use; implement ``choose``).

    A ``ContextSource``: ``candidates(step)`` offers the picked examples as ``demonstrations`` items,
    each with its similarity as score and its rendered place as ``position``.
    """

    name = DEMONSTRATIONS

    def __init__(
        self,
        pool: DemoPool,
        *,
        k: int = 4,
        order: Order = "similar_last",
        format: Callable[[Demonstration], str] = format_demonstration,
        fetch_k: int | None = None,
        similarity: Similarity = "hybrid",
    ) -> None:
        if k < 1:
            raise DemoError(f"k must be at least 1 (demonstrations per step), got {k}")
        if order not in ("similar_last", "similar_first"):
            raise DemoError(f"order must be 'similar_last' or 'similar_first', not {order!r}")
        if similarity not in ("hybrid", "dense"):
            raise DemoError(f"similarity must be 'hybrid' or 'dense', not {similarity!r}")
        if fetch_k is not None and fetch_k < k:
            raise DemoError(
                f"fetch_k ({fetch_k}) must be at least k ({k}): it is how many neighbours the choice starts from"
            )
        self.pool = pool
        self.k = k
        self.order: Order = order
        self.format = format
        self.fetch_k = fetch_k
        self.similarity: Similarity = similarity

    @abstractmethod
    def choose(self, candidates: list[ScoredDemo], vectors: np.ndarray, k: int) -> list[ScoredDemo]:
        """``k`` of ``candidates`` (closest first, with their input vectors), best first."""

    def default_fetch_k(self, k: int) -> int:
        """How many neighbours ``choose`` starts from when ``fetch_k`` is not set."""
        return k

    def retrieve(
        self, query: str, k: int | None = None, *, vector: np.ndarray | None = None
    ) -> list[ScoredDemo]:
        """The picked examples for ``query`` (its vector, when already embedded, as ``vector``), best first."""
        k = self.k if k is None else k
        fetch = max(self.fetch_k or self.default_fetch_k(k), k)
        candidates, vectors = self.pool.nearest(
            query, fetch, vector=vector, similarity=self.similarity
        )
        return self.choose(candidates, vectors, k)

    def retrieve_many(self, queries: Sequence[str], k: int | None = None) -> list[list[ScoredDemo]]:
        """``retrieve`` for each of ``queries``, their vectors embedded in one batch."""
        from contextos.embed.base import embed_queries

        if not queries:
            return []
        vectors = embed_queries(self.pool.table.embedder, list(queries))
        return [self.retrieve(q, k, vector=v) for q, v in zip(queries, vectors)]

    def arrange(self, picked: list[ScoredDemo]) -> list[ScoredDemo]:
        """``picked`` (best first) in render order, per ``order``."""
        return picked[::-1] if self.order == "similar_last" else list(picked)

    async def candidates(self, step: Step) -> list[ContextItem]:
        # An empty pool (an agent's first runs, before any episode was recorded) offers nothing;
        # retrieve() called directly still says the pool is empty.
        if not step.input.strip() or len(self.pool) == 0:
            return []
        picked = await asyncio.to_thread(self.retrieve, step.input)
        rank = {s.demo.id: r for r, s in enumerate(picked, 1)}
        return [
            ContextItem(
                id=f"demo-{s.demo.id}",
                source=self.name,
                content=self.format(s.demo),
                score=s.score,
                position=position,
                metadata={"demo_id": s.demo.id, "rank": rank[s.demo.id], "label": s.demo.label},
            )
            for position, s in enumerate(self.arrange(picked))
        ]


class KnnRetriever(DemoRetriever):
    """The ``k`` examples whose inputs are most similar to the step's input.

    ```python
    orchestrator = Orchestrator([InstructionsSource("..."), KnnRetriever(pool, k=4), InputSource()], budget)
    ```
    """

    def choose(self, candidates: list[ScoredDemo], vectors: np.ndarray, k: int) -> list[ScoredDemo]:
        return candidates[:k]


class MmrRetriever(DemoRetriever):
    """Maximal marginal relevance over the ``fetch_k`` nearest (default 4k): each pick maximises
    ``lambda_ * sim(query, d) - (1 - lambda_) * max(sim(d, p) for p already picked)``."""

    def __init__(self, pool: DemoPool, *, lambda_: float = 0.5, **options: object) -> None:
        if not 0.0 <= lambda_ <= 1.0:
            raise DemoError(f"lambda_ must be in [0, 1] (1: pure similarity), got {lambda_}")
        super().__init__(pool, **options)  # type: ignore[arg-type]
        self.lambda_ = lambda_

    def default_fetch_k(self, k: int) -> int:
        return 4 * k

    def choose(self, candidates: list[ScoredDemo], vectors: np.ndarray, k: int) -> list[ScoredDemo]:
        # Hybrid scores add two cosines: halve them so relevance and redundancy share one scale.
        relevance = np.array([c.score for c in candidates], dtype=np.float32) / (
            2.0 if self.similarity == "hybrid" else 1.0
        )
        redundancy = np.zeros(len(candidates), dtype=np.float32)
        left = list(range(len(candidates)))
        picked: list[int] = []
        while left and len(picked) < k:
            value = self.lambda_ * relevance[left] - (1.0 - self.lambda_) * redundancy[left]
            best = left.pop(int(np.argmax(value)))
            picked.append(best)
            redundancy = np.maximum(redundancy, vectors @ vectors[best])
        return [candidates[i] for i in picked]


class BalancedRetriever(DemoRetriever):
    """Similar examples that cover the labels seen among the ``fetch_k`` nearest (default 4k): the
    closest example of each such label first (labels in order of their closest example, at most
    ``k``), then the closest of the rest. Unlabeled examples count as one label of their own."""

    def default_fetch_k(self, k: int) -> int:
        return 4 * k

    def choose(self, candidates: list[ScoredDemo], vectors: np.ndarray, k: int) -> list[ScoredDemo]:
        first_of_label: dict[str | None, int] = {}
        for i, c in enumerate(candidates):
            first_of_label.setdefault(c.demo.label, i)
        cover = sorted(first_of_label.values())[:k]
        rest = [i for i in range(len(candidates)) if i not in set(cover)][: k - len(cover)]
        return [candidates[i] for i in sorted(cover + rest)]
