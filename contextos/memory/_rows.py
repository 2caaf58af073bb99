"""How a ``MemoryRecord`` is laid out as a LanceDB row, and how metadata filters become SQL.

A row holds the record's ``content`` as given and, in ``text``, what it is indexed by (embedded and
BM25-indexed; see ``contextos.memory.index_text``). A table's columns are fixed by its first write,
while metadata fields are free. So the named fields get columns of their own (always written, empty
string for "none", so that their types never depend on the first batch): ``user`` and ``session``
as canonical JSON, so that ``1`` and ``"1"`` stay apart; the free fields live in one canonical JSON
column. A filter on a free field is pushed down as a ``LIKE`` on that JSON (a superset of the
matches) and then checked exactly in Python, so the result is exact whatever the value holds.

A record merged into a near-duplicate leaves an *alias row* (``alias_of`` = the id it merged into):
its id still finds the record through ``get`` and an ``id`` filter, and searches skip it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from contextos.errors import MemoryStoreError
from contextos.memory.records import Filters, MemoryMetadata, MemoryRecord, Provenance

COLUMNS = (
    "content",
    "kind",
    "user",
    "session",
    "role",
    "tags",
    "importance",
    "created_at",
    "updated_at",
    "run_id",
    "step",
    "meta",
    "replies_to",
    "alias_of",
)
"""The columns a memory table holds besides ``id`` and ``text`` (what the record is indexed by)."""
NAMED_FIELDS = ("id", "kind", "user", "session", "role", "tags")
"""Fields filters can name besides free metadata fields."""
JSON_COLUMNS = ("user", "session")
"""Named fields stored as canonical JSON (a string or an integer, kept apart)."""


def canonical(value: Any) -> str:
    """JSON with sorted keys and no spaces: equal values give equal text (filters rely on it)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sql(value: str) -> str:
    """``value`` as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def to_row(
    record: MemoryRecord, text: str, *, replies_to: str = "", alias_of: str = ""
) -> dict[str, Any]:
    """The LanceDB row of ``record``, indexed by ``text``; ``replies_to``: the id of the turn its
    text quotes; ``alias_of``: for an alias row, the id of the record it merged into."""
    m = record.metadata
    return {
        "id": record.id,
        "text": text,
        "content": record.content,
        "kind": record.kind,
        "user": "" if m.user is None else canonical(m.user),
        "session": "" if m.session is None else canonical(m.session),
        "role": m.role or "",
        # Delimited on both sides so that a LIKE '%|tag|%' matches whole tags only.
        "tags": "|" + "|".join(m.tags) + "|" if m.tags else "",
        "importance": float(record.importance),
        "created_at": float(record.created_at),
        "updated_at": float(record.updated_at) if record.updated_at is not None else -1.0,
        "run_id": record.provenance.run_id or "",
        "step": int(record.provenance.step) if record.provenance.step is not None else -1,
        "meta": canonical(m.free),
        "replies_to": replies_to,
        "alias_of": alias_of,
    }


def from_row(row: dict[str, Any]) -> MemoryRecord:
    """The record a row holds."""
    tags = [t for t in (row.get("tags") or "").split("|") if t]
    metadata = MemoryMetadata(
        user=json.loads(row["user"]) if row["user"] else None,
        session=json.loads(row["session"]) if row["session"] else None,
        role=row["role"] or None,
        tags=tags,
        **json.loads(row["meta"] or "{}"),
    )
    return MemoryRecord(
        id=row["id"],
        kind=row["kind"],
        content=row["content"],
        metadata=metadata,
        created_at=row["created_at"],
        updated_at=None if row["updated_at"] < 0 else row["updated_at"],
        importance=row["importance"],
        provenance=Provenance(
            run_id=row["run_id"] or None, step=None if row["step"] < 0 else row["step"]
        ),
    )


def partition_where(
    record: MemoryRecord, fields: Sequence[str] | None
) -> tuple[str, Callable[[dict[str, Any]], bool]]:
    """SQL and exact check selecting the stored records that may merge with ``record``: same kind and
    every metadata field equal (``fields`` None), or the same ``fields`` (named or free) only."""
    row = to_row(record, "")
    named = [
        c
        for c in ("kind", "user", "session", "role", "tags", "meta")
        if fields is None or c in (*fields, "kind")
    ]
    free = [] if fields is None else [f for f in fields if f not in NAMED_FIELDS]
    where = " AND ".join([f"{c} = {sql(row[c])}" for c in named] + ["alias_of = ''"])
    mine = record.metadata.free

    def check(stored: dict[str, Any]) -> bool:
        theirs = json.loads(stored.get("meta") or "{}")
        return all(f in mine and f in theirs and same_value(mine[f], theirs[f]) for f in free)

    return where, check


def json_kind(value: Any) -> str:
    """``string``, ``number``, ``boolean``, ``null``, ``array`` or ``object``: the JSON type of ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, (list, tuple)) else "object"


def same_value(a: Any, b: Any) -> bool:
    """Equal and of the same JSON type (``1 == True`` in Python, not in a filter)."""
    return json_kind(a) == json_kind(b) and a == b


class CompiledFilter:
    """A filter as an SQL ``where`` (pushed into the search) and an exact check of each row."""

    def __init__(
        self, where: str | None, check: Callable[[dict[str, Any]], bool], exact_in_sql: bool
    ) -> None:
        self.where = where
        self.check = check
        self.exact_in_sql = exact_in_sql
        """True when the SQL alone selects exactly the matches (no Python check needed)."""


FieldKinds = Callable[[str], "set[str] | None"]
"""``kinds(field)``: the JSON types that stored records hold in ``field`` (empty: no record has it;
None: the store is empty, so anything may be asked)."""


def compile_filters(
    filters: Filters | None, kinds: FieldKinds, resolve_ids: Callable[[list[str]], list[str]]
) -> CompiledFilter:
    """SQL and check for ``filters``. ``kinds(field)`` tells which JSON types a field holds;
    ``resolve_ids`` maps ids, merged ones included, to the ids of the records that hold them.

    Raises ``MemoryStoreError`` for a field no record has (a typo would otherwise match nothing,
    silently), and for a value whose type no record holds in that field (``session="1"`` where
    sessions are integers): it could never match. Where a filter lists values of several types
    (the CLI's ``--filter session=1`` asks for ``"1"`` or ``1``), those of a type the field does not
    hold are left out, which changes no result.
    """
    if not filters:
        return CompiledFilter(None, lambda row: True, True)
    if not isinstance(filters, dict):
        raise MemoryStoreError(
            f"filters must be a dict of field to value, got {type(filters).__name__}"
        )
    clauses: list[str] = []
    checks: list[Callable[[dict[str, Any]], bool]] = []
    exact = True
    for field, value in filters.items():
        if not isinstance(field, str) or not field:
            raise MemoryStoreError(f"filter field names must be non-empty strings, got {field!r}")
        values = list(value) if isinstance(value, (list, tuple, set)) else [value]
        if not values:
            raise MemoryStoreError(
                f"filter {field!r} has an empty list of values; give at least one"
            )
        for v in values:
            if json_kind(v) not in ("string", "number", "boolean"):
                raise MemoryStoreError(
                    f"filter {field!r} value {v!r} is a {json_kind(v)}; filters match strings, numbers or booleans"
                )
        if field in ("id", "kind", "role", "tags"):
            if not all(isinstance(v, str) and v for v in values):
                raise MemoryStoreError(f"filter {field!r} takes non-empty strings, got {values!r}")
        if field == "tags":
            if any("|" in v for v in values):
                raise MemoryStoreError("a tags filter takes tag strings (without '|')")
            clauses.extend(f"tags LIKE {sql('%|' + v + '|%')}" for v in values)
            exact = False  # '_' and '%' inside a tag are LIKE wildcards: check exactly below
            checks.append(partial(_has_tags, tags=values))
        elif field == "id":
            targets = resolve_ids(values)
            clauses.append(
                f"id IN ({', '.join(sql(v) for v in targets)})" if targets else "id IS NULL"
            )
        elif field in ("kind", "role"):
            clauses.append(f"{field} IN ({', '.join(sql(v) for v in values)})")
        else:
            held = kinds(field)
            if field in JSON_COLUMNS and not held:
                held = None  # a named field no record sets: it matches nothing, and is no typo
            values = _held(field, values, held)
            if field in JSON_COLUMNS:
                clauses.append(f"{field} IN ({', '.join(sql(canonical(v)) for v in values)})")
                continue
            exact = False
            key = canonical(field)[1:-1]
            patterns = []
            for v in values:
                # 2 and 2.0 are one number: match the integer's digits, checked exactly below.
                text = canonical(int(v) if isinstance(v, float) and v.is_integer() else v)
                # A backslash escapes in LIKE: fall back to the key alone (still a superset), checked below.
                safe = "\\" not in text and "\\" not in key
                patterns.append(
                    "meta LIKE " + sql('%"' + key + '":' + (text + "%" if safe else "%"))
                )
            clauses.append("(" + " OR ".join(patterns) + ")")
            checks.append(partial(_free_match, field=field, values=values))
    where = " AND ".join(clauses)
    return CompiledFilter(where, lambda row: all(c(row) for c in checks), exact)


def _held(field: str, values: list[Any], held: set[str] | None) -> list[Any]:
    """``values``, once at least one of them has a type the field holds (any, on an empty store)."""
    if held is None:
        return values
    if not held:
        raise MemoryStoreError(
            f"no record in this store has a metadata field {field!r}; filters can name "
            f"{', '.join(NAMED_FIELDS)} or a metadata field records were written with. Check the spelling."
        )
    # Values of a type the field does not hold stay in the filter: they match nothing, and a field's
    # types as last seen may be out of date (another process may have written since).
    if not any(json_kind(v) in held for v in values):
        given = " or ".join(f"{json_kind(v)} {v!r}" for v in values)
        raise MemoryStoreError(
            f"records hold {field!r} as {' and '.join(sorted(held))}, the filter gives {given}: "
            f"it could never match; pass the value as the records were written"
        )
    return values


def _has_tags(row: dict[str, Any], tags: list[str]) -> bool:
    return all("|" + t + "|" in (row.get("tags") or "") for t in tags)


def _free_match(row: dict[str, Any], field: str, values: list[Any]) -> bool:
    meta = json.loads(row.get("meta") or "{}")
    return field in meta and any(same_value(meta[field], v) for v in values)


def kind_patterns(field: str) -> dict[str, str]:
    """For each JSON type a filter can match, SQL selecting rows whose ``field`` may hold it (a superset)."""
    if field in JSON_COLUMNS:
        return {
            "string": f"{field} LIKE '\"%'",
            "number": f"{field} != '' AND {field} NOT LIKE '\"%'",
        }
    key = canonical(field)[1:-1]
    if "\\" in key:
        return {k: "meta != '{}'" for k in ("string", "number", "boolean")}
    head = '%"' + key + '":'
    numbers = " OR ".join("meta LIKE " + sql(head + c + "%") for c in "-0123456789")
    return {
        "string": "meta LIKE " + sql(head + '"%'),
        "number": f"({numbers})",
        "boolean": f"(meta LIKE {sql(head + 'true%')} OR meta LIKE {sql(head + 'false%')})",
        # null, a list or an object: the field exists, but no filter value can match it
        "other": "meta LIKE " + sql(head + "%"),
    }
