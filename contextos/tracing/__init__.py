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

from typing import TYPE_CHECKING

from contextos._lazy import lazy_exports
from contextos.tracing.conventions import (
    agent_span,
    assembly_span,
    chat_span,
    compressor_span,
    record_assembly,
    record_chat_response,
    record_compression,
    record_retrieval,
    record_tool_result,
    retrieval_span,
    run_span,
    step_span,
    tool_span,
)
from contextos.tracing.spans import span

if TYPE_CHECKING:  # what type checkers and IDEs see of the names loaded on first use (_LAZY)
    from contextos.tracing.html import html_report
    from contextos.tracing.otlp_json import otlp_json
    from contextos.tracing.records import RunSummary, SpanEvent, SpanRecord
    from contextos.tracing.redact import Redactor
    from contextos.tracing.runfile import TraceStoreWarning
    from contextos.tracing.setup import Tracing, TracingConfig, configure_tracing
    from contextos.tracing.store import (
        TraceStore,
        TraceStoreExporter,
        TraceStoreProcessor,
        default_trace_dir,
    )
    from contextos.tracing.view import (
        ContextDiff,
        ReplayRequest,
        StepContext,
        context_diff,
        replay_request,
        span_tree,
        step_context,
    )

# Public names whose modules load the OpenTelemetry SDK or the store: resolved on first attribute access.
_LAZY: dict[str, str] = {
    "configure_tracing": "contextos.tracing.setup",
    "Tracing": "contextos.tracing.setup",
    "TracingConfig": "contextos.tracing.setup",
    "TraceStore": "contextos.tracing.store",
    "TraceStoreExporter": "contextos.tracing.store",
    "TraceStoreProcessor": "contextos.tracing.store",
    "default_trace_dir": "contextos.tracing.store",
    "TraceStoreWarning": "contextos.tracing.runfile",
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

__all__ = [
    "ContextDiff",
    "Redactor",
    "ReplayRequest",
    "RunSummary",
    "SpanEvent",
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
    "chat_span",
    "compressor_span",
    "configure_tracing",
    "context_diff",
    "default_trace_dir",
    "html_report",
    "otlp_json",
    "record_assembly",
    "record_chat_response",
    "record_compression",
    "record_retrieval",
    "record_tool_result",
    "replay_request",
    "retrieval_span",
    "run_span",
    "span",
    "span_tree",
    "step_context",
    "step_span",
    "tool_span",
]


__getattr__, __dir__ = lazy_exports("contextos.tracing", _LAZY, globals())
