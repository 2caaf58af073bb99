"""The store survives a SIGKILL mid-run and reads back from a fresh process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from contextos.errors import TraceError
from contextos.tracing.store import TraceStore
from tests.conftest import ROOT

# A run that blocks inside its first tool call (after the assembly and the model call of step 0
# have ended) and waits there to be killed.
KILLED_RUN = r"""
import sys, time
from pathlib import Path
from contextos.agents import Agent
from contextos.llm import ModelClient
from contextos.tracing import configure_tracing

marker = Path(sys.argv[2])

def lookup_weather(city: str) -> str:
    '''Look up the weather for a city.

    Args:
        city: The city name.
    '''
    marker.write_text("in the tool")
    time.sleep(120)
    return "never"

configure_tracing(trace_dir=sys.argv[1])
Agent(ModelClient("offline/demo"), name="doomed", tools=[lookup_weather]).run("lookup the weather in Oslo")
"""


def test_a_killed_run_keeps_the_spans_that_finished(tmp_path):
    marker = tmp_path / "marker"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(tmp_path / "traces"), str(marker)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "the run never reached its tool"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    store = TraceStore(tmp_path / "traces")  # read back here, without the run that wrote it
    (run,) = store.runs()
    assert run.status == "incomplete"
    names = [s.name for s in store.spans(run.run_id)]
    # the warm-up ended before the first step; the tool, step and agent spans never ended
    assert names == ["contextos.warmup", "contextos.assemble", "chat offline/demo"]
    assert run.steps == 1 and run.models == ["offline/demo"] and run.input_tokens > 0


def test_a_torn_last_line_and_a_damaged_middle_are_skipped_and_reported(traced_run, tmp_path):
    store, run_id = traced_run
    lines = store.path(run_id).read_text().splitlines(keepends=True)
    spans = len([line for line in lines if '"span_id"' in line])
    copy = TraceStore(tmp_path)
    tmp_path.mkdir(exist_ok=True)
    # a kill mid-write
    copy.path(run_id).write_text("".join(lines) + lines[0][: len(lines[0]) // 2])
    assert len(copy.spans(run_id)) == spans
    assert copy.problems[run_id][0].startswith(f"line {len(lines) + 1}: cut short")
    copy.path(run_id).write_text(lines[0][:20] + "\n" + "".join(lines))
    assert len(copy.spans(run_id)) == spans  # the rest of the run is still read
    assert copy.problems[run_id][0].startswith("line 1: not JSON")


def test_runs_resolve_by_prefix_and_last(traced_run, tmp_path):
    store, run_id = traced_run
    assert store.resolve(run_id[:8]) == run_id
    assert store.resolve(run_id.upper()[:10]) == run_id
    assert store.resolve("last") == store.runs()[0].run_id
    with pytest.raises(TraceError, match="no run id starts with"):
        store.resolve("zzzz")
    with pytest.raises(TraceError, match="no runs in"):
        TraceStore(tmp_path / "empty").resolve("last")


def test_trace_dir_environment_variable_moves_the_store(tmp_path):
    code = (
        "from contextos.tracing import configure_tracing, run_span\n"
        "t = configure_tracing()\n"
        "with run_span('env-run'):\n    pass\n"
        "print(t.store.folder)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "CONTEXTOS_TRACE_DIR": str(tmp_path / "envdir"),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == tmp_path / "envdir"
    (run,) = TraceStore(tmp_path / "envdir").runs()
    assert run.name == "env-run" and run.status == "ok"
    record = json.loads(TraceStore(tmp_path / "envdir").path(run.run_id).read_text())
    assert record["attributes"]["contextos.run"] == "env-run"


def test_the_store_folder_is_made_when_missing_and_again_when_removed(tmp_path):
    import shutil

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from contextos.tracing.store import TraceStoreExporter

    folder = tmp_path / "not" / "yet"
    exporter = TraceStoreExporter(TraceStore(folder))
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("first run"):
        pass
    shutil.rmtree(folder)  # e.g. a user clearing the store while the process keeps running
    with tracer.start_as_current_span("second run"):
        pass
    exporter.shutdown()
    assert [r.name for r in TraceStore(folder).runs()] == ["second run"]
