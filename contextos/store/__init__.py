"""store: the LanceDB helper shared by tools, memory and demonstrations (see :class:`VectorTable`)."""

from __future__ import annotations

from contextos.store.table import RRF_K, Hit, SearchMode, VectorTable, fuse_rrf

__all__ = ["RRF_K", "Hit", "SearchMode", "VectorTable", "fuse_rrf"]
