"""The small helpers every part of contextos opens spans with.

Spans go to whatever tracer provider is configured; before configuration OpenTelemetry's API
hands out non-recording spans, so calling these costs next to nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode

from contextos.tracing._attributes import ERROR_TYPE
from contextos.tracing._jsontext import compact_json
from contextos.tracing._otel_compat import CURRENT, SPAN_KEY, global_provider, pipeline_of
from contextos.version import __version__

_logger = logging.getLogger(__name__)

_cached: tuple[object, trace.Tracer] | None = None


def tracer() -> trace.Tracer:
    """The tracer contextos's spans open through: once ``configure_tracing`` ran, the one its pipeline
    chose (see ``contextos.tracing.setup``); before, the current provider's (OpenTelemetry's no-op one,
    or an SDK provider someone else set), kept per provider, because the SDK builds a new ``Tracer``
    on every ``get_tracer`` call."""
    global _cached
    provider = global_provider()
    pipeline = pipeline_of(provider)
    if pipeline is not None:
        return pipeline.tracer  # type: ignore[no-any-return]
    cached = _cached
    if cached is not None and cached[0] is provider:
        return cached[1]
    made = provider.get_tracer("contextos", __version__)
    _cached = (provider, made)
    return made


class _CurrentSpan:
    """A started span made the current one for a ``with`` block, ended when the block exits.

    What ``Tracer.start_as_current_span`` does (a failure is recorded as an exception event and an
    ``ERROR`` status), plus ``error.type``, without its two nested generator context managers: every
    span of every step pays for those."""

    __slots__ = ("_span", "_token")

    def __init__(self, started: trace.Span) -> None:
        self._span = started
        self._token: object = None

    def __enter__(self) -> trace.Span:
        started = self._span
        # a non-recording span with no valid context (the no-op tracer's) is not made current, as there
        if started.is_recording() or started.get_span_context().is_valid:
            # what attach(set_span_in_context(started)) does, without its six frames
            if CURRENT is not None:
                self._token = CURRENT.set(Context({**CURRENT.get(), SPAN_KEY: started}))
            else:
                self._token = otel_context.attach(trace.set_span_in_context(started))
        return started

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        current = self._span
        try:
            if exc is not None and current.is_recording():
                current.set_attribute(ERROR_TYPE, type(exc).__qualname__)
            token = self._token
            if token is not None:
                if CURRENT is None:
                    otel_context.detach(token)  # type: ignore[arg-type]
                else:  # as detach does
                    try:
                        CURRENT.reset(token)  # type: ignore[arg-type]
                    except Exception:
                        _logger.exception("Failed to detach context")
            # as OpenTelemetry's use_span: only errors, not BaseExceptions such as a cancellation
            if isinstance(exc, Exception) and current.is_recording():
                current.record_exception(exc)
                current.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        finally:
            current.end()


def open_span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    context: Context | None = None,
) -> _CurrentSpan:
    """Start span ``name`` (a child of the current span, or of ``context``'s) for a ``with`` block."""
    return _CurrentSpan(
        tracer().start_span(name, context=context, kind=kind, attributes=attributes)
    )


def span(name: str, attributes: dict[str, Any] | None = None) -> _CurrentSpan:
    """Open a span named ``name`` as a child of the current one.

    ```python
    with span("contextos.assemble", {"contextos.step": 3}) as s:
        s.set_attribute("contextos.request_tokens", 1200)
    ```
    """
    return open_span(name, attributes)


def _pipeline(provider: object = None) -> Any:
    """The pipeline ``configure_tracing`` hung on the (current) tracer provider, or None."""
    return pipeline_of(provider or global_provider())


def capturing() -> bool:
    """Whether some configured exporter records message content (so helpers bother to serialize it)."""
    pipeline = _pipeline()
    return pipeline is not None and pipeline.capture


def encoder_of(pipeline: Any) -> Callable[[Any], str]:
    """The configured redactor's ``json`` (JSON redacted as it is made), or plain ``compact_json``."""
    handle = pipeline.handle if pipeline is not None else None
    return handle.redactor.json if handle is not None else compact_json


def content_encoder() -> Callable[[Any], str] | None:
    """While some exporter captures content, the function that encodes it (``to_json``'s); else None.
    The span helpers look it up once per span, where asking ``capturing()`` and calling ``to_json``
    would find the pipeline again for each piece of content."""
    pipeline = _pipeline()
    # kept by the pipeline: see _Pipeline.use
    return None if pipeline is None else pipeline.content_encoder


def to_json(value: Any) -> str:
    """``value`` as compact JSON text for an attribute, redacted piece by piece by the configured
    redactor (``Redactor.json``), which then passes it on without scanning it again; plain ``compact_json``
    when contextos has not configured tracing."""
    return encoder_of(_pipeline())(value)
