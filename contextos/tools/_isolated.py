"""Running a tool in a process of its own, which is killed at the tool's timeout.

For a sync tool marked ``Tool(isolated=True)``: a thread that ignores its timeout runs on (see
``contextos._deadline``), a process does not. The price is a fresh interpreter per call (``spawn``:
no fork of a process that holds threads and locks), so the function and its arguments and result
must be picklable: a module-level function with JSON-like arguments.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any


async def run_isolated(fn: Callable[..., Any], arguments: dict[str, Any]) -> Any:
    """``fn(**arguments)`` in a child process; cancelling the wait (a timeout) kills the child."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(
        target=_child, args=(send, fn, arguments), name="contextos-isolated-tool", daemon=True
    )
    loop = asyncio.get_running_loop()
    try:
        # a spawn start blocks for a while: not on the loop
        await loop.run_in_executor(None, child.start)
        send.close()
        answered: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not answered.done():
                answered.set_result(None)

        loop.add_reader(receive.fileno(), wake)
        try:
            await answered
        finally:
            loop.remove_reader(receive.fileno())
        try:
            ok, value = receive.recv()
        except EOFError:
            raise RuntimeError(
                f"the tool's process ended without an answer (exit code {child.exitcode})"
            ) from None
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        if child.pid is not None:
            loop.run_in_executor(None, child.join)  # reaped in the background
    if not ok:
        raise value
    return value


def _child(send: Connection, fn: Callable[..., Any], arguments: dict[str, Any]) -> None:
    try:
        answer: tuple[bool, Any] = (True, fn(**arguments))
    except (Exception, SystemExit) as exc:  # the parent reports it as the tool's failure
        answer = (False, exc)
    except BaseException as exc:  # KeyboardInterrupt and the like end the tool, not the parent
        answer = (False, RuntimeError(f"{type(exc).__name__}: {exc}"))
    try:
        send.send(answer)
    except Exception as exc:  # the result or the exception could not be pickled
        send.send(
            (
                False,
                RuntimeError(
                    f"the tool's result could not be sent back ({type(exc).__name__}: {exc})"
                ),
            )
        )
    finally:
        send.close()
