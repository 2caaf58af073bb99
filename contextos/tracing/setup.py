"""The one place that configures the OpenTelemetry SDK for contextos.

```python
tracing = configure_tracing()                 # local store on, content captured locally
tracing = configure_tracing(otlp_endpoint="http://127.0.0.1:4318")   # and a collector, without content
...
tracing.shutdown()
```

``configure_tracing`` returns a ``Tracing`` handle. The only process-wide state is OpenTelemetry's
own tracer provider; contextos hangs one span processor (a ``_Pipeline``) on it, which the current
handle fills with its exporters. Calling ``configure_tracing`` again with the same settings returns
the same handle; with other settings it shuts the old exporters down and installs the new ones.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from pydantic import BaseModel, ConfigDict, Field

from contextos.errors import ConfigError
from contextos.tracing._otel_compat import hang_pipeline, pipeline_of
from contextos.tracing._recorder import RecordedSpan, SpanRecorder
from contextos.tracing.export import RedactingExporter, SpanFilter
from contextos.tracing.redact import Redactor
from contextos.tracing.runfile import TraceStoreWarning
from contextos.tracing.spans import encoder_of
from contextos.tracing.store import TRACE_DIR_ENV, TraceStore, TraceStoreProcessor
from contextos.version import __version__

TRACE_ENV = "CONTEXTOS_TRACE"
OTLP_ENV = "CONTEXTOS_OTLP_ENDPOINT"


class TracingConfig(BaseModel):
    """How contextos records traces."""

    model_config = ConfigDict(frozen=True)

    store: bool = True
    """Keep runs in the local trace store."""
    trace_dir: Path | None = None
    """The store's folder; default ``$CONTEXTOS_TRACE_DIR``, else ``<user data dir>/contextos/traces``."""
    capture_content: bool = True
    """Record prompts, completions, tool arguments and results in the local store."""
    fsync: bool = False
    """fsync the store after every span (survives a machine crash, not only a process kill)."""
    otlp_endpoint: str | None = None
    """Also export over OTLP/HTTP to this collector (e.g. ``http://127.0.0.1:4318``); needs ``contextos[otlp]``."""
    otlp_headers: dict[str, str] = Field(default_factory=dict)
    """HTTP headers for the collector (e.g. an API key for Langfuse)."""
    otlp_capture_content: bool = False
    """Send message content to the collector too (off: content stays on this machine)."""
    otlp_timeout_s: float = 5.0
    """Timeout of one OTLP export request."""
    otlp_max_queue_size: int = 65536
    """Spans queued for the collector before new ones are dropped (export never blocks the caller)."""
    redact_patterns: tuple[str, ...] = ()
    """Extra regular expressions whose matches are redacted, besides the built-in key and token patterns."""
    service_name: str = "contextos"
    """``service.name`` of the traces."""

    @classmethod
    def from_env(cls, **overrides: object) -> TracingConfig:
        """Settings from the environment: ``CONTEXTOS_TRACE=0`` turns the store off,
        ``CONTEXTOS_OTLP_ENDPOINT`` adds a collector, ``CONTEXTOS_TRACE_DIR`` moves the store."""
        values: dict[str, object] = {}
        if os.environ.get(TRACE_ENV, "").strip().lower() in ("0", "off", "false", "no"):
            values["store"] = False
        if os.environ.get(OTLP_ENV):
            values["otlp_endpoint"] = os.environ[OTLP_ENV]
        return cls(**{**values, **overrides})


class _Pipeline(SpanProcessor):
    """The processor contextos adds to the tracer provider once; forwards to the current handle's.

    It also chooses the tracer contextos's own spans open through (``tracer``): a ``SpanRecorder``
    whose spans come straight back here (``record``) when contextos made the provider and nothing else
    was added to it, the provider's SDK tracer when the application brought its own provider or added
    processors to it (they see every span start and end), and no tracer at all when nothing records."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.processors: tuple[SpanProcessor, ...] = ()
        self.capture = False
        # what spans.content_encoder() returns
        self.content_encoder: Callable[[Any], str] | None = None
        self.handle: Tracing | None = None
        self._direct: tuple[
            SpanProcessor, ...
        ] = ()  # take a RecordedSpan as it is (the local store)
        self._copied: tuple[SpanProcessor, ...] = ()  # take an SDK ReadableSpan copy (OTLP, yours)
        self._recorder = SpanRecorder(self.record, InstrumentationScope("contextos", __version__))
        self.tracer: trace.Tracer = _NOTHING

    def use(self, processors: Sequence[SpanProcessor], capture: bool) -> None:
        """Forward to ``processors`` from now on."""
        self.processors = tuple(processors)
        self.capture = capture
        # worked out here, not on every span
        self.content_encoder = encoder_of(self) if capture else None
        self._direct = tuple(
            p for p in self.processors if getattr(p, "takes_recorded_spans", False)
        )
        self._copied = tuple(p for p in self.processors if p not in self._direct)
        self.choose_tracer()

    def choose_tracer(self) -> None:
        provider = self.provider
        if isinstance(provider, _OwnProvider) and not provider.foreign:
            self.tracer = self._recorder if self.processors else _NOTHING
        else:
            self.tracer = provider.get_tracer("contextos", __version__)

    def record(self, span: RecordedSpan) -> None:
        """A span of contextos's recorder ended."""
        for p in self._direct:
            p.on_end(span)  # type: ignore[arg-type]
        if self._copied:
            readable = span.readable(self.provider.resource)
            for p in self._copied:
                p.on_end(readable)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        for p in self.processors:
            p.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        for p in self.processors:
            p.on_end(span)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all(p.force_flush(timeout_millis) for p in self.processors)

    def shutdown(self) -> None:
        for p in self.processors:
            p.shutdown()


class _OwnProvider(TracerProvider):
    """The SDK tracer provider contextos installs when the application has none: notes whether
    anything besides contextos's pipeline is added to it, since such a processor must then see
    contextos's spans too (they go through the SDK again)."""

    def __init__(self, **settings: object) -> None:
        self.foreign = False
        super().__init__(**settings)  # type: ignore[arg-type]

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        super().add_span_processor(span_processor)
        if not isinstance(span_processor, _Pipeline):
            self.foreign = True
            pipeline = pipeline_of(self)
            if pipeline is not None:
                pipeline.choose_tracer()


_lock = threading.Lock()
_NOTHING = trace.NoOpTracer()


def _pipeline(service_name: str) -> _Pipeline:
    """The pipeline on the global tracer provider, installing a provider first if there is none."""
    provider = trace.get_tracer_provider()
    pipeline: _Pipeline | None = pipeline_of(provider)
    if pipeline is not None:
        return pipeline
    if not isinstance(provider, TracerProvider):
        if type(provider).__name__ != "ProxyTracerProvider":
            raise ConfigError(
                f"the global tracer provider is a {type(provider).__name__}, not an SDK TracerProvider; "
                "contextos can only add its exporters to an SDK provider"
            )
        # an OTEL_TRACES_SAMPLER other than the default is the SDK's to apply: keep contextos's spans there
        sampled_by_env = bool(os.environ.get("OTEL_TRACES_SAMPLER"))
        made = (TracerProvider if sampled_by_env else _OwnProvider)(
            resource=Resource.create({"service.name": service_name})
        )
        trace.set_tracer_provider(made)
        provider = cast(TracerProvider, trace.get_tracer_provider())  # the one just set
    pipeline = _Pipeline(provider)
    provider.add_span_processor(pipeline)
    hang_pipeline(provider, pipeline)
    pipeline.choose_tracer()
    return pipeline


class Tracing:
    """A configured tracing setup: its settings, its store, and the exporters it installed."""

    def __init__(self, config: TracingConfig, pipeline: _Pipeline) -> None:
        self.config = config
        self._pipeline = pipeline
        self.redactor = Redactor(config.redact_patterns)
        self.store: TraceStore | None = TraceStore(config.trace_dir) if config.store else None
        self._processors: list[SpanProcessor] = []
        self._capture: list[bool] = []
        self.active = True
        if self.store is not None:  # synchronous: a span is on disk when it ends
            self._check_folder(
                self.store,
                explicit=config.trace_dir is not None or bool(os.environ.get(TRACE_DIR_ENV)),
            )
            view = SpanFilter(self.redactor, capture_content=config.capture_content)
            self._add(
                TraceStoreProcessor(self.store, view, fsync=config.fsync), config.capture_content
            )
        if config.otlp_endpoint:
            self._add(
                BatchSpanProcessor(
                    self._wrap(_otlp_exporter(config), config.otlp_capture_content),
                    max_queue_size=config.otlp_max_queue_size,
                    export_timeout_millis=config.otlp_timeout_s * 1000,
                ),
                config.otlp_capture_content,
            )

    @staticmethod
    def _check_folder(store: TraceStore, *, explicit: bool) -> None:
        """A trace folder spans cannot be written to: an error when the user named it, else a warning."""
        problem = store.check_writable()
        if problem is None:
            return
        if explicit:
            raise ConfigError(
                f"trace_dir: {problem}. Pass a writable folder (--trace-dir / CONTEXTOS_TRACE_DIR), "
                "or turn the store off (store=False / CONTEXTOS_TRACE=0)."
            )
        warnings.warn(
            f"the trace store {problem}: runs are not recorded. Set CONTEXTOS_TRACE_DIR to a writable "
            "folder, or CONTEXTOS_TRACE=0 to record nothing.",
            TraceStoreWarning,
            stacklevel=4,
        )

    def _wrap(self, exporter: SpanExporter, capture: bool) -> RedactingExporter:
        return RedactingExporter(exporter, self.redactor, capture_content=capture)

    def _add(self, processor: SpanProcessor, capture: bool) -> None:
        self._processors.append(processor)
        self._capture.append(capture)
        if self._pipeline.handle is self:
            self._pipeline.use(self._processors, any(self._capture))

    @property
    def processors(self) -> tuple[SpanProcessor, ...]:
        """The span processors of this setup (the store's ``TraceStoreProcessor`` first, when on)."""
        return tuple(self._processors)

    @property
    def current(self) -> bool:
        """Whether contextos's spans go to this setup now."""
        return self._pipeline.handle is self

    def add_processor(self, processor: SpanProcessor, *, capture_content: bool = False) -> None:
        """Hand every span to ``processor`` too, as it is (no redaction: wrap an exporter with
        ``add_exporter`` for that); ``capture_content`` says whether it wants message content."""
        self._add(processor, capture_content)

    def suspend(self) -> None:
        """Stop sending spans here, leaving the exporters open (``resume`` sends them here again)."""
        with _lock:
            if self._pipeline.handle is self:
                self._pipeline.use((), False)
                self._pipeline.handle = None

    def resume(self) -> None:
        """Make this setup the one contextos's spans go to, as it was (its store, its redactor's memory,
        its open files); the setup current until now is suspended, not shut down."""
        with _lock:
            if not self.active:
                raise ConfigError("this tracing setup was shut down; call configure_tracing again")
            self._pipeline.handle = self
            self._pipeline.use(self._processors, any(self._capture))

    def add_exporter(
        self, exporter: SpanExporter, *, capture_content: bool = False, batch: bool = False
    ) -> None:
        """Send spans to ``exporter`` too (redacted; with content only if ``capture_content``).

        ``batch=True`` exports from a background thread (for network exporters)."""
        wrapped = self._wrap(exporter, capture_content)
        processor = BatchSpanProcessor(wrapped) if batch else SimpleSpanProcessor(wrapped)
        self._add(processor, capture_content)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export whatever is queued."""
        return all(p.force_flush(timeout_millis) for p in self._processors)

    def shutdown(self) -> None:
        """Flush and close this setup's exporters; spans opened afterwards are not recorded."""
        with _lock:
            if not self.active:
                return
            self.active = False
            if self._pipeline.handle is self:
                self._pipeline.use((), False)
                self._pipeline.handle = None
        for p in self._processors:
            p.shutdown()


def configure_tracing(config: TracingConfig | None = None, **settings: object) -> Tracing:
    """Set up tracing (``settings`` are ``TracingConfig`` fields) and return its handle.

    Idempotent: the same settings give back the running handle."""
    if config is None:
        config = TracingConfig(**settings)
    elif settings:
        config = config.model_copy(update=settings)
    with _lock:
        pipeline = _pipeline(config.service_name)
        current = pipeline.handle
        if current is not None and current.active and current.config == config:
            return current
    # a bad setting raises here, before the running setup is touched
    handle = Tracing(config, pipeline)
    if current is not None:  # replace the running setup
        current.shutdown()
    with _lock:
        pipeline.handle = handle
        pipeline.use(handle._processors, any(handle._capture))
    return handle


def _otlp_exporter(config: TracingConfig) -> SpanExporter:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise ConfigError(
            "OTLP export needs the otlp extra: pip install 'contextos[otlp]' "
            "(or leave otlp_endpoint / CONTEXTOS_OTLP_ENDPOINT unset)"
        ) from None
    endpoint = config.otlp_endpoint or ""
    if not endpoint.startswith(("http://", "https://")):
        raise ConfigError(
            f"otlp_endpoint must be an http(s) URL such as http://127.0.0.1:4318, got {endpoint!r}"
        )
    if not endpoint.rstrip("/").endswith("/v1/traces"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    return OTLPSpanExporter(
        endpoint=endpoint, headers=dict(config.otlp_headers), timeout=config.otlp_timeout_s
    )
