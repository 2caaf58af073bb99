"""The trace store's open run files: each finished span is one ``write()`` of one line to its run's file.

A file opened with ``O_APPEND`` takes each line whole, at its end, also from several processes at
once; once ``write()`` returns, the line is in the kernel, so a process killed right after (even by
SIGKILL) keeps every span that finished. ``fsync=True`` also survives a machine crash.

Making a run's file when its first span ended cost about 120 µs in the middle of an agent step on a
small VM, a few percent of an offline step. So a background thread makes the next run's file ahead
of time, under the trace id that run will get (``reserve_trace_id``: contextos's own span recorder
asks for it when a run starts), and closes the files of runs moved out past ``max_open``: starting
and leaving a run cost the caller no system call. A file made ahead for a run that never started is
empty, removed at shutdown (after a kill it stays, empty, and readers skip it).
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND


class RunFiles:
    """The open run files of a store folder; ``append`` writes each record as a line of its run's file."""

    def __init__(self, folder: Path, *, fsync: bool, max_open: int, encode: Any) -> None:
        self.folder = folder
        self.fsync = fsync
        self.max_open = max_open
        self._encode = encode
        self._fds: dict[str, int] = {}
        self._lock = threading.Lock()
        self.closed = False
        # made ahead by the background thread: the next run's id and open file; runs to close
        self._spare: tuple[str, int] | None = None
        self._retired: list[int] = []
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    def path(self, run_id: str) -> Path:
        return self.folder / f"{run_id}.jsonl"

    def reserve_trace_id(self) -> int | None:
        """The trace id of a new run whose file is already made (``None`` when none is ready yet: the
        caller picks an id, and the file is made when the run's first span ends)."""
        with self._lock:
            if self.closed:
                return None
            spare, self._spare = self._spare, None
            if spare is None:
                self._start_helper()  # (the first time: it makes one for the next run)
                return None
            self._wake.notify()  # make the one after
            run_id, fd = spare
            try:
                kept = os.fstat(fd).st_nlink > 0  # not removed since (a user clearing the store)
            except OSError:
                kept = False
            if not kept:
                self._retired.append(fd)
                return None
            self._add(run_id, fd)
        return int(run_id, 16)

    def append(self, records: Sequence[dict[str, Any]]) -> bool:
        """Write each record as a line of its run's file; ``False`` when closed or the write failed."""
        with self._lock:
            if self.closed:
                return False
            try:
                for record in records:
                    view = memoryview((self._encode(record) + "\n").encode("utf-8"))
                    fd = self._fd(record["trace_id"])
                    while view:
                        view = view[os.write(fd, view):]
                    if self.fsync:
                        os.fsync(fd)
            except OSError:
                return False
        return True

    def close(self) -> None:
        """Close every open file; remove the file made ahead, unused."""
        with self._lock:
            self.closed = True
            fds = [*self._fds.values(), *self._retired]
            self._fds, self._retired = {}, []
            spare, self._spare = self._spare, None
            self._wake.notify()
        for fd in fds:
            os.close(fd)
        if spare is not None:
            os.close(spare[1])
            self.path(spare[0]).unlink(missing_ok=True)

    # -- under the lock -------------------------------------------------------------------------

    def _fd(self, run_id: str) -> int:
        fd = self._fds.get(run_id)
        if fd is None:
            try:  # the folder is made once, not per run
                fd = os.open(self.path(run_id), _APPEND, 0o600)
            except FileNotFoundError:
                self.folder.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path(run_id), _APPEND, 0o600)
            self._add(run_id, fd)
        return fd

    def _add(self, run_id: str, fd: int) -> None:
        if len(self._fds) >= self.max_open:  # the oldest opened goes; the helper closes it
            self._retired.append(self._fds.pop(next(iter(self._fds))))
            self._start_helper()
            self._wake.notify()
        self._fds[run_id] = fd

    def _start_helper(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._help, name="contextos-trace-files", daemon=True)
            self._thread.start()

    # -- the background thread ------------------------------------------------------------------

    def _help(self) -> None:
        """Keep one run file made ahead, and close the files moved out, until the store closes."""
        making = not os.environ.get("NOSPARE")  # until making a file fails (then runs make their own, as without this thread)
        while True:
            with self._lock:
                while not self.closed and not self._retired and not (making and self._spare is None):
                    self._wake.wait()
                if self.closed:
                    return
                retired, self._retired = self._retired, []
                make = making and self._spare is None
            for fd in retired:
                os.close(fd)
            if not make:
                continue
            run_id = format(random.getrandbits(128) or 1, "032x")
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path(run_id), _APPEND, 0o600)
            except OSError:
                making = False
                continue
            with self._lock:
                if not self.closed:
                    self._spare = (run_id, fd)
                    continue
            os.close(fd)
            self.path(run_id).unlink(missing_ok=True)
