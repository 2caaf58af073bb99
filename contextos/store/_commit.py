"""Committing one write to a LanceDB table while other processes write it too.

Every write is one Lance commit. When another writer committed first, Lance rebases the commit
onto the new version where the two are compatible and raises when they are not (a concurrent
overwrite, or a merge-insert of the same new id into a table whose ``id`` is the primary key);
nothing is half-written, so the write is run again on the latest version.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from typing import Any

from contextos.errors import StoreError

ATTEMPTS = 8
"""Tries per commit; between them the handle moves to the latest version and waits 0.05 s, doubling."""
_RETRYABLE = ("conflict", "retryable", "concurrent")


def is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is Lance refusing a commit because another writer committed first."""
    return any(w in str(exc).lower() for w in _RETRYABLE)


def commit(table: Any, write: Callable[[], Any], label: str, *, housekeeping: bool = False) -> None:
    """Run ``write`` (one commit on ``table``), again on the latest version after a conflict.

    ``housekeeping`` commits (index builds and refreshes) give up quietly after the retries: the
    rows they index are already committed and searched either way, and the next upsert refreshes
    the indexes again.
    """
    for attempt in range(ATTEMPTS):
        try:
            write()
            return
        except Exception as exc:
            conflict = is_conflict(exc)
            if conflict and attempt < ATTEMPTS - 1:
                time.sleep(0.05 * 2**attempt * (0.5 + random.random()))
                _checkout_latest(table)
                continue
            if conflict and housekeeping:
                return
            raise StoreError(f"write to {label} failed: {exc}") from exc


def merge(table: Any, data: Any, label: str) -> None:
    """Insert the rows of ``data`` (a pyarrow table), replacing stored rows with the same ids."""
    commit(
        table,
        lambda: (
            table.merge_insert("id")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute(data)
        ),
        label,
    )


def insert_missing(table: Any, data: Any, label: str) -> None:
    """Insert the rows of ``data`` whose ids the table does not hold; stored rows stay as they are."""
    commit(
        table, lambda: table.merge_insert("id").when_not_matched_insert_all().execute(data), label
    )


def _checkout_latest(table: Any) -> None:
    # A commit rejected by an incompatible concurrent one (an overwrite) fails again from the
    # version it read: move to the latest before retrying.
    # if this fails too, the retry that follows reports what is wrong
    with contextlib.suppress(Exception):
        table.checkout_latest()
