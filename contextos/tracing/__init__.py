"""Tracing: OpenTelemetry spans for every stage of a step (configured in one place, used everywhere).

```python
from contextos.tracing import configure_tracing, chat_span, record_chat_response

tracing = configure_tracing()              # local trace store, content captured locally, secrets redacted
with chat_span("offline/echo", messages=messages) as s:
    record_chat_response(s, input_tokens=12, output_tokens=3)
```

The span helpers are light; the SDK setup and the store load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from contextos.tracing.conventions import (
    agent_span,
    assembly_span,
    chat_span,
    compressor_span,
    provider_of,
    record_assembly,
    record_attempt,
    record_chat_response,
    record_compression,
    record_retrieval,
    record_tool_result,
    retrieval_span,
    retry_event,
    run_span,
    step_span,
    tool_span,
)
from contextos.tracing.spans import capturing, span, tracer

_LAZY = {
    "configure_tracing": "contextos.tracing.setup",
    "Tracing": "contextos.tracing.setup",
    "TracingConfig": "contextos.tracing.setup",
    "TraceStore": "contextos.tracing.store",
    "TraceStoreExporter": "contextos.tracing.store",
    "TraceStoreProcessor": "contextos.tracing.store",
    "TraceStoreWarning": "contextos.tracing.runfile",
    "default_trace_dir": "contextos.tracing.store",
    "RedactingExporter": "contextos.tracing.export",
    "SpanFilter": "contextos.tracing.export",
    "Redactor": "contextos.tracing.redact",
    "RunSummary": "contextos.tracing.records",
    "SpanRecord": "contextos.tracing.records",
    "SpanEvent": "contextos.tracing.records",
    "ReplayRequest": "contextos.tracing.view",
    "StepContext": "contextos.tracing.view",
    "ContextDiff": "contextos.tracing.view",
    "replay_request": "contextos.tracing.view",
    "step_context": "contextos.tracing.view",
    "context_diff": "contextos.tracing.view",
    "span_tree": "contextos.tracing.view",
    "html_report": "contextos.tracing.html",
    "otlp_json": "contextos.tracing.otlp_json",
}

# Eager and lazy names together; a literal list, so linters and type checkers read it.
__all__ = [
    "ContextDiff",
    "RedactingExporter",
    "Redactor",
    "ReplayRequest",
    "RunSummary",
    "SpanEvent",
    "SpanFilter",
    "SpanRecord",
    "StepContext",
    "TraceStore",
    "TraceStoreExporter",
    "TraceStoreProcessor",
    "TraceStoreWarning",
    "Tracing",
    "TracingConfig",
    "agent_span",
    "assembly_span",
    "capturing",
    "chat_span",
    "compressor_span",
    "configure_tracing",
    "context_diff",
    "default_trace_dir",
    "html_report",
    "otlp_json",
    "provider_of",
    "record_assembly",
    "record_attempt",
    "record_chat_response",
    "record_compression",
    "record_retrieval",
    "record_tool_result",
    "replay_request",
    "retrieval_span",
    "retry_event",
    "run_span",
    "span",
    "span_tree",
    "step_context",
    "step_span",
    "tool_span",
    "tracer",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'contextos.tracing' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
