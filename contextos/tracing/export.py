"""The wrapper every configured exporter sits behind: redact secrets, drop content it may not see."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status

from contextos.tracing._attributes import CONTENT
from contextos.tracing.redact import Redactor

# exception events carry the message, which may quote content: without content only their type stays
_EVENT_CONTENT = CONTENT | {"exception.message", "exception.stacktrace"}


class SpanFilter:
    """What one exporter may see of a span: secrets redacted, and without ``capture_content`` no content.

    ``RedactingExporter`` applies it to copies of spans; the local store's processor applies it while
    writing a span's record, without the copy."""

    def __init__(self, redactor: Redactor, *, capture_content: bool) -> None:
        self.redactor = redactor
        self.capture_content = capture_content
        # the store's filter sees every span as it ends: with nothing left out, a span's attributes and
        # its name are the redactor's to clean, called directly rather than through a method here
        self.text = redactor.text
        if capture_content:
            self.attributes = redactor.attributes  # type: ignore[method-assign]

    def attributes(self, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
        """A span's attributes as the exporter may see them (content left out before it is redacted)."""
        return self._visible(attributes, CONTENT)

    def event_attributes(self, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
        """An event's attributes as the exporter may see them."""
        return self._visible(attributes, _EVENT_CONTENT)

    def _visible(
        self, attributes: Mapping[str, Any] | None, content: frozenset[str]
    ) -> dict[str, Any]:
        if not attributes:
            return {}
        if not self.capture_content:
            attributes = {k: v for k, v in attributes.items() if k not in content}
        return self.redactor.attributes(attributes)

    text: Callable[[str], str]
    """A span name or status description, redacted (the redactor's ``text``)."""


class RedactingExporter(SpanExporter):
    """Hands ``inner`` a redacted copy of each span; without ``capture_content``, also without content.

    ``configure_tracing`` puts every exporter it installs (OTLP, yours) behind one of these, and its
    local store applies the same ``SpanFilter`` while writing, so a secret in any attribute, event,
    span name or status never reaches an exporter or the store.
    """

    def __init__(self, inner: SpanExporter, redactor: Redactor, *, capture_content: bool) -> None:
        self.inner = inner
        self.filter = SpanFilter(redactor, capture_content=capture_content)

    @property
    def redactor(self) -> Redactor:
        return self.filter.redactor

    @property
    def capture_content(self) -> bool:
        return self.filter.capture_content

    def clean(self, span: ReadableSpan) -> ReadableSpan:
        """A copy of ``span`` as this exporter may see it."""
        f = self.filter
        status = span.status
        if status.description:
            status = Status(status.status_code, f.text(status.description))
        return ReadableSpan(
            name=f.text(span.name),
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=f.attributes(span.attributes),
            events=[
                Event(e.name, f.event_attributes(e.attributes), e.timestamp) for e in span.events
            ],
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
