"""How a ``MemoryRecord`` is laid out as a LanceDB row, and how metadata filters become SQL.

A table's columns are fixed by its first write, while metadata fields are free. So the named
fields get columns of their own (always written, empty string for "none", so that their types never
depend on the first batch) and the free fields live in one canonical JSON column. A filter on a free
field is pushed down as a ``LIKE`` on that JSON (a superset of the matches) and then checked
exactly in Python, so the result is exact whatever the value holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from contextos.errors import MemoryStoreError
from contextos.memory.records import Filters, MemoryMetadata, MemoryRecord, Provenance

COLUMNS = ("kind", "user", "session", "role", "tags", "importance", "created_at", "updated_at", "run_id", "step", "meta")
"""The columns a memory table holds besides ``id`` and ``text`` (the content)."""
NAMED_FIELDS = ("kind", "user", "session", "role", "tags")
"""Fields filters can name besides free metadata fields."""


def canonical(value: Any) -> str:
    """JSON with sorted keys and no spaces: equal values give equal text (filters rely on it)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sql(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def to_row(record: MemoryRecord) -> dict[str, Any]:
    """The LanceDB row of ``record``."""
    m = record.metadata
    return {
        "id": record.id,
        "text": record.content,
        "kind": record.kind,
        "user": m.user or "",
        "session": m.session or "",
        "role": m.role or "",
        # Delimited on both sides so that a LIKE '%|tag|%' matches whole tags only.
        "tags": "|" + "|".join(m.tags) + "|" if m.tags else "",
        "importance": float(record.importance),
        "created_at": float(record.created_at),
        "updated_at": float(record.updated_at) if record.updated_at is not None else -1.0,
        "run_id": record.provenance.run_id or "",
        "step": int(record.provenance.step) if record.provenance.step is not None else -1,
        "meta": canonical(m.free),
    }


def from_row(row: dict[str, Any]) -> MemoryRecord:
    """The record a row holds."""
    tags = [t for t in (row.get("tags") or "").split("|") if t]
    metadata = MemoryMetadata(
        user=row["user"] or None, session=row["session"] or None, role=row["role"] or None, tags=tags,
        **json.loads(row["meta"] or "{}"),
    )
    return MemoryRecord(
        id=row["id"],
        kind=row["kind"],
        content=row["text"],
        metadata=metadata,
        created_at=row["created_at"],
        updated_at=None if row["updated_at"] < 0 else row["updated_at"],
        importance=row["importance"],
        provenance=Provenance(run_id=row["run_id"] or None, step=None if row["step"] < 0 else row["step"]),
    )


class CompiledFilter:
    """A filter as an SQL ``where`` (pushed into the search) and an exact check of each row."""

    def __init__(self, where: str | None, check: Callable[[dict[str, Any]], bool], exact_in_sql: bool) -> None:
        self.where = where
        self.check = check
        self.exact_in_sql = exact_in_sql
        """True when the SQL alone selects exactly the matches (no Python check needed)."""


def compile_filters(filters: Filters | None, has_free_field: Callable[[str], bool]) -> CompiledFilter:
    """SQL and check for ``filters``; ``has_free_field(name)`` says whether any stored record has that field.

    Raises ``MemoryStoreError`` for a field no record has (a typo would otherwise match nothing, silently).
    """
    if not filters:
        return CompiledFilter(None, lambda row: True, True)
    if not isinstance(filters, dict):
        raise MemoryStoreError(f"filters must be a dict of field to value, got {type(filters).__name__}")
    clauses: list[str] = []
    checks: list[Callable[[dict[str, Any]], bool]] = []
    exact = True
    for field, value in filters.items():
        values = list(value) if isinstance(value, (list, tuple, set)) else [value]
        if not values:
            raise MemoryStoreError(f"filter {field!r} has an empty list of values; give at least one")
        if field == "tags":
            if not all(isinstance(v, str) and v and "|" not in v for v in values):
                raise MemoryStoreError("a tags filter takes tag strings (without '|')")
            clauses.extend(f"tags LIKE {_sql('%|' + v + '|%')}" for v in values)
            exact = False  # '_' and '%' inside a tag are LIKE wildcards: check exactly below
            checks.append(lambda row, vs=values: all("|" + v + "|" in (row.get("tags") or "") for v in vs))
        elif field in NAMED_FIELDS:
            if not all(isinstance(v, str) for v in values):
                raise MemoryStoreError(f"filter {field!r} takes strings, got {values!r}")
            clauses.append(f"{field} IN ({', '.join(_sql(v) for v in values)})")
        else:
            if not isinstance(field, str) or not field:
                raise MemoryStoreError(f"filter field names must be non-empty strings, got {field!r}")
            if not has_free_field(field):
                raise MemoryStoreError(
                    f"no record in this store has a metadata field {field!r}; filters can name "
                    f"{', '.join(NAMED_FIELDS)} or a metadata field records were written with. Check the spelling."
                )
            exact = False
            key = canonical(field)[1:-1]
            patterns = []
            for v in values:
                text = canonical(v)
                # A backslash escapes in LIKE: fall back to the key alone (still a superset), checked below.
                safe = "\\" not in text and "\\" not in key
                pattern = '%"' + key + '":' + (text + "%" if safe else "%")
                patterns.append("meta LIKE " + _sql(pattern))
            clauses.append("(" + " OR ".join(patterns) + ")")
            checks.append(lambda row, f=field, vs=values: json.loads(row.get("meta") or "{}").get(f, _MISSING) in vs)
    where = " AND ".join(clauses)
    return CompiledFilter(where, lambda row: all(c(row) for c in checks), exact)


def free_field_where(field: str) -> str:
    """SQL selecting rows whose free metadata may have ``field`` (a superset)."""
    key = canonical(field)[1:-1]
    if "\\" in key:
        return "meta != '{}'"
    return "meta LIKE " + _sql('%"' + key + '":%')


_MISSING = object()
