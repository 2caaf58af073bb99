"""A stored run as OTLP/JSON (an ``ExportTraceServiceRequest``), ready to POST to a collector's
``/v1/traces`` or load into any tool that reads OTLP files."""

from __future__ import annotations

from typing import Any

from contextos.tracing.records import SpanRecord
from contextos.version import __version__

_KIND = {"INTERNAL": 1, "SERVER": 2, "CLIENT": 3, "PRODUCER": 4, "CONSUMER": 5}
_STATUS = {"UNSET": 0, "OK": 1, "ERROR": 2}


def _value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}  # int64 is a string in OTLP/JSON
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, (list, tuple)):
        return {"arrayValue": {"values": [_value(x) for x in v]}}
    return {"stringValue": str(v)}


def _attributes(attributes: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _value(v)} for k, v in attributes.items()]


def otlp_json(spans: list[SpanRecord], *, service_name: str = "contextos") -> dict[str, Any]:
    """``spans`` as one OTLP/JSON ``ExportTraceServiceRequest`` (ids in hex, times as strings)."""
    out = []
    for s in spans:
        span: dict[str, Any] = {
            "traceId": s.trace_id,
            "spanId": s.span_id,
            "name": s.name,
            "kind": _KIND.get(s.kind, 1),
            "startTimeUnixNano": str(s.start_time),
            "endTimeUnixNano": str(s.end_time),
            "attributes": _attributes(s.attributes),
            "events": [
                {
                    "timeUnixNano": str(e.time),
                    "name": e.name,
                    "attributes": _attributes(e.attributes),
                }
                for e in s.events
            ],
            "status": {
                "code": _STATUS.get(s.status, 0),
                **({"message": s.status_description} if s.status_description else {}),
            },
        }
        if s.parent_span_id:
            span["parentSpanId"] = s.parent_span_id
        out.append(span)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _attributes({"service.name": service_name})},
                "scopeSpans": [
                    {"scope": {"name": "contextos", "version": __version__}, "spans": out}
                ],
            }
        ]
    }
