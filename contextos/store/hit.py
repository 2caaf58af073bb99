"""What a search returns: :class:`Hit`, and the search modes (:data:`SearchMode`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

SearchMode = Literal["dense", "fts", "hybrid"]
"""``dense``: by vector (cosine similarity); ``fts``: by BM25 over ``text``; ``hybrid``: both, fused."""


@dataclass(frozen=True)
class Hit:
    """One search result."""

    id: str
    """The row's id."""
    score: float
    """Higher is better: cosine similarity (dense), BM25 (fts) or the fused score, 0..1 (hybrid,
    ``contextos.store.fuse_scores``)."""
    row: dict[str, Any] = field(repr=False)
    """The stored row without its vector: id, text and metadata columns."""
    similarity: float | None = None
    """Cosine similarity of the query and the row (dense and hybrid; None for fts): an absolute
    measure where the fused score is relative to the other candidates."""
