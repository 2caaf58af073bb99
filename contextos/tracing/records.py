"""What the trace store keeps: one ``SpanRecord`` per finished span, and a ``RunSummary`` per run."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field


class SpanEvent(BaseModel):
    """Something that happened at a point in a span (a retry, an exception)."""

    name: str
    """The event's name, e.g. ``contextos.retry``."""
    time: int
    """When, in nanoseconds since the epoch."""
    attributes: dict[str, Any] = Field(default_factory=dict)
    """What the event carries."""


class SpanRecord(BaseModel):
    """One finished span as stored: a line of a run's JSONL file."""

    trace_id: str
    """The trace (= run) id, 32 hex digits."""
    span_id: str
    """This span's id, 16 hex digits."""
    parent_span_id: str | None = None
    """The parent span's id; ``None`` for the run's root."""
    name: str
    """The span's name, e.g. ``chat offline/echo`` or ``contextos.assemble``."""
    kind: str = "INTERNAL"
    """OpenTelemetry span kind (``INTERNAL``, ``CLIENT``, ...)."""
    start_time: int
    """Start, nanoseconds since the epoch."""
    end_time: int
    """End, nanoseconds since the epoch."""
    status: str = "UNSET"
    """``UNSET``, ``OK`` or ``ERROR``."""
    status_description: str | None = None
    """Why the status is ``ERROR``, when it says."""
    attributes: dict[str, Any] = Field(default_factory=dict)
    """The span's attributes (GenAI conventions and ``contextos.*``), already redacted."""
    events: list[SpanEvent] = Field(default_factory=list)
    """Events recorded on the span, in order."""
    scope: str | None = None
    """Name of the instrumentation scope (tracer) that made the span."""

    @property
    def duration_ms(self) -> float:
        """How long the span lasted, in milliseconds."""
        return (self.end_time - self.start_time) / 1e6

    @property
    def step(self) -> int | None:
        """The agent step this span belongs to, when it says so itself."""
        value = self.attributes.get("contextos.step")
        return int(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


class RunSummary(BaseModel):
    """One run of the store, as ``contextos trace list`` shows it."""

    run_id: str
    """The run id (the trace id, 32 hex digits)."""
    name: str
    """The root span's name (or the earliest span's when the root never finished)."""
    start_time: datetime
    """When the run started (UTC)."""
    duration_s: float
    """Seconds from the first span's start to the last span's end."""
    steps: int
    """Number of distinct steps (assembled contexts or model calls)."""
    input_tokens: int
    """Prompt tokens over every model call."""
    output_tokens: int
    """Completion tokens over every model call."""
    models: list[str]
    """Models called, in order of first use."""
    status: str
    """``ok``, ``error``, or ``incomplete`` (the root span never ended: killed or still running)."""
    span_count: int
    """Number of finished spans stored."""
    lost_spans: int = 0
    """Spans the store could not write (a full disk): the run shows as ``incomplete``."""
    skipped_lines: int = 0
    """Lines of the run's file that could not be read (torn or damaged) and were skipped."""

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


def _count(value: Any) -> int:
    """A token count as stored; 0 for what is not one (a damaged or hand-edited file)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return 0
    return max(0, int(value))


def summarize(run_id: str, spans: list[SpanRecord]) -> RunSummary:
    """The summary of a run from its spans (``spans`` is non-empty)."""
    roots = [s for s in spans if s.parent_span_id is None]
    first = min(spans, key=lambda s: s.start_time)
    start = min(s.start_time for s in spans)
    end = max(s.end_time for s in spans)
    steps: set[int] = set()
    models: list[str] = []
    tokens_in = tokens_out = chats = 0
    for s in spans:
        a = s.attributes
        if a.get("gen_ai.operation.name") == "chat":
            chats += 1
            tokens_in += _count(a.get("gen_ai.usage.input_tokens"))
            tokens_out += _count(a.get("gen_ai.usage.output_tokens"))
            model = a.get("gen_ai.response.model") or a.get("gen_ai.request.model")
            if model and model not in models:
                models.append(str(model))
        if s.name == "contextos.assemble" and s.step is not None:
            steps.add(s.step)
    if not roots:
        status = "incomplete"
    else:
        status = "error" if roots[0].status == "ERROR" else "ok"
    return RunSummary(
        run_id=run_id,
        name=(roots[0] if roots else first).name,
        start_time=datetime.fromtimestamp(start / 1e9, tz=UTC),
        duration_s=(end - start) / 1e9,
        steps=max(len(steps), chats if not steps else 0),
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        models=models,
        status=status,
        span_count=len(spans),
    )
