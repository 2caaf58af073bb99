"""Waits that really end: work in a daemon thread that the caller stops waiting for at a deadline.

A Python thread cannot be killed. What can be guaranteed is that the *caller* stops waiting: the
work runs in a daemon thread of its own (never a shared pool that a few stuck calls would fill, and
never one that ``asyncio.run`` or interpreter exit joins), and the caller gets its answer or a
``TimeoutError`` at the deadline. A thread that was given up on finishes in the background, or
never; ``abandoned_threads()`` says how many are still running.

```python
value = call_within(lambda: slow_io(), seconds=2.0)       # blocking code
value = await asyncio.wait_for(in_daemon_thread(fn), 2.0)  # async code
```
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_running = 0
_count_lock = threading.Lock()


def abandoned_threads() -> int:
    """How many ``call_within`` / ``in_daemon_thread`` threads are running now (stuck ones included)."""
    return _running


def _start(target: Callable[[], None], name: str) -> None:
    global _running

    def counted() -> None:
        global _running
        try:
            target()
        finally:
            with _count_lock:
                _running -= 1

    with _count_lock:
        _running += 1
    context = contextvars.copy_context()  # the caller's span stays current in the thread
    threading.Thread(target=context.run, args=(counted,), name=name, daemon=True).start()


def call_within(fn: Callable[[], T], seconds: float, *, name: str = "contextos-call") -> T:
    """``fn()``'s value, or ``TimeoutError`` once ``seconds`` have passed (``fn`` goes on in the background)."""
    done = threading.Event()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller, SystemExit included
            box["error"] = exc
        finally:
            done.set()

    _start(target, name)
    if not done.wait(seconds):
        raise TimeoutError(f"no result within {seconds:g} s")
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def in_daemon_thread(fn: Callable[[], T], *, name: str = "contextos-call") -> asyncio.Future[T]:
    """A future of ``fn()`` run in a daemon thread of its own; cancelling it stops the wait, not ``fn``."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    # as asyncio.to_thread does: the caller's span, the tool's RunContext
    context = contextvars.copy_context()

    def settle(value: Any, error: BaseException | None) -> None:
        if future.done():  # given up on (cancelled at its timeout)
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def target() -> None:
        try:
            value, error = context.run(fn), None
        except BaseException as exc:
            value, error = None, exc
        # a closed loop raises RuntimeError: nobody waits for this any more
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, value, error)

    _start(target, name)
    return future
