"""The local store's writer thread: spans are written to disk beside the agent, not in its way.

Writing a span (its record, redaction, JSON line and ``write``) costs an offline agent step several
percent when it happens in the thread that ends the span. A ``SpanWriter`` takes ended spans from that
thread in a queue (a fraction of a microsecond each) and writes them from a thread of its own, which
mostly runs while the agent waits outside Python: on a model server, an embedding, a vector search.

What that costs: a span reaches the kernel shortly after it ends (at once while the agent waits, within
the interpreter's switch interval, 5 ms, while it computes), so a process killed with SIGKILL loses the
spans that ended in its last milliseconds. Everything queued is written before the interpreter exits
normally (also on an uncaught exception), when tracing is shut down or flushed, and before a
``TraceStore`` of this process reads the folder (``flush_writers``). ``TracingConfig(background_writes=False)``
writes each span before its ``end()`` returns instead.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from queue import SimpleQueue
from typing import Any

_logger = logging.getLogger(__name__)

# a writer that falls this far behind (a stalled disk) has the ending threads write themselves: memory
# stays bounded and the agent slows down instead
MAX_PENDING = 10_000

_STOP = object()
_live: weakref.WeakSet[SpanWriter] = weakref.WeakSet()


class SpanWriter:
    """Calls ``write(span)`` for every span handed to ``submit``, in order, from a daemon thread.

    ```python
    writer = SpanWriter(write_line, folder)
    writer.submit(span)      # returns at once
    writer.flush()           # everything submitted so far is written
    writer.close()
    ```
    """

    def __init__(self, write: Callable[[Any], None], folder: Path) -> None:
        self._write = write
        self.folder = folder.resolve()
        self._queue: SimpleQueue[Any] = SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.closed = False
        _live.add(self)

    def submit(self, span: Any) -> None:
        """Queue ``span`` to be written (or write it now, when the writer is closed or far behind)."""
        if self._thread is None and not self.closed:
            self._start()
        if self.closed or self._queue.qsize() >= MAX_PENDING:
            self._write(span)
        else:
            self._queue.put(span)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="contextos-trace-writer", daemon=True)
                try:
                    thread.start()
                except RuntimeError:  # no thread starts once the interpreter is exiting: spans are written at once
                    self.closed = True
                    return
                self._thread = thread

    def _run(self) -> None:
        get, handle = self._queue.get, self._handle
        while (item := get()) is not _STOP:
            handle(item)

    def _handle(self, item: Any) -> None:
        if item.__class__ is threading.Event:  # a flush: everything queued before it is written
            item.set()
            return
        try:
            self._write(item)
        except Exception:  # one bad span must not stop the writing of every later one
            _logger.exception("the trace store could not write a span")

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every span submitted so far is written; ``False`` if ``timeout_s`` passed first."""
        thread = self._thread
        if thread is None or not thread.is_alive() or thread is threading.current_thread():
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout_s)

    def close(self, timeout_s: float | None = 30.0) -> None:
        """Write what is queued and stop the thread; later spans are written by the threads that end them."""
        self.closed = True
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            self._queue.put(_STOP)
            thread.join(timeout_s)
            if thread.is_alive():  # stalled: what is left is its to write
                return
        while not self._queue.empty():  # submitted while it closed
            item = self._queue.get()
            if item is not _STOP:
                self._handle(item)

    def _forked(self) -> None:
        """In a child process: the parent's queue and thread are not this process's (the child starts
        its own thread at its first span; what the parent had queued is the parent's to write)."""
        self._queue = SimpleQueue()
        self._thread = None
        self._start_lock = threading.Lock()


def flush_writers(folder: Path | None = None, timeout_s: float | None = None) -> None:
    """Write everything this process's writers have queued (for ``folder`` only, when given): a
    ``TraceStore`` calls it before reading, so a process reads back the spans it has just ended."""
    if not _live:
        return
    folder = folder.resolve() if folder is not None else None
    for writer in list(_live):
        if folder is None or writer.folder == folder:
            writer.flush(timeout_s)


def _after_fork_in_child() -> None:
    for writer in list(_live):
        writer._forked()


atexit.register(flush_writers, timeout_s=10.0)  # a stalled disk does not hang the exit
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
