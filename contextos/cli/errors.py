"""How commands report a ``ContextOSError``: its message on stderr and a non-zero exit, no traceback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import typer

from contextos.errors import ContextOSError

T = TypeVar("T")


@contextmanager
def reported_errors(exit_code: int = 1) -> Iterator[None]:
    """Turn a ``ContextOSError`` into ``error: <message>`` on stderr and ``exit_code``; a file system
    error that no check caught first (a full disk, a folder that turned read-only) the same way."""
    try:
        yield
    except ContextOSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exit_code) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(f"error: {where}{exc.strerror or exc}", err=True)
        raise typer.Exit(exit_code) from None


def check_output(path: Path, error: type[ContextOSError]) -> None:
    """``error`` unless ``path`` can be written as a file: checked before the work, not after it."""
    if path.is_dir():
        raise error(f"{path} is a folder; --out takes a file name")
    if not path.parent.is_dir():
        raise error(
            f"cannot write {path}: the folder {path.parent} does not exist; create it first"
        )
    if not os.access(path.parent, os.W_OK):
        raise error(f"cannot write {path}: the folder {path.parent} is not writable")
