"""Every use contextos makes of OpenTelemetry's internals, in one place, each with its fallback.

OpenTelemetry's API reaches the current span through four functions (``get_current_span``,
``get_value``, ``get_current``, then the runtime context's ``get_current``) and makes a span current
through six more; every step of an agent opens several spans, and on a step that is all Python
those frames are a sizeable part of what tracing costs. So contextos's span helpers read a few
private names of the installed release directly:

- ``CURRENT``: with OpenTelemetry's default runtime context, the current context is one ``ContextVar``
  (``context._RUNTIME_CONTEXT._current_context``); contextos reads and sets it with the same
  ``Context`` values and tokens the API would use, so spans of any other instrumentation nest with
  contextos's both ways. With another runtime context (chosen through ``OTEL_PYTHON_CONTEXT``), or a
  release that keeps its context differently, ``CURRENT`` is None and the helpers call the API.
- ``SPAN_KEY``: the key under which a ``Context`` holds its span (``propagation._SPAN_KEY``).
- ``global_provider()``: the global tracer provider, read from ``trace._TRACER_PROVIDER`` once set.
- ``pipeline_of`` / ``hang_pipeline``: contextos's span processor, kept as an attribute on the SDK
  provider it was added to (the SDK has no way to find a processor again).
- ``ROOT_TRACE_FLAGS``: the flags the SDK gives a sampled root span (``RANDOM_TRACE_ID`` is newer
  than some releases in the supported range).

tests/tracing/test_otel_compat.py checks each against the installed release, and that no other module
of contextos touches OpenTelemetry's private names; pyproject.toml pins the range it was run on.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.trace import TraceFlags, propagation


def _current_var() -> ContextVar | None:  # type: ignore[type-arg]
    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    var = getattr(runtime, "_current_context", None)
    if type(runtime) is not ContextVarsRuntimeContext or not isinstance(var, ContextVar):
        return None
    return var


CURRENT = _current_var() if isinstance(getattr(propagation, "_SPAN_KEY", None), str) else None
"""The ``ContextVar`` holding OpenTelemetry's current ``Context``, or None (use the API)."""
SPAN_KEY: str = getattr(propagation, "_SPAN_KEY", "")
"""The key under which a ``Context`` holds its current span (``set_span_in_context``'s)."""

ROOT_TRACE_FLAGS = TraceFlags(TraceFlags.SAMPLED | getattr(TraceFlags, "RANDOM_TRACE_ID", 0))
"""The trace flags of a sampled root span with a random trace id, as the SDK sets them."""


def global_provider() -> trace.TracerProvider:
    """The global tracer provider. Once one is set it is read from OpenTelemetry's module (every span
    asks, and ``get_tracer_provider`` is two calls more); before, ``get_tracer_provider`` gives the
    proxy, or the provider its environment variable names."""
    return getattr(trace, "_TRACER_PROVIDER", None) or trace.get_tracer_provider()


_PIPELINE = "_contextos_pipeline"


def pipeline_of(provider: object) -> Any:
    """The pipeline ``hang_pipeline`` kept on ``provider``, or None."""
    return getattr(provider, _PIPELINE, None)


def hang_pipeline(provider: object, pipeline: object) -> None:
    """Keep contextos's span processor on the provider it was added to, to find it again."""
    setattr(provider, _PIPELINE, pipeline)
