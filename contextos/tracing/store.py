"""The local trace store: one append-only JSONL file per run, written span by span as spans end.

Each finished span is one ``write()`` of one line to a file opened with ``O_APPEND``, so once
``export`` returns the line is in the kernel: a process killed right after (even by SIGKILL) keeps
every span that finished. ``fsync=True`` also survives a machine crash, at a cost per span.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import TraceFlags

from contextos.errors import TraceError
from contextos.tracing._recorder import UNSET_STATUS
from contextos.tracing.export import SpanFilter
from contextos.tracing.records import RunSummary, SpanRecord, summarize
from contextos.tracing.runfile import RunFiles, RunRead, read_run

TRACE_DIR_ENV = "CONTEXTOS_TRACE_DIR"
_RUN_FILE = re.compile(r"^[0-9a-f]{32}\.jsonl$")


def default_trace_dir() -> Path:
    """``$CONTEXTOS_TRACE_DIR``, else ``<user data dir>/contextos/traces``."""
    env = os.environ.get(TRACE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("contextos", appauthor=False)) / "traces"


def span_record(span: ReadableSpan, view: SpanFilter | None = None) -> dict[str, Any]:
    """A finished SDK span as the JSON object the store writes; through ``view`` (redacted, content
    left out unless it captures content) when given."""
    # a SpanContext is a tuple: unpacked, not read through properties
    trace_id, span_id, _, _, _, _ = span.context
    parent = span.parent
    status = span.status
    # most spans keep the status they started with: its code and description are known without a look
    code, description = (
        ("UNSET", None)
        if status is UNSET_STATUS
        else (status.status_code._name_, status.description)
    )
    scope = span.instrumentation_scope
    if view is None:
        name, attributes = span.name, dict(span.attributes or {})
        events = [
            {"name": e.name, "time": e.timestamp, "attributes": dict(e.attributes or {})}
            for e in span.events
        ]
    else:
        name, attributes = view.text(span.name), view.attributes(span.attributes)
        events = (
            [
                {
                    "name": e.name,
                    "time": e.timestamp,
                    "attributes": view.event_attributes(e.attributes),
                }
                for e in span.events
            ]
            if span.events
            else []
        )
        if description:
            description = view.text(description)
    return {
        "trace_id": f"{trace_id:032x}",
        "span_id": f"{span_id:016x}",
        "parent_span_id": f"{parent[1]:016x}" if parent is not None else None,  # its span_id
        "name": name,
        # the members' plain attribute: ``.name`` is a property, and a dict keyed by members hashes in Python
        "kind": span.kind._name_,
        "start_time": span.start_time,
        "end_time": span.end_time,
        "status": code,
        "status_description": description,
        "attributes": attributes,
        "events": events,
        "scope": scope.name if scope else None,
    }


class TraceStore:
    """A folder of runs, one ``<run_id>.jsonl`` each; readable while and after runs write to it.

    ```python
    store = TraceStore()                # default folder (see default_trace_dir)
    run = store.runs()[0]               # newest first
    for span in store.spans(run.run_id):
        print(span.name, span.duration_ms)
    ```
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder).expanduser() if folder is not None else default_trace_dir()
        self.problems: dict[str, list[str]] = {}
        """What reading skipped, per run id (``line 7: not JSON``; a run file that could not be read at
        all): filled as runs are read, so callers can say which runs are damaged."""

    def path(self, run_id: str) -> Path:
        """The file of run ``run_id``."""
        return self.folder / f"{run_id}.jsonl"

    def run_ids(self) -> list[str]:
        """Every run id, newest file first. A ``--trace-dir`` that is a file is a ``TraceError``."""
        if not self.folder.is_dir():
            if self.folder.exists():
                raise TraceError(
                    f"{self.folder} is not a folder: pass the trace store's folder (--trace-dir)"
                )
            return []
        dated = []
        for p in self.folder.iterdir():
            if _RUN_FILE.match(p.name):
                try:
                    st = p.stat()
                except OSError:
                    continue  # removed meanwhile
                if os.path.isdir(p):
                    self.problems[p.stem] = [f"{p} is a folder, not a run file"]
                    continue
                dated.append((st.st_mtime_ns, p.stem))
        dated.sort(reverse=True)
        return [run_id for _, run_id in dated]

    def runs(self) -> list[RunSummary]:
        """A summary of every readable run, newest first; runs that cannot be read are left out and
        named in ``problems``."""
        out = []
        for run_id in self.run_ids():
            try:
                read = self._read(run_id, content=False)
            except TraceError:
                continue
            if read.spans:
                out.append(self._summarize(run_id, read))
        out.sort(key=lambda r: r.start_time, reverse=True)
        return out

    def resolve(self, ref: str) -> str:
        """The run id ``ref`` names: ``last`` (the newest run), a full id or a unique prefix of one."""
        ids = self.run_ids()
        if not ids:
            raise TraceError(
                f"no runs in {self.folder}; run something with tracing on, or pass --trace-dir"
            )
        if ref == "last":
            runs = self.runs()
            if not runs:
                raise TraceError(f"no readable runs in {self.folder}")
            return runs[0].run_id
        matches = [i for i in ids if i.startswith(ref.lower())]
        if not matches:
            raise TraceError(
                f"no run id starts with {ref!r} in {self.folder}; `contextos trace list` shows them"
            )
        if len(matches) > 1:
            raise TraceError(
                f"{ref!r} matches {len(matches)} runs ({', '.join(m[:12] for m in matches[:5])}...); give more of the id"
            )
        return matches[0]

    def spans(self, run_id: str, *, content: bool = True) -> list[SpanRecord]:
        """Every readable span of run ``run_id``, by start time. Lines that cannot be read (torn by a
        kill or a full disk, damaged) are skipped and listed in ``problems[run_id]``. Without
        ``content``, messages stored once per run stay references (``{"$parts": [...]}``): cheaper,
        for summaries and span trees."""
        return self._read(run_id, content=content).spans

    def summary(self, run_id: str) -> RunSummary:
        """The summary of one run."""
        read = self._read(run_id, content=False)
        if not read.spans:
            raise TraceError(f"run {run_id!r} has no finished spans yet")
        return self._summarize(run_id, read)

    def _read(self, run_id: str, *, content: bool) -> RunRead:
        path = self.path(run_id)
        try:
            read = read_run(path, content=content)
        except FileNotFoundError:
            raise TraceError(f"no run {run_id!r} in {self.folder}") from None
        except OSError as exc:
            self.problems[run_id] = [f"cannot read {path}: {exc.strerror or exc}"]
            raise TraceError(f"cannot read {path}: {exc}") from exc
        if read.skipped:
            self.problems[run_id] = read.skipped
        else:
            self.problems.pop(run_id, None)
        return read

    @staticmethod
    def _summarize(run_id: str, read: RunRead) -> RunSummary:
        summary = summarize(run_id, read.spans)
        if read.lost_spans:
            summary.status = "incomplete"
        summary.lost_spans = read.lost_spans
        summary.skipped_lines = len(read.skipped)
        return summary

    def check_writable(self) -> str | None:
        """Why spans could not be written to the folder (made if missing), or None when they can."""
        folder = self.folder
        if folder.exists() and not folder.is_dir():
            return f"{folder} is a file, not a folder"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return f"cannot create {folder}: {exc.strerror or exc}"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"{folder} is not writable"
        return None


class TraceStoreExporter(SpanExporter):
    """Writes each span to its run's file in the store as soon as it is exported, as it is given.

    Use it behind a ``SimpleSpanProcessor`` (and a ``RedactingExporter``), so a span is on disk when
    it ends. ``configure_tracing`` installs ``TraceStoreProcessor`` instead, which redacts while it
    writes.
    """

    def __init__(self, store: TraceStore, *, fsync: bool = False, max_open: int = 16) -> None:
        self.store = store
        self.fsync = fsync
        self._files = RunFiles(store.folder, fsync=fsync, max_open=max_open)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        ok = self._files.append([span_record(s) for s in spans])
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        self._files.close()


class TraceStoreProcessor(SpanProcessor):
    """Writes each span to its run's file as it ends, redacted (and without content unless ``view``
    captures it): what ``configure_tracing`` installs for the local store.

    It does what a ``SimpleSpanProcessor`` behind a ``RedactingExporter`` and a ``TraceStoreExporter``
    would, in one step: the record is built from the span through the filter, with no redacted copy
    of the span in between, as every span of every step pays for each object made here.
    """

    # reads contextos's own spans as they are (see contextos.tracing._recorder)
    takes_recorded_spans = True

    def __init__(
        self, store: TraceStore, view: SpanFilter, *, fsync: bool = False, max_open: int = 16
    ) -> None:
        self.store = store
        self.view = view
        self.files = RunFiles(store.folder, fsync=fsync, max_open=max_open)
        """The run files spans are appended to."""

    @property
    def lost_spans(self) -> int:
        """Spans this processor could not write (a full disk, an unwritable folder)."""
        return self.files.lost_total

    def on_end(self, span: ReadableSpan) -> None:
        ctx = span.context
        # its trace_flags (a SpanContext is a tuple)
        if ctx is not None and ctx[3] & TraceFlags.SAMPLED:
            self.files.append((span_record(span, self.view),))

    def shutdown(self) -> None:
        self.files.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
