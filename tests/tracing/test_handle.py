"""The ``Tracing`` handle's public controls: its processors, an extra processor, and switching
between two setups without shutting either down (what benchmarks/tracing.py does)."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import SpanProcessor

from contextos.errors import ConfigError
from contextos.tracing import TraceStore, TraceStoreProcessor, configure_tracing, run_span


class Names(SpanProcessor):
    """Keeps the name of every span that ends."""

    takes_recorded_spans = True

    def __init__(self) -> None:
        self.names: list[str] = []

    def on_end(self, span: object) -> None:  # type: ignore[override]
        self.names.append(span.name)  # type: ignore[attr-defined]


def _runs(folder) -> list[str]:
    return [run.run_id for run in TraceStore(folder).runs()]


def test_processors_and_an_added_processor_see_every_span(tmp_path):
    tracing = configure_tracing(trace_dir=tmp_path / "a")
    try:
        assert [type(p) for p in tracing.processors] == [TraceStoreProcessor]
        names = Names()
        tracing.add_processor(names)
        assert tracing.processors[-1] is names
        with run_span("first"):
            pass
        assert names.names == ["first"]
        assert tracing.processors[0].lost_spans == 0  # type: ignore[attr-defined]
    finally:
        tracing.shutdown()


def test_suspend_and_resume_switch_setups_without_closing_them(tmp_path):
    first = configure_tracing(trace_dir=tmp_path / "first")
    try:
        first.suspend()
        assert not first.current
        second = configure_tracing(trace_dir=tmp_path / "second")  # first is not shut down
        assert first.active and second.current
        with run_span("to the second"):
            pass
        first.resume()
        assert first.current and not second.current and second.active
        with run_span("to the first"):
            pass
        assert len(_runs(tmp_path / "first")) == 1
        assert len(_runs(tmp_path / "second")) == 1
        second.shutdown()
        with pytest.raises(ConfigError, match="shut down"):
            second.resume()
    finally:
        first.shutdown()
