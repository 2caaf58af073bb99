"""The local trace store: one append-only JSONL file per run, written span by span as spans end.

Each finished span is one ``write()`` of one line to a file opened with ``O_APPEND``, so once
``export`` returns the line is in the kernel: a process killed right after (even by SIGKILL) keeps
every span that finished. ``fsync=True`` also survives a machine crash, at a cost per span.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, StatusCode

from contextos.errors import TraceError
from contextos.tracing.export import SpanFilter
from contextos.tracing.jsontext import compact_json
from contextos.tracing.records import RunSummary, SpanRecord, summarize
from contextos.tracing.runfiles import RunFiles

TRACE_DIR_ENV = "CONTEXTOS_TRACE_DIR"
_RUN_FILE = re.compile(r"^[0-9a-f]{32}\.jsonl$")


def default_trace_dir() -> Path:
    """``$CONTEXTOS_TRACE_DIR``, else ``<user data dir>/contextos/traces``."""
    env = os.environ.get(TRACE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("contextos", appauthor=False)) / "traces"


_KINDS = {kind: kind.name for kind in SpanKind}  # ``enum.name`` is a property lookup per call
_STATUSES = {code: code.name for code in StatusCode}


def span_record(span: ReadableSpan, view: SpanFilter | None = None) -> dict[str, Any]:
    """A finished SDK span as the JSON object the store writes; through ``view`` (redacted, content
    left out unless it captures content) when given."""
    ctx = span.context
    parent = span.parent
    status = span.status
    description = status.description
    scope = span.instrumentation_scope
    if view is None:
        name, attributes = span.name, dict(span.attributes or {})
        events = [{"name": e.name, "time": e.timestamp, "attributes": dict(e.attributes or {})} for e in span.events]
    else:
        name, attributes = view.text(span.name), view.attributes(span.attributes)
        events = [{"name": e.name, "time": e.timestamp, "attributes": view.event_attributes(e.attributes)}
                  for e in span.events]
        description = view.text(description) if description else description
    return {
        "trace_id": format(ctx.trace_id, "032x"),
        "span_id": format(ctx.span_id, "016x"),
        "parent_span_id": format(parent.span_id, "016x") if parent is not None else None,
        "name": name,
        "kind": _KINDS[span.kind],
        "start_time": span.start_time,
        "end_time": span.end_time,
        "status": _STATUSES[status.status_code],
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

    def path(self, run_id: str) -> Path:
        """The file of run ``run_id``."""
        return self.folder / f"{run_id}.jsonl"

    def run_ids(self) -> list[str]:
        """Every run id, newest file first."""
        if not self.folder.is_dir():
            return []
        files = []
        for p in self.folder.iterdir():
            if _RUN_FILE.match(p.name):
                try:
                    stat = p.stat()
                except FileNotFoundError:  # removed since listed (a run made ahead, unused, at shutdown)
                    continue
                if stat.st_size:  # empty: made ahead for a run that never started
                    files.append((stat.st_mtime_ns, p.stem))
        files.sort(reverse=True)
        return [stem for _, stem in files]

    def runs(self) -> list[RunSummary]:
        """A summary of every run, newest first."""
        out = []
        for run_id in self.run_ids():
            spans = self.spans(run_id)
            if spans:
                out.append(summarize(run_id, spans))
        out.sort(key=lambda r: r.start_time, reverse=True)
        return out

    def resolve(self, ref: str) -> str:
        """The run id ``ref`` names: ``last`` (the newest run), a full id or a unique prefix of one."""
        ids = self.run_ids()
        if not ids:
            raise TraceError(f"no runs in {self.folder}; run something with tracing on, or pass --trace-dir")
        if ref == "last":
            return self.runs()[0].run_id
        matches = [i for i in ids if i.startswith(ref.lower())]
        if not matches:
            raise TraceError(f"no run id starts with {ref!r} in {self.folder}; `contextos trace list` shows them")
        if len(matches) > 1:
            raise TraceError(f"{ref!r} matches {len(matches)} runs ({', '.join(m[:12] for m in matches[:5])}...); give more of the id")
        return matches[0]

    def spans(self, run_id: str) -> list[SpanRecord]:
        """Every stored span of run ``run_id``, by start time. A torn last line (a kill mid-write) is skipped."""
        path = self.path(run_id)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise TraceError(f"no run {run_id!r} in {self.folder}") from None
        except OSError as exc:
            raise TraceError(f"cannot read {path}: {exc}") from exc
        records = []
        lines = text.split("\n")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                records.append(SpanRecord.model_validate(json.loads(line)))
            except (ValueError, TypeError) as exc:
                if number == len(lines):  # the last line, written when the process died
                    break
                raise TraceError(f"{path}:{number} is not a span record ({exc}); the file is damaged") from exc
        records.sort(key=lambda s: (s.start_time, s.end_time))
        return records

    def summary(self, run_id: str) -> RunSummary:
        """The summary of one run."""
        spans = self.spans(run_id)
        if not spans:
            raise TraceError(f"run {run_id!r} has no finished spans yet")
        return summarize(run_id, spans)


class TraceStoreExporter(SpanExporter):
    """Writes each span to its run's file in the store as soon as it is exported, as it is given.

    Use it behind a ``SimpleSpanProcessor`` (and a ``RedactingExporter``), so a span is on disk when
    it ends. ``configure_tracing`` installs ``TraceStoreProcessor`` instead, which redacts while it
    writes.
    """

    def __init__(self, store: TraceStore, *, fsync: bool = False, max_open: int = 16) -> None:
        self.store = store
        self.fsync = fsync
        self._files = RunFiles(store.folder, fsync=fsync, max_open=max_open, encode=compact_json)

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

    takes_recorded_spans = True  # reads contextos's own spans as they are (see contextos.tracing.recorder)

    def __init__(self, store: TraceStore, view: SpanFilter, *, fsync: bool = False, max_open: int = 16) -> None:
        self.store = store
        self.view = view
        self._files = RunFiles(store.folder, fsync=fsync, max_open=max_open, encode=compact_json)

    def reserve_trace_id(self) -> int | None:
        """A new run's trace id whose file is made already (see ``contextos.tracing.runfiles``)."""
        return self._files.reserve_trace_id()

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is not None and span.context.trace_flags.sampled:
            self._files.append((span_record(span, self.view),))

    def shutdown(self) -> None:
        self._files.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
