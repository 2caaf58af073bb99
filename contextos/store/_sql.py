"""SQL filter text for LanceDB: quoted string literals and ``id IN (...)`` filters in bounded chunks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

CHUNK = 1000
"""Ids per ``id IN (...)`` filter: keeps each filter's SQL text a bounded size."""


def quote(value: str) -> str:
    """``value`` as an SQL string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def id_filter(ids: Sequence[str]) -> str:
    """The filter matching rows whose ``id`` is one of ``ids``."""
    return "id IN (" + ", ".join(quote(i) for i in ids) + ")"


def id_chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    """``ids`` in consecutive chunks of at most :data:`CHUNK`."""
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])
