"""How commands report a ``ContextOSError``: its message on stderr and a non-zero exit, no traceback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer

from contextos.errors import ContextOSError

T = TypeVar("T")


@contextmanager
def reported_errors(exit_code: int = 1) -> Iterator[None]:
    """Turn a ``ContextOSError`` into ``error: <message>`` on stderr and ``exit_code``."""
    try:
        yield
    except ContextOSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exit_code) from None
