"""The wrapper every configured exporter sits behind: redact secrets, drop content it may not see."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status

from contextos.tracing.attributes import CONTENT
from contextos.tracing.redact import Redactor


class RedactingExporter(SpanExporter):
    """Hands ``inner`` a redacted copy of each span; without ``capture_content``, also without content.

    ``configure_tracing`` puts every exporter it installs (the local store, OTLP, yours) behind
    one of these, so a secret in any attribute, event, span name or status never reaches an exporter.
    """

    def __init__(self, inner: SpanExporter, redactor: Redactor, *, capture_content: bool) -> None:
        self.inner = inner
        self.redactor = redactor
        self.capture_content = capture_content

    def clean(self, span: ReadableSpan) -> ReadableSpan:
        """A copy of ``span`` as this exporter may see it."""
        r = self.redactor
        attributes = r.attributes(span.attributes)
        if not self.capture_content:
            attributes = {k: v for k, v in attributes.items() if k not in CONTENT}
        events = [
            Event(e.name, _without_content(r.attributes(e.attributes), self.capture_content), e.timestamp)
            for e in span.events
        ]
        status = span.status
        if status.description:
            status = Status(status.status_code, r.text(status.description))
        return ReadableSpan(
            name=r.text(span.name),
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=attributes,
            events=events,
            links=span.links,
            kind=span.kind,
            status=status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([self.clean(s) for s in spans])

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self.inner.shutdown()


def _without_content(attributes: dict, capture: bool) -> dict:
    if capture:
        return attributes
    # exception events carry the message, which may quote content: keep only its type
    return {k: v for k, v in attributes.items() if k not in CONTENT and k not in ("exception.message", "exception.stacktrace")}
