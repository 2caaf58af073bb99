"""contextos's own spans (``RecordedSpan``): they nest with SDK spans both ways, follow the parent's
sampling, reach every exporter, and give way to SDK spans when someone else adds a processor.

Each test runs in a fresh interpreter: which tracer contextos uses depends on the process-wide
tracer provider, which other tests in this process may have set up already."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from contextos.tracing import RunSummary, TraceStore
from contextos.tracing._recorder import RecordedSpan, SpanRecorder
from contextos.tracing.store import span_record


def _run(code: str, tmp_path: Path, prelude: str = "") -> dict:
    """Run ``code`` (after ``prelude``) in a fresh interpreter with the store in ``tmp_path``; what it
    printed last, as JSON."""
    script = (
        "import json\nfrom contextos.tracing import configure_tracing, span\n"
        "from contextos.tracing.spans import tracer\n" + prelude + textwrap.dedent(code)
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={"CONTEXTOS_TRACE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


# contextos's helpers read and set OpenTelemetry's current context directly (contextos.tracing._otel_compat);
# without that ContextVar (another runtime context) they go through the API: both ways must nest alike
THROUGH_THE_API = "import contextos.tracing.spans as s, contextos.tracing._recorder as r\ns.CURRENT = r.CURRENT = None\n"


def test_the_current_context_is_read_from_opentelemetrys_contextvar():
    from opentelemetry import context

    from contextos.tracing._otel_compat import CURRENT, SPAN_KEY

    # else every span takes the slow path
    assert CURRENT is not None and CURRENT.get() is context.get_current()
    assert SPAN_KEY.startswith("current-span")


@pytest.mark.parametrize("prelude", ["", THROUGH_THE_API], ids=["contextvar", "api"])
def test_contextos_and_sdk_spans_nest_both_ways_and_all_reach_the_store(tmp_path, prelude):
    seen = _run(
        """
        from opentelemetry import trace
        tracing = configure_tracing()
        app = trace.get_tracer("app")
        with app.start_as_current_span("app.outer"):            # an SDK span around ...
            with span("contextos.middle") as middle:            # ... a contextos span around ...
                with app.start_as_current_span("app.inner"):    # ... an SDK span again
                    pass
        tracing.shutdown()
        print(json.dumps({"kind": type(middle).__name__, "tracer": type(tracer()).__name__,
                          "valid": middle.get_span_context().is_valid, "sampled": middle.get_span_context().trace_flags.sampled,
                          "current_after": trace.get_current_span().get_span_context().is_valid}))
    """,
        tmp_path,
        prelude,
    )
    # after shutdown nothing records; the span contexts contextos makes are valid and sampled, and
    # leaving the spans restored the empty context
    assert seen == {
        "kind": "RecordedSpan",
        "tracer": "NoOpTracer",
        "valid": True,
        "sampled": True,
        "current_after": False,
    }
    (run,) = TraceStore(tmp_path).runs()
    spans = {s.name: s for s in TraceStore(tmp_path).spans(run.run_id)}
    assert set(spans) == {"app.outer", "contextos.middle", "app.inner"}
    assert spans["contextos.middle"].parent_span_id == spans["app.outer"].span_id
    assert spans["app.inner"].parent_span_id == spans["contextos.middle"].span_id
    assert len({s.trace_id for s in spans.values()}) == 1
    assert spans["contextos.middle"].scope == "contextos" and spans["app.inner"].scope == "app"
    assert run.status == "ok" and isinstance(run, RunSummary)


def test_a_child_of_an_unsampled_parent_records_nothing(tmp_path):
    seen = _run(
        """
        from opentelemetry import trace
        from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
        configure_tracing()
        unsampled = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(TraceFlags.DEFAULT))
        with trace.use_span(NonRecordingSpan(unsampled)):
            with span("contextos.unsampled") as s:
                recording, trace_id = s.is_recording(), s.get_span_context().trace_id
        with span("contextos.sampled") as t:
            pass
        print(json.dumps({"recording": recording, "trace_id": trace_id, "second": t.is_recording()}))
    """,
        tmp_path,
    )
    # (ended: no longer recording)
    assert seen == {
        "recording": False,
        "trace_id": 0xABC,
        "second": False,
    }
    names = [
        s.name
        for run in TraceStore(tmp_path).runs()
        for s in TraceStore(tmp_path).spans(run.run_id)
    ]
    assert names == ["contextos.sampled"]


def test_other_exporters_get_sdk_spans_with_the_resource_and_scope(tmp_path):
    seen = _run(
        """
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from contextos.tracing.conventions import retry_event
        tracing = configure_tracing(service_name="svc-under-test")
        memory = InMemorySpanExporter()
        tracing.add_exporter(memory)
        try:
            with span("contextos.failing", {"contextos.step": 2, "x.list": ["a", "b"]}):
                retry_event(1, "ModelServerError: 503", delay_s=0.5)
                raise ValueError("boom")
        except ValueError:
            pass
        (got,) = memory.get_finished_spans()
        print(json.dumps({
            "type": type(got).__name__, "service": got.resource.attributes["service.name"],
            "scope": got.instrumentation_scope.name, "attrs": dict(got.attributes),
            "events": [e.name for e in got.events], "status": got.status.status_code.name,
            "error": got.attributes.get("error.type"), "ended": got.end_time >= got.start_time,
        }))
    """,
        tmp_path,
    )
    assert (
        seen["type"] == "ReadableSpan"
        and seen["service"] == "svc-under-test"
        and seen["scope"] == "contextos"
    )
    assert seen["attrs"]["contextos.step"] == 2 and seen["attrs"]["x.list"] == ["a", "b"]
    assert seen["events"] == ["contextos.retry", "exception"] and seen["status"] == "ERROR"
    assert seen["error"] == "ValueError" and seen["ended"]


def test_a_processor_added_to_the_provider_sees_contextos_spans_from_then_on(tmp_path):
    seen = _run(
        """
        from opentelemetry import trace
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        configure_tracing()
        with span("contextos.before") as before:
            pass
        memory = InMemorySpanExporter()
        trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(memory))
        with span("contextos.after") as after:
            pass
        print(json.dumps({"before": type(before).__name__, "after": type(after).__name__,
                          "seen": [s.name for s in memory.get_finished_spans()]}))
    """,
        tmp_path,
    )
    assert (
        seen["before"] == "RecordedSpan"
        and seen["after"] != "RecordedSpan"
        and seen["seen"] == ["contextos.after"]
    )
    stored = {
        s.name
        for run in TraceStore(tmp_path).runs()
        for s in TraceStore(tmp_path).spans(run.run_id)
    }
    assert stored == {"contextos.before", "contextos.after"}  # the store keeps both either way


def test_attribute_values_are_cleaned_as_the_sdk_cleans_them(caplog):
    ended: list[RecordedSpan] = []
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    recorder = SpanRecorder(ended.append, InstrumentationScope("contextos"))
    s = recorder.start_span(
        "t",
        attributes={
            "ok": "x",
            "n": 3,
            "seq": ["a", "b"],
            "mixed": ["a", 1],
            "obj": {"a": 1},
            "none": None,
        },
    )
    s.set_attribute("late", 1.5)
    other = recorder.start_span("other").get_span_context()
    s.add_link(other, {"why": "follows"})
    s.end()
    s.set_attribute("after_end", 1)  # ignored with a warning, as the SDK does
    s.end()  # a second end is ignored too
    assert ended == [s]
    assert s.attributes == {"ok": "x", "n": 3, "seq": ("a", "b"), "late": 1.5}
    assert (
        "not a valid OpenTelemetry attribute value" in caplog.text and "ended twice" in caplog.text
    )
    assert [link.context for link in s.links] == [other] and s.readable(Resource.create({})).links[
        0
    ].attributes["why"] == "follows"
    record = span_record(s)
    assert (
        record["parent_span_id"] is None
        and record["scope"] == "contextos"
        and record["kind"] == "INTERNAL"
    )
    assert json.loads(json.dumps(record))["attributes"]["seq"] == ["a", "b"]


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_numbers_still_make_a_line(value):
    from contextos.tracing._jsontext import compact_json

    assert json.loads(compact_json({"score": value}))["score"] != 0
