"""Connecting to a LanceDB store and opening its tables, including one another process is creating.

A table's folder (or object prefix) appears as soon as its creator starts writing data files, and
the table can be opened only once its first version is committed. A local store's creator holds
the creation lock (:mod:`contextos.store._lock`) until then; on a remote store the opener waits,
polling with backoff, for at most :data:`CREATION_WAIT_S`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from contextos.errors import StoreError
from contextos.store._lock import creation_lock

CREATION_WAIT_S = 15.0
"""How long opening a remote table that is listed but has no committed version yet waits for its
creator before giving up."""


def is_remote(uri: str) -> bool:
    """Whether ``uri`` names a store that is not a local folder (``s3://``, ``gs://``, ``db://``, ...)."""
    return "://" in uri


def connect(
    uri: str | Path, *, create: bool, connect_options: dict[str, Any] | None
) -> tuple[Any, str, Path | None, set[str]]:
    """Connect to the store at ``uri``: ``(db, uri as connected, local folder or None, table names)``.

    A local folder is checked (not a file, not a folder of other files) and made when ``create``.
    """
    import lancedb

    uri_s = str(uri)
    folder: Path | None = None
    if not is_remote(uri_s):
        folder = _local_folder(Path(uri_s).expanduser(), create)
        uri_s = str(folder)
    try:
        db = lancedb.connect(uri_s, **(connect_options or {}))
        names = table_names(db)  # a missing bucket or bad credentials fail here
    except Exception as exc:
        raise StoreError(f"cannot open the LanceDB store at {uri_s}: {exc}") from exc
    return db, uri_s, folder, names


def _local_folder(folder: Path, create: bool) -> Path:
    if folder.exists() and not folder.is_dir():
        raise StoreError(
            f"store path {folder} is a file, not a folder: pass a folder for the LanceDB store"
        )
    if not folder.exists():
        if not create:
            raise StoreError(
                f"no store at {folder}: create it first (open with create=True or index into it)"
            )
        folder.mkdir(parents=True)
    else:
        entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
        if entries and not any(p.suffix == ".lance" for p in entries):
            raise StoreError(
                f"{folder} is not a LanceDB store (it holds other files and no *.lance table): "
                "pass an empty or new folder"
            )
    return folder


def table_names(db: Any) -> set[str]:
    """The names of the tables in the store (those being created included)."""
    if hasattr(db, "list_tables"):
        return set(db.list_tables().tables)
    return set(db.table_names())


def open_table(
    db: Any, name: str, folder: Path | None, label: str, *, missing_ok: bool = False
) -> Any:
    """Open table ``name``, waiting while another process creates it. A remote table whose first
    version does not appear in time is None with ``missing_ok`` (an interrupted creation: the next
    creation writes over its files), a StoreError without."""
    try:
        return db.open_table(name)
    except Exception as exc:
        if folder is None and not _not_created_yet(exc):
            raise
    if folder is not None:
        # Its creator holds the creation lock until the first version is committed.
        with creation_lock(folder, name):
            return db.open_table(name)
    delay, deadline = 0.05, time.monotonic() + CREATION_WAIT_S
    while True:
        time.sleep(delay)
        try:
            return db.open_table(name)
        except Exception as exc:
            if not _not_created_yet(exc):
                raise
            if time.monotonic() > deadline:
                if missing_ok:
                    return None
                raise StoreError(
                    f"table {label} is listed but has no committed version after "
                    f"{CREATION_WAIT_S:.0f} s: another process is still creating it, or a creation "
                    "was interrupted (open it with create=True and upsert to create it)"
                ) from exc
        delay = min(delay * 2, 1.0)


def _not_created_yet(exc: Exception) -> bool:
    message = str(exc).lower()
    return "not found" in message or "does not exist" in message or "no such" in message
