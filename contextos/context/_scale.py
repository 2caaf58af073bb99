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

import numpy as np

from contextos.context.items import ContextItem


def rank_discount(rank: int) -> float:
    """The worth of the ``rank``-th best item (0: the best) relative to the best."""
    return 1.0 / math.log2(rank + 2)


def relevances(items: Sequence[ContextItem]) -> list[float]:
    """Each item's relevance on the common scale (range, then rank within its source), in order."""
    n = len(items)
    if not n:
        return []
    codes: dict[str, int] = {}
    source = np.fromiter(
        (codes.setdefault(item.source, len(codes)) for item in items), dtype=np.int64, count=n
    )
    scores = np.fromiter((item.score for item in items), dtype=np.float64, count=n)
    # Within each source, best first (ties keep their order): sort by source, then by descending score.
    order = np.lexsort((np.arange(n), -scores, source))
    by_source = source[order]
    starts = np.flatnonzero(np.r_[True, by_source[1:] != by_source[:-1]])
    rank = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    ranked = scores[order]
    for start, end in zip(starts, np.r_[starts[1:], n]):
        low, high = ranked[end - 1], ranked[start]
        if low < 0.0 or high > 1.0:
            spread = high - low
            ranked[start:end] = (ranked[start:end] - low) / spread if spread > 0 else 1.0
    out = np.empty(n)
    out[order] = ranked / np.log2(rank + 2.0)
    return out.tolist()
