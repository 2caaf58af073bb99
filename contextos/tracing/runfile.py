"""A run's JSONL file: how lines are appended while a run is traced, and read back.

Three kinds of line, told apart by their keys:

- a span: ``{"trace_id", "span_id", "name", ..., "attributes", "events"}``, one per finished span;
- a part: ``{"trace_id", "part": 3, "text": "<JSON of one message, tool definition or context item>"}``,
  written once per run, before the first span that refers to it. A ``chat`` span's input messages and
  tool definitions, and an assembly's context items, are stored as ``{"$parts": [0, 1, 3]}``: a
  conversation's earlier messages are not written again at every step, so a run's file grows with
  what it says, not with its steps squared;
- a loss: ``{"trace_id", "lost_spans": 2, "error": "..."}``, written when the store could not
  write some spans (a full disk) and then could again: the run is shown incomplete.

Reading skips what it cannot read (a line torn by a kill or a full disk, a garbage line, a record
of the wrong shape) and says what it skipped, so one damaged line never hides the rest of a run.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from contextos.tracing._attributes import CONTEXT_ITEMS, INPUT_MESSAGES, TOOL_DEFINITIONS
from contextos.tracing._jsontext import json_line
from contextos.tracing.records import SpanRecord

PARTS = "$parts"
"""The key of an attribute value that refers to parts: ``{"$parts": [ids]}``."""
REFERRED = (INPUT_MESSAGES, TOOL_DEFINITIONS, CONTEXT_ITEMS)
"""Attributes stored as references to parts (each message, tool definition or item once per run)."""
MAX_RUNS_REMEMBERED = 64
"""Runs whose written parts the writer remembers at once (a run is forgotten when its root span is written)."""
_APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND


class TraceStoreWarning(RuntimeWarning):
    """The trace store could not write (a full disk, a folder that went away): spans are being lost."""


class RunFiles:
    """The open run files of a store folder: appends each span's lines in one ``write`` (``O_APPEND``).

    A failed write (``ENOSPC``, ``EFBIG``, a folder that is not writable) warns once per writer and is
    counted per run; once writing works again a loss line goes before the run's next span, so the
    run reads as incomplete. A write cut short leaves a torn line: the next write starts on a new line.
    """

    def __init__(self, folder: Path, *, fsync: bool, max_open: int) -> None:
        self.folder = folder
        self.fsync = fsync
        self.max_open = max_open
        self.lost: dict[str, int] = {}
        """Spans not written, per run (cleared when the loss line is written)."""
        self.lost_total = 0
        """Spans not written since this writer opened."""
        self._fds: dict[str, int] = {}
        self._parts: dict[str, dict[str, int]] = {}  # per run: part text -> its id
        self._torn: set[str] = set()  # runs whose last write may have stopped mid-line
        self._errors: dict[str, str] = {}
        self._warned = False
        self._lock = threading.Lock()
        self.closed = False

    def open_run(self, run_id: str) -> int:
        """The open descriptor of ``run_id``'s file (opened now, closing the oldest beyond ``max_open``)."""
        if len(self._fds) >= self.max_open:  # oldest opened first
            os.close(self._fds.pop(next(iter(self._fds))))
        path = self.folder / f"{run_id}.jsonl"
        try:  # the folder is made once, not per run: each syscall here is paid on the span's end
            fd = os.open(path, _APPEND, 0o600)
        except FileNotFoundError:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, _APPEND, 0o600)
        self._fds[run_id] = fd
        return fd

    def append(self, records: Sequence[dict[str, Any]]) -> bool:
        """Write each record (a span) as its run's lines; ``False`` when closed or a write failed."""
        with self._lock:
            if self.closed:
                return False
            ok = True
            for record in records:
                ok = self._append(record) and ok
        return ok

    def _append(self, record: dict[str, Any]) -> bool:
        run_id = record["trace_id"]
        attributes = record["attributes"]
        new: list[str] = []
        # (``in`` and truth tests, not calls: every span of every step passes here)
        if (
            INPUT_MESSAGES in attributes
            or CONTEXT_ITEMS in attributes
            or TOOL_DEFINITIONS in attributes
        ):
            record, new = self._refer(run_id, record)
        data = json_line(record)
        if new or self.lost or self._torn:
            data = self._before(run_id, new) + data
        try:
            fd = self._fds.get(run_id)
            if fd is None:
                fd = self.open_run(run_id)
            written = os.write(fd, data)
            while written < len(data):  # a short write (interrupted, a full disk): the rest
                written += os.write(fd, data[written:])
            if self.fsync:
                os.fsync(fd)
        except OSError as exc:
            # part of the line may be in the file: the next write starts a new line
            self._torn.add(run_id)
            known = self._parts.get(run_id, {})
            for text in new:  # not written: written again with the next span that refers to them
                known.pop(text, None)
            self._failed(run_id, exc)
            return False
        if self.lost or self._torn:
            self.lost.pop(run_id, None)
            self._errors.pop(run_id, None)
            self._torn.discard(run_id)
        if record["parent_span_id"] is None:  # the root ended: the run is done
            self._parts.pop(run_id, None)
        return True

    def _refer(self, run_id: str, record: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """``record`` with its lists of parts (``Redactor.json``'s) replaced by references, and the
        parts this run has not written yet."""
        known = self._parts.get(run_id)
        if known is None:
            if len(self._parts) >= MAX_RUNS_REMEMBERED:
                del self._parts[next(iter(self._parts))]
            known = self._parts[run_id] = {}
        new: list[str] = []
        attributes = record["attributes"]
        for key in REFERRED:
            parts = getattr(attributes.get(key), "parts", None)
            if parts is not None:
                ids = []
                for text in parts:
                    number = known.get(text)
                    if number is None:
                        number = known[text] = len(known)
                        new.append(text)
                    ids.append(number)
                attributes = {**attributes, key: {PARTS: ids}}
        if attributes is not record["attributes"]:
            record = {**record, "attributes": attributes}
        return record, new

    def _before(self, run_id: str, new: list[str]) -> bytes:
        """What goes before a span's line: a new line after a torn one, the run's loss line, new parts."""
        chunks = [b"\n"] if run_id in self._torn else []
        if self.lost.get(run_id):
            chunks.append(
                json_line(
                    {
                        "trace_id": run_id,
                        "lost_spans": self.lost[run_id],
                        "error": self._errors.get(run_id),
                    }
                )
            )
        known = self._parts.get(run_id, {})
        chunks += [json_line({"trace_id": run_id, "part": known[t], "text": t}) for t in new]
        return b"".join(chunks)

    def _failed(self, run_id: str, exc: OSError) -> None:
        self.lost[run_id] = self.lost.get(run_id, 0) + 1
        self.lost_total += 1
        self._errors[run_id] = f"{type(exc).__name__}: {exc.strerror or exc}"
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"the trace store cannot write to {self.folder} ({exc.strerror or exc}): spans of run {run_id} "
                "are being lost and the run will show as incomplete. Free space or fix the folder "
                "(--trace-dir / CONTEXTOS_TRACE_DIR); further failures are not reported again.",
                TraceStoreWarning,
                stacklevel=2,
            )

    def close(self) -> None:
        with self._lock:
            self.closed = True
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()
            self._parts.clear()


@dataclass
class RunRead:
    """What reading a run file found."""

    spans: list[SpanRecord]
    """The readable spans, by start time."""
    skipped: list[str] = field(default_factory=list)
    """One line per thing skipped: ``line 7: not JSON``."""
    lost_spans: int = 0
    """Spans the writer said it could not write (loss lines)."""


def read_run(path: Path, *, content: bool = True) -> RunRead:
    """Read a run file; with ``content`` the parts spans refer to are put back into their attributes
    (as the JSON text they were), else references stay ``{"$parts": [...]}``. Raises ``OSError``."""
    data = path.read_bytes()
    out = RunRead([])
    parts: dict[int, str] = {}
    lines = data.split(b"\n")
    last = len(lines) - (1 if lines and not lines[-1] else 0)  # a file ends with a newline
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw.decode("utf-8"))
        except (
            ValueError,
            RecursionError,
        ) as exc:  # not UTF-8 (a character torn by a full disk), not JSON
            torn = "cut short" if number == last else "not JSON"
            out.skipped.append(f"line {number}: {torn} ({_short(exc)})")
            continue
        if not isinstance(line, dict):
            out.skipped.append(f"line {number}: not a JSON object")
        elif "span_id" in line:
            try:
                span = SpanRecord.model_validate(line)
            except ValidationError as exc:
                out.skipped.append(f"line {number}: not a span record ({_short(exc)})")
                continue
            if content:
                missing = _resolve(span.attributes, parts)
                if missing:
                    out.skipped.append(
                        f"line {number}: {missing} message(s) it refers to are missing"
                    )
            out.spans.append(span)
        elif "part" in line and isinstance(line.get("text"), str):
            parts[line["part"]] = line["text"]
        elif "lost_spans" in line:
            out.lost_spans += _count(line["lost_spans"])
        else:
            out.skipped.append(f"line {number}: not a span, message or loss record")
    out.spans.sort(key=lambda s: (s.start_time, s.end_time))
    return out


def _resolve(attributes: dict[str, Any], parts: dict[int, str]) -> int:
    """Put parts back into ``attributes`` in place; the number of parts not found."""
    missing = 0
    for key in REFERRED:
        ref = attributes.get(key)
        if isinstance(ref, dict) and isinstance(ref.get(PARTS), list):
            texts = []
            for i in ref[PARTS]:
                text = parts.get(i) if isinstance(i, int) else None
                if text is None:
                    missing += 1
                    text = json.dumps(
                        {
                            "role": "unknown",
                            "content": "[lost: this message is not in the run file]",
                        }
                    )
                texts.append(text)
            attributes[key] = "[" + ",".join(texts) + "]"
    return missing


def _count(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 1


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]
