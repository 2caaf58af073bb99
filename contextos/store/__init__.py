"""store: the LanceDB table shared by tools, memory and demonstrations (:class:`VectorTable`), what
its searches return (:class:`Hit`), and the one score fusion they share (``fuse_scores``).

Import from ``contextos.store``; its underscored modules (opening, creating, committing, indexing) are internal.
"""

from __future__ import annotations

from contextos.store.fusion import RRF_K, fuse_ranks, fuse_rrf, fuse_scores, minmax
from contextos.store.hit import Hit, SearchMode
from contextos.store.table import VectorTable

__all__ = [
    "RRF_K",
    "Hit",
    "SearchMode",
    "VectorTable",
    "fuse_ranks",
    "fuse_rrf",
    "fuse_scores",
    "minmax",
]
