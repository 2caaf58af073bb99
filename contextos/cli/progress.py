"""The progress display of indexing a tool catalog (``contextos demo``, ``contextos tools index``).

``ToolCatalog.upsert`` embeds the tools chunk by chunk, then the tool families, one text per family,
in one go. In a terminal a bar counts the tools with their rate and the time left, and a second line
runs while the families are embedded, so the display never sits on a full bar with its clock
stopped. When the output is not a terminal (CI logs, ``| tee``) the same news comes as plain lines,
one per chunk, as it happens.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class _Count(MofNCompleteColumn):
    """``done/total`` for the tools; nothing for the families line, whose size is not known here."""

    def render(self, task: Task) -> Text:
        return (
            Text("") if task.total is None or task.fields.get("uncounted") else super().render(task)
        )


class _Rate(ProgressColumn):
    """Tools per second, once rich has measured a rate."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return (
            Text("")
            if speed is None or task.fields.get("uncounted")
            else Text(f"{speed:,.0f} tools/s")
        )


class IndexProgress:
    """``start`` and ``advance`` fit ``open_demo_catalog``'s ``on_start`` / ``on_progress``."""

    def __init__(self, progress: Progress, label: str) -> None:
        self._progress = progress
        self._tools = progress.add_task(label, total=None, visible=False)
        self._families: TaskID | None = None

    def start(self, total: int) -> None:
        """The number of tools about to be indexed."""
        self._progress.update(self._tools, total=total, visible=True)

    def advance(self, n: int) -> None:
        """``n`` more tools are in; after the last chunk the families are embedded."""
        self._progress.advance(self._tools, n)
        tools = next(t for t in self._progress.tasks if t.id == self._tools)
        if self._families is None and tools.finished:
            self._families = self._progress.add_task(
                "then the tool families", total=None, uncounted=True
            )

    def done(self) -> None:
        """Indexing has finished."""
        if self._families is not None:
            self._progress.update(self._families, total=1, completed=1)


class PlainProgress:
    """The same calls as ``IndexProgress``, printed as plain lines (for output that is not a terminal)."""

    def __init__(self, console: Console, label: str) -> None:
        self._console = console
        self._label = label
        self._total = 0
        self._done = 0
        self._started = time.monotonic()

    def start(self, total: int) -> None:
        self._total, self._started = total, time.monotonic()
        self._console.print(f"{self._label}: {total:,} tools")

    def advance(self, n: int) -> None:
        self._done += n
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = self._done / elapsed
        left = (self._total - self._done) / rate if rate > 0 else 0.0
        eta = (
            f", about {_duration(left)} left"
            if self._done < self._total
            else f" in {_duration(elapsed)}"
        )
        self._console.print(
            f"{self._label}: {self._done:,}/{self._total:,} tools ({rate:,.0f} tools/s{eta})"
        )
        if self._done >= self._total:
            self._console.print(f"{self._label}: then the tool families")

    def done(self) -> None:
        if self._total:
            self._console.print(
                f"{self._label}: done in {_duration(time.monotonic() - self._started)}"
            )


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


@contextmanager
def index_progress(
    label: str, console: Console | None = None
) -> Iterator[IndexProgress | PlainProgress]:
    """A display of indexing ``label``; see the module docstring."""
    console = console or Console()
    if not console.is_terminal:
        plain = PlainProgress(console, label)
        yield plain
        plain.done()
        return
    columns: tuple[Any, ...] = (
        TextColumn("{task.description}"),
        BarColumn(),
        _Count(),
        _Rate(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        shown = IndexProgress(progress, label)
        yield shown
        shown.done()
