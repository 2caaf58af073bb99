"""A contextos table's columns: the schema its first write fixes, and the checks made on opening one."""

from __future__ import annotations

import warnings
from typing import Any

from contextos.embed.base import Embedder
from contextos.errors import StoreError

RESERVED = ("id", "text", "vector")
"""The columns every contextos table has; the rest are the rows' scalar metadata."""
META_EMBEDDER = b"contextos.embedder"
META_DIMENSION = b"contextos.dimension"
PRIMARY_KEY = "lance-schema:unenforced-primary-key"
"""Field metadata that makes Lance treat two concurrent merge-inserts of the same new id as a
conflict (and retry one) instead of committing both: without it two processes that upsert one new
id at once leave it in the table twice (lance-format/lance#4585)."""


def table_schema(rows: list[dict[str, Any]], embedder: Embedder) -> Any:
    """The pyarrow schema of a new table holding ``rows`` (their metadata columns, inferred), with
    the embedder's name and dimension in its metadata."""
    import pyarrow as pa

    dim = embedder.dimension
    try:
        inferred = pa.Table.from_pylist(
            [{k: v for k, v in r.items() if k != "vector"} for r in rows]
        ).schema
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise StoreError(f"rows have columns of mixed types: {exc}") from exc
    fields = [
        pa.field("id", pa.string(), nullable=False, metadata={PRIMARY_KEY: "true"}),
        pa.field("text", pa.string()),
        pa.field("vector", pa.list_(pa.float32(), dim)),
    ]
    fields += [f for f in inferred if f.name not in RESERVED]
    return pa.schema(
        fields,
        metadata={META_EMBEDDER: embedder.name.encode(), META_DIMENSION: str(dim).encode()},
    )


def check_schema(schema: Any, name: str, uri: str, embedder: Embedder) -> None:
    """Raise StoreError when table ``name`` was not written by contextos or holds vectors of another
    dimension than ``embedder``'s; warn when another embedder of the same dimension built it."""
    missing = [c for c in RESERVED if c not in schema.names]
    if missing:
        raise StoreError(
            f"table {name!r} in {uri} was not written by contextos (no {', '.join(missing)} column)"
        )
    size = getattr(schema.field("vector").type, "list_size", None)
    if size != embedder.dimension:
        built_with = (schema.metadata or {}).get(META_EMBEDDER, b"?").decode()
        raise StoreError(
            f"table {name!r} in {uri} holds {size}-d vectors (embedder {built_with!r}) but embedder "
            f"{embedder.name!r} makes {embedder.dimension}-d ones: open it with the embedder it was built "
            "with, or rebuild it (delete the table folder and index again)"
        )
    built_with = (schema.metadata or {}).get(META_EMBEDDER, b"").decode()
    if built_with and built_with != embedder.name:
        warnings.warn(
            f"table {name!r} was built with embedder {built_with!r}, now searched with {embedder.name!r}: "
            "scores may be meaningless unless both make the same vectors",
            stacklevel=3,
        )


def ensure_primary_key(table: Any, label: str) -> None:
    """Mark ``id`` as the primary key of a table written before contextos marked it."""
    if (table.schema.field("id").metadata or {}).get(PRIMARY_KEY.encode()) == b"true":
        return
    try:
        table.update_field_metadata({"path": "id", "metadata": {PRIMARY_KEY: "true"}})
    except Exception as exc:
        warnings.warn(
            f"could not mark 'id' as the primary key of {label} ({exc}): two processes that upsert "
            "the same new id at the same moment may both insert it",
            stacklevel=3,
        )
