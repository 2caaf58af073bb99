"""How a memory's score mixes relevance to the query with recency and importance.

Relevance alone ranks a stale fact as high as the fact that replaced it. Following Park et al.
("Generative Agents", UIST 2023) the score is a weighted sum of relevance, recency (exponential
decay since the record was last seen) and importance; AutoCast++ (Yan et al., ICLR 2024) shows for
news-based forecasting that favouring recent evidence over older, possibly superseded evidence
improves answers, which is why recency may overrule a slightly more relevant older record.
"""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import ConfigDict, Field

from contextos.memory.records import CheckedModel


class ScoringWeights(CheckedModel):
    """Weights of the combined memory score ``relevance * w_r + recency * w_t + importance * w_i``.

    ```python
    ScoringWeights(relevance=1.0, recency=0.5, half_life_s=7 * 86400)   # newer facts win ties and near-ties
    ScoringWeights(recency=0.0, importance=0.0)                         # relevance only
    ```
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    _what: ClassVar[str] = "scoring weights"

    relevance: float = Field(default=1.0, ge=0)
    """Weight of relevance to the query (0..1: normalised fused rank score or cosine)."""
    recency: float = Field(default=0.1, ge=0)
    """Weight of recency (1 for a record seen just now, 0.5 one half-life ago, ...)."""
    importance: float = Field(default=0.05, ge=0)
    """Weight of the record's own importance (0..1)."""
    half_life_s: float = Field(default=30 * 86400.0, gt=0)
    """Seconds after which recency has halved."""


def recency(last_seen: float, now: float, half_life_s: float) -> float:
    """1.0 for a record seen at ``now``, halving every ``half_life_s`` (future times count as now)."""
    age = max(0.0, now - last_seen)
    return math.exp(-math.log(2.0) * age / half_life_s)


def combined(weights: ScoringWeights, relevance: float, recent: float, importance: float) -> float:
    """The weighted sum the results are ordered by."""
    return (
        weights.relevance * relevance + weights.recency * recent + weights.importance * importance
    )
