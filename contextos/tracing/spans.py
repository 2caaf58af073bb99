"""The small helpers every part of contextos opens spans with.

Spans go to whatever tracer provider is configured; before configuration OpenTelemetry's API
hands out non-recording spans, so calling these costs next to nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace

from contextos.version import __version__


_cached: tuple[object, trace.Tracer] | None = None


def tracer() -> trace.Tracer:
    """The contextos tracer of the current tracer provider.

    Kept per provider: the SDK builds a new ``Tracer`` (and instrumentation scope) on every
    ``get_tracer`` call, a third of what opening a span costs."""
    global _cached
    provider = trace.get_tracer_provider()
    cached = _cached
    if cached is not None and cached[0] is provider:
        return cached[1]
    made = provider.get_tracer("contextos", __version__)
    _cached = (provider, made)
    return made


@contextmanager
def span(name: str, attributes: dict[str, Any] | None = None) -> Iterator[trace.Span]:
    """Open a span named ``name`` as a child of the current one.

    ```python
    with span("contextos.assemble", {"contextos.step": 3}) as s:
        s.set_attribute("contextos.request_tokens", 1200)
    ```
    """
    with tracer().start_as_current_span(name, attributes=attributes) as current:
        yield current


def capturing() -> bool:
    """Whether some configured exporter records message content (so helpers bother to serialize it)."""
    pipeline = getattr(trace.get_tracer_provider(), "_contextos_pipeline", None)
    return pipeline is not None and pipeline.capture
