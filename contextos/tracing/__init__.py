"""Tracing: OpenTelemetry spans for every stage of a step (configured in one place, used everywhere)."""

from contextos.tracing.spans import span, tracer

__all__ = ["span", "tracer"]
