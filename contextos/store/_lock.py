"""A lock file in a store folder, held while a table is created, so two processes cannot both create it.

LanceDB's ``create_table(mode="create")`` checks that the table is absent and then writes its first
version: two processes doing so at the same moment can both succeed, and the later first version
replaces the earlier one (with every row it held). contextos serialises creation on an advisory
lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows) that the operating system drops when the
holder exits, so a killed writer never leaves the store locked.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from contextos.errors import StoreError


def lock_path(folder: Path, table: str) -> Path:
    """The lock file for creating ``table`` in ``folder`` (hidden, so the folder still reads as a store)."""
    return folder / f".{table}.create.lock"


@contextmanager
def creation_lock(folder: Path, table: str) -> Iterator[None]:
    """Hold the exclusive creation lock of ``table`` in ``folder`` (waits for another holder)."""
    path = lock_path(folder, table)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(
            f"cannot create the lock file {path} to create table {table!r}: {exc}"
        ) from exc
    try:
        _lock(fd)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int) -> None:
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # retries for 10 s, then raises
                return
            except OSError:
                continue

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
