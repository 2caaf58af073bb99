"""The current OpenTelemetry context, read and changed in as few calls as a span can afford.

OpenTelemetry's API reaches the current span through four functions (``get_current_span``,
``get_value``, ``get_current``, then the runtime context's ``get_current``) and makes a span current
through six more; every step of an agent opens several spans, and on a step that is all Python
those frames are a sizeable part of what tracing costs. With OpenTelemetry's default runtime context,
the current context is one ``ContextVar``: contextos's span helpers read and set it directly, with
the same ``Context`` values and tokens the API would use, so spans of any other instrumentation nest
with contextos's both ways.

With another runtime context (chosen through ``OTEL_PYTHON_CONTEXT``), or an OpenTelemetry release
that keeps its context differently, ``CURRENT`` is None and the helpers call the API.
"""

from __future__ import annotations

from contextvars import ContextVar

from opentelemetry import context as otel_context
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.trace import propagation


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
