"""Fusing several retrievers' results into one score: the one fusion tools and memory share.

Dense search scores by cosine similarity, BM25 by an unbounded sum of term weights. Each list of
scores is min-max scaled over what the retriever returned (absent = 0) and the scaled lists are
averaged (``fuse_scores``). Score fusion keeps how much surer one retriever is than the other,
which reciprocal-rank fusion throws away: on tool retrieval (benchmarks/tool_retrieval.py) and
on LoCoMo memory (benchmarks/memory.py) equal-weight RRF of dense and BM25 ranked below BM25
alone, the score fusion above both (docs/performance.md).

Reciprocal rank (Cormack et al., SIGIR 2009) stays the way to merge rankings of *different
queries* (``fuse_ranks``): a tool retrieval with one query per capability must give each
capability its own top tools, however different the scales of the queries' scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from contextos.store.hit import Hit

RRF_K = 60
"""Reciprocal-rank fusion constant (Cormack et al., SIGIR 2009): the item at rank r adds 1 / (RRF_K + r)."""


def minmax(scores: Mapping[str, float]) -> dict[str, float]:
    """``scores`` scaled to 0..1 over their own range (a single or all-equal list scores 1).

    ```python
    >>> minmax({"a": 12.0, "b": 7.0, "c": 2.0})
    {'a': 1.0, 'b': 0.5, 'c': 0.0}

    ```
    """
    if not scores:
        return {}
    values = np.fromiter(scores.values(), dtype=float)
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-12:
        return {i: 1.0 for i in scores}
    return {i: (s - lo) / (hi - lo) for i, s in scores.items()}


def fuse_scores(
    lists: Sequence[Mapping[str, float]], weights: Sequence[float] | None = None
) -> dict[str, float]:
    """Weighted mean of the min-max scaled ``lists`` (an id absent from a list scores 0 there): 0..1.

    ```python
    >>> fuse_scores([{"a": 0.9, "b": 0.4}, {"b": 17.0, "c": 3.0}])
    {'a': 0.5, 'b': 0.5, 'c': 0.0}

    ```
    """
    weights = [1.0] * len(lists) if weights is None else list(weights)
    if len(weights) != len(lists) or any(w < 0 for w in weights):
        raise ValueError(
            f"fuse_scores needs one non-negative weight per list, got {weights} for {len(lists)} lists"
        )
    total = sum(weights)
    if not lists or total <= 0:
        return {}
    fused: dict[str, float] = {}
    for scores, weight in zip(lists, weights):
        for i, s in minmax(scores).items():
            fused[i] = fused.get(i, 0.0) + weight * s
    return {i: s / total for i, s in fused.items()}


def fuse_ranks(rankings: Sequence[Sequence[str]], rrf_k: int = RRF_K) -> dict[str, float]:
    """Reciprocal-rank fusion of rankings of ids, scaled so that an id ranked first everywhere scores 1.

    ```python
    fuse_ranks([["a", "b"], ["b", "c"]])   # b first: second and first
    ```
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (rrf_k + rank)
    if not rankings:
        return {}
    top = len(rankings) / (rrf_k + 1)
    return {i: s / top for i, s in scores.items()}


def fuse_rrf(rankings: Sequence[Sequence[Hit]], k: int, rrf_k: int = RRF_K) -> list[Hit]:
    """Reciprocal-rank fusion of several rankings of hits into the top ``k``; each score is
    ``sum 1 / (rrf_k + rank)`` (``fuse_ranks`` unscaled). ``VectorTable.search`` fuses by score
    instead (``fuse_scores``)."""
    rows: dict[str, Hit] = {}
    for ranking in rankings:
        for hit in ranking:
            rows.setdefault(hit.id, hit)
    scale = len(rankings) / (rrf_k + 1)
    scores = {
        i: s * scale for i, s in fuse_ranks([[h.id for h in r] for r in rankings], rrf_k).items()
    }
    best = sorted(scores, key=lambda i: (-scores[i], i))[:k]
    return [Hit(i, scores[i], rows[i].row, rows[i].similarity) for i in best]
