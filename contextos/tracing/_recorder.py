"""contextos's own spans: OpenTelemetry API spans recorded without the SDK's per-span machinery.

Every agent step opens four spans or more, and an SDK span does work per span that contextos's spans
do not need (a sampler call, bounded attributes that take a lock and clean every value, a processor
fan-out, end-of-span metrics). When contextos installed the tracer provider itself and
nothing else was added to it, the spans contextos opens are ``RecordedSpan`` objects from a
``SpanRecorder`` instead:

- they implement OpenTelemetry's API ``Span``, so they nest with any other instrumentation's spans
  through the OpenTelemetry context, both ways, and carry W3C trace and span ids like SDK spans;
- sampling is the SDK default's (parent-based, always on): a child of an unsampled span records nothing;
- when one ends it goes straight to contextos's pipeline: the local store reads it as it is, and every
  other processor (OTLP, exporters added with ``Tracing.add_exporter``) gets an SDK ``ReadableSpan``
  copy of it, with the provider's resource.

Spans other code opens through the SDK provider go through the SDK as usual.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

from contextos.tracing._otel_compat import CURRENT, ROOT_TRACE_FLAGS, SPAN_KEY

_logger = logging.getLogger(__name__)

# every span's status until one is set: one object, so readers can skip it
UNSET_STATUS = Status(StatusCode.UNSET)
_MAX_ATTRIBUTES = 128  # the SDK's default span limit
_SCALARS = (str, bool, int, float)
_NONE = type(None)


def _clean(key: str, value: Any) -> Any:
    """An attribute value as OpenTelemetry allows it (a scalar or a homogeneous sequence of them), else
    ``None`` with a warning, as the SDK drops such values."""
    kind = value.__class__
    if kind is str or kind is int or kind is float or kind is bool:
        return value
    if isinstance(value, _SCALARS):  # subclasses, such as a str enum
        return value
    if (
        kind is list
        or kind is tuple
        or (isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)))
    ):
        types = set(map(type, value))
        types.discard(_NONE)
        if not types or (len(types) == 1 and issubclass(types.pop(), _SCALARS)):
            return tuple(value)
    _logger.warning(
        "attribute %r: a %s is not a valid OpenTelemetry attribute value; it is not recorded",
        key,
        type(value).__name__,
    )
    return None


_getrandbits = random.getrandbits


def _new_id(bits: int) -> int:
    """A random id of ``bits`` bits other than 0 (the invalid id): called when ``_getrandbits`` drew 0."""
    while True:
        value = _getrandbits(bits)
        if value:
            return value


class RecordedSpan(trace.Span):
    """One span contextos records itself; the fields the store reads are those of an SDK ``ReadableSpan``."""

    __slots__ = (
        "_recorder",
        "attributes",
        "context",
        "dropped_attributes",
        "end_time",
        "events",
        "instrumentation_scope",
        "kind",
        "links",
        "name",
        "parent",
        "start_time",
        "status",
    )

    def __init__(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: Mapping[str, Any] | None,
        links: Sequence[Link],
        start_time: int,
        recorder: SpanRecorder,
    ) -> None:
        self.name = name
        self.context = context
        self.parent = parent
        self.kind = kind
        self.start_time = start_time
        self.end_time: int | None = None
        self.attributes: dict[str, Any] = {}
        self.events: list[Event] = []
        self.links = tuple(links)
        self.status = UNSET_STATUS
        self.dropped_attributes = 0
        self.instrumentation_scope: InstrumentationScope = recorder.scope
        self._recorder = recorder
        if attributes:
            self.set_attributes(attributes)

    def get_span_context(self) -> SpanContext:
        return self.context

    def is_recording(self) -> bool:
        return self.end_time is None

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        if self.end_time is not None:
            _logger.warning("setting attributes on ended span %r", self.name)
            return
        mine = self.attributes
        # the limit is checked per key only near it
        room = len(mine) + len(attributes) <= _MAX_ATTRIBUTES
        for key, value in attributes.items():
            kind = value.__class__
            if not (kind is str or kind is int or kind is float or kind is bool):
                value = _clean(key, value)
                if value is None:
                    continue
            if not room and len(mine) >= _MAX_ATTRIBUTES and key not in mine:
                self.dropped_attributes += 1
                continue
            mine[key] = value

    def set_attribute(self, key: str, value: Any) -> None:
        self.set_attributes({key: value})

    def add_event(
        self, name: str, attributes: Mapping[str, Any] | None = None, timestamp: int | None = None
    ) -> None:
        if self.end_time is not None:
            _logger.warning("adding event %r to ended span %r", name, self.name)
            return
        cleaned = {k: c for k, v in (attributes or {}).items() if (c := _clean(k, v)) is not None}
        self.events.append(Event(name, cleaned, timestamp or time.time_ns()))

    def add_link(self, context: SpanContext, attributes: Mapping[str, Any] | None = None) -> None:
        if self.end_time is None and context.is_valid:
            self.links += (Link(context, attributes),)

    def record_exception(
        self,
        exception: BaseException,
        attributes: Mapping[str, Any] | None = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        """An ``exception`` event with the attributes the SDK gives it."""
        module, qualname = type(exception).__module__, type(exception).__qualname__
        event: dict[str, Any] = {
            "exception.type": f"{module}.{qualname}"
            if module and module != "builtins"
            else qualname,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        event.update(attributes or {})
        self.add_event("exception", event, timestamp)

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        # as the SDK: OK is final, UNSET changes nothing
        if self.status.status_code is StatusCode.OK:
            return
        if isinstance(status, StatusCode):
            status = Status(status, description)
        if status.status_code is not StatusCode.UNSET:
            self.status = status

    def update_name(self, name: str) -> None:
        if self.end_time is None:
            self.name = name

    def end(self, end_time: int | None = None) -> None:
        if self.end_time is not None:
            _logger.warning("span %r ended twice", self.name)
            return
        self.end_time = end_time or time.time_ns()
        self._recorder.on_end(self)

    def readable(self, resource: Resource) -> ReadableSpan:
        """This span as the SDK's exporters take it."""
        return ReadableSpan(
            name=self.name,
            context=self.context,
            parent=self.parent,
            resource=resource,
            attributes=dict(self.attributes),
            events=tuple(self.events),
            links=self.links,
            kind=self.kind,
            status=self.status,
            start_time=self.start_time,
            end_time=self.end_time,
            instrumentation_scope=self.instrumentation_scope,
        )

    def __repr__(self) -> str:
        return f"RecordedSpan({self.name!r}, span_id={self.context.span_id:016x})"


class SpanRecorder(trace.Tracer):
    """An OpenTelemetry API ``Tracer`` whose spans are ``RecordedSpan``; ``on_end`` receives each as it ends."""

    def __init__(self, on_end: Callable[[RecordedSpan], None], scope: InstrumentationScope) -> None:
        self.on_end = on_end
        self.scope = scope

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, Any] | None = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        # get_current_span(context) without its four frames (see contextos.tracing._otel_compat)
        if CURRENT is not None:
            current = (CURRENT.get() if context is None else context).get(SPAN_KEY)
            if current.__class__ is RecordedSpan:
                parent: SpanContext | None = current.context
            else:
                parent = (
                    current if isinstance(current, trace.Span) else trace.INVALID_SPAN
                ).get_span_context()
        else:
            parent = trace.get_current_span(context).get_span_context()
        # SpanContexts are tuples, made here as SpanContext.__new__ makes them, without its checks: the
        # ids are drawn valid; the parent's is unpacked at once rather than read through five properties
        if parent is not None and parent[5]:  # is_valid
            trace_id, _, _, flags, state, _ = parent
            span_context = tuple.__new__(
                SpanContext, (trace_id, _getrandbits(64) or _new_id(64), False, flags, state, True)
            )
            # parent-based sampling: an unsampled trace stays unsampled
            if not flags & TraceFlags.SAMPLED:
                return NonRecordingSpan(span_context)
        else:
            parent = None
            span_context = tuple.__new__(
                SpanContext,
                (
                    _getrandbits(128) or _new_id(128),
                    _getrandbits(64) or _new_id(64),
                    False,
                    ROOT_TRACE_FLAGS,
                    DEFAULT_TRACE_STATE,
                    True,
                ),
            )
        return RecordedSpan(
            name,
            span_context,
            parent,
            kind,
            attributes,
            links or (),
            start_time or time.time_ns(),
            self,
        )

    @contextlib.contextmanager
    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, Any] | None = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[trace.Span]:
        started = self.start_span(name, context, kind, attributes, links, start_time)
        with trace.use_span(
            started,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        ) as current:
            yield current
