"""The first write into a new table, safe when several processes make it at the same moment.

LanceDB's ``create_table(mode="create")`` checks that the table is absent and then commits its
first version. Two processes doing so at the same moment: usually the later commit is refused
("already exists") and that process writes its rows into the winner's table instead; but when the
later one checked before the earlier one committed, Lance commits the later one as a new version
that *overwrites* the winner's (``create_table`` returns it at version 2 or later).

- A local store serialises creation on a lock file (:mod:`contextos.store._lock`), so neither
  happens there.
- An object store has no such lock. A creator whose table comes back past version 1 has replaced
  the versions before it: it reads the rows of the version just before its own and inserts those
  its write did not replace, in the next commit. The other creator's next write then conflicts with
  the overwrite and is run again on the latest version (:mod:`contextos.store._commit`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from contextos.embed.base import Embedder
from contextos.errors import StoreError
from contextos.store._commit import insert_missing, is_conflict, merge
from contextos.store._lock import creation_lock
from contextos.store._open import open_table
from contextos.store._schema import check_schema

_logger = logging.getLogger("contextos.store")


def create_or_merge(
    db: Any,
    name: str,
    data: Any,
    *,
    embedder: Embedder,
    folder: Path | None,
    label: str,
) -> Any:
    """Create table ``name`` holding ``data`` (a pyarrow table with the new table's schema), or,
    when another process created it first, write ``data`` into theirs. Returns the table."""
    if folder is None:
        return _create_or_merge(db, name, data, embedder, None, label)
    with creation_lock(folder, name):
        return _create_or_merge(db, name, data, embedder, folder, label)


def _create_or_merge(
    db: Any, name: str, data: Any, embedder: Embedder, folder: Path | None, label: str
) -> Any:
    # Try to create first, even when the table is listed: a listed table may be another process's
    # creation in progress, or the data files of an interrupted one (create_table writes over those).
    try:
        table = db.create_table(name, data=data, schema=data.schema, mode="create")
    except Exception as exc:  # "already exists", or a conflict on its first version
        if "exist" not in str(exc).lower() and not is_conflict(exc):
            raise StoreError(f"cannot create table {label}: {exc}") from exc
    else:
        if table.version > 1:
            restore_overwritten(table, table.version - 1, label)
        else:
            _logger.debug("created table %s", label)
        return table
    # Another process created it first (or, on a remote store, is creating it): write into theirs.
    if folder is None:
        table = open_table(db, name, None, label)
    else:  # under the creation lock, which its creator held until its first version was committed
        try:
            table = db.open_table(name)
        except Exception as exc:
            raise StoreError(f"table {label} exists but cannot be opened: {exc}") from exc
    check_schema(table.schema, name, label, embedder)
    merge(table, data, label)
    _logger.info("table %s was created by another process first: rows written into it", label)
    return table


def restore_overwritten(table: Any, version: int, label: str) -> None:
    """Insert the rows of ``version`` that the latest version lacks: what a concurrent creation
    that overwrote ``version`` replaced (rows it wrote itself under the same ids stay)."""
    import pyarrow as pa

    try:
        table.checkout(version)
        earlier = table.to_arrow()
    except Exception as exc:
        raise StoreError(
            f"table {label} was created by two processes at once and the rows of its version "
            f"{version} cannot be read back ({exc}): write them again"
        ) from exc
    finally:
        table.checkout_latest()
    if earlier.num_rows == 0:
        _logger.info("table %s: this creation overwrote an empty version %d", label, version)
        return
    schema = table.schema
    if set(earlier.schema.names) != set(schema.names):
        raise StoreError(
            f"table {label} was created by two processes at once with different columns "
            f"({sorted(earlier.schema.names)} and {sorted(schema.names)}): the rows of version "
            f"{version} are kept there; read them with LanceDB's time travel and write them again"
        )
    try:
        earlier = earlier.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as exc:
        raise StoreError(
            f"table {label} was created by two processes at once with different column types "
            f"({exc}): the rows of version {version} are kept there; write them again"
        ) from exc
    insert_missing(table, earlier, label)
    _logger.info(
        "table %s was created by another process at the same moment and this creation "
        "overwrote its version %d: its %d rows were put back",
        label,
        version,
        earlier.num_rows,
    )
