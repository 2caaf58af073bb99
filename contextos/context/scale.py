"""One relevance scale for every source, so utility per token compares like with like.

Sources score on scales of their own: a retriever's fused score, a memory's mix of relevance,
recency and importance, a flat 0.3 on every note. Before selection divides relevance by tokens,
each source's scores are put on one scale:

1. **Range.** Scores in [0, 1] stay as they are; a source with any score outside [0, 1] is rescaled
   min-max to [0, 1] (its best becomes 1; all equal: all 1).
2. **Rank.** The ``r``-th best item of a source (from 0) is worth its score times ``1 / log2(r + 2)``,
   the position discount of discounted cumulative gain (Järvelin and Kekäläinen, "Cumulated gain-based
   evaluation of IR techniques", 2002). A source's value grows more slowly with each item it adds, so
   no source can flood the budget with many cheap items of low value; its best items still compete at
   full value. The conversation follows the same rule with recency as its rank (``dialogue.recency``).

The section weight multiplies the result; priorities, pinning, floors and caps apply as before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from contextos.context.items import ContextItem


def rank_discount(rank: int) -> float:
    """The worth of the ``rank``-th best item (0: the best) relative to the best."""
    return 1.0 / math.log2(rank + 2)


def relevances(items: Sequence[ContextItem]) -> list[float]:
    """Each item's relevance on the common scale (range, then rank within its source), in order."""
    by_source: dict[str, list[int]] = {}
    for n, item in enumerate(items):
        by_source.setdefault(item.source, []).append(n)
    out = [0.0] * len(items)
    for positions in by_source.values():
        scores = [items[n].score for n in positions]
        low, high = min(scores), max(scores)
        if low < 0.0 or high > 1.0:
            spread = high - low
            scores = [(s - low) / spread if spread > 0 else 1.0 for s in scores]
        ranked = sorted(range(len(positions)), key=lambda i: -scores[i])  # stable: ties keep their order
        for rank, i in enumerate(ranked):
            out[positions[i]] = scores[i] * rank_discount(rank)
    return out
