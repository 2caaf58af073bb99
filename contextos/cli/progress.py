"""The progress display of indexing a tool catalog (``contextos demo``, ``contextos tools index``).

``ToolCatalog.upsert`` embeds the tools chunk by chunk (a bar counts them), then the tool families,
one text per family, in one go: for thousands of tools that takes minutes. A second line, shown
while it runs, keeps the display from sitting on a full bar with its clock stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, Task, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text


class _Count(MofNCompleteColumn):
    """``done/total`` for the tools; nothing for the families line, whose size is not known here."""

    def render(self, task: Task) -> Text:
        return Text("") if task.total is None or task.fields.get("uncounted") else super().render(task)


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
            self._families = self._progress.add_task("then the tool families", total=None, uncounted=True)

    def done(self) -> None:
        """Indexing has finished."""
        if self._families is not None:
            self._progress.update(self._families, total=1, completed=1)


@contextmanager
def index_progress(label: str, console: Console | None = None) -> Iterator[IndexProgress]:
    """A live display of indexing ``label``; see the module docstring."""
    columns: tuple[Any, ...] = (TextColumn("{task.description}"), BarColumn(), _Count(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        shown = IndexProgress(progress, label)
        yield shown
        shown.done()
