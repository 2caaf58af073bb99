"""store: the LanceDB helper shared by tools, memory and demonstrations (see :class:`VectorTable`),
and the one score fusion they share (:mod:`contextos.store.fusion`)."""

from __future__ import annotations

from contextos.store.fusion import RRF_K, fuse_ranks, fuse_scores, minmax
from contextos.store.table import Hit, SearchMode, VectorTable, fuse_rrf

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
