"""Ids in bounded chunks, so each ``id IN (...)`` filter (``store.where.id_in``) stays a bounded size."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

CHUNK = 1000
"""Ids per ``id IN (...)`` filter: keeps each filter's SQL text a bounded size."""


def id_chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    """``ids`` in consecutive chunks of at most :data:`CHUNK`."""
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])
