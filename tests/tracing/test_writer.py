"""The store's writer thread: spans leave the ending thread at once and reach the file shortly after,
in order, before any read of this process, at exit, and in a forked child."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

import pytest

from contextos.tracing import configure_tracing, run_span, span
from contextos.tracing import writer as writer_module
from contextos.tracing.store import TraceStore
from contextos.tracing.writer import SpanWriter

from tests.conftest import ROOT


def test_spans_are_written_on_the_writer_thread_and_read_back_at_once(tmp_path):
    tracing = configure_tracing(trace_dir=tmp_path)
    try:
        processor = tracing._processors[0]
        threads = []
        append = processor._files.append
        processor._files.append = lambda records: (threads.append(threading.current_thread().name), append(records))[1]
        with run_span("written behind"):
            with span("inner"):
                pass
        # no flush here: a TraceStore of this process writes what is queued before it reads
        (run,) = TraceStore(tmp_path).runs()
        assert run.name == "written behind" and run.span_count == 2
        assert threads == ["contextos-trace-writer"] * 2
    finally:
        tracing.shutdown()


def test_the_ending_thread_does_not_wait_for_a_slow_disk(tmp_path):
    disk = threading.Event()
    written = []
    writer = SpanWriter(lambda span: (disk.wait(10), written.append(span)), tmp_path)
    start = time.perf_counter()
    for n in range(5):
        writer.submit(n)
    assert time.perf_counter() - start < 1  # the first write is stuck on the disk for up to 10 s
    assert writer.flush(timeout_s=0.05) is False and written == []
    disk.set()
    assert writer.flush(timeout_s=10) is True
    assert written == [0, 1, 2, 3, 4]
    writer.close()


def test_a_failed_write_is_logged_and_the_next_spans_are_written(tmp_path, caplog):
    written = []

    def write(span):
        if span == "bad":
            raise ValueError("no such attribute")
        written.append(span)

    writer = SpanWriter(write, tmp_path)
    with caplog.at_level(logging.ERROR, logger="contextos.tracing.writer"):
        for span in ("a", "bad", "b"):
            writer.submit(span)
        writer.close()
    assert written == ["a", "b"]
    assert "could not write a span" in caplog.text and "no such attribute" in caplog.text


def test_far_behind_or_closed_the_ending_thread_writes_itself(tmp_path, monkeypatch):
    threads = []
    writer = SpanWriter(lambda span: threads.append((span, threading.current_thread().name)), tmp_path)
    writer.submit("queued")
    writer.flush()
    monkeypatch.setattr(writer_module, "MAX_PENDING", 0)  # as if 10,000 spans were waiting
    writer.submit("behind")
    writer.close()
    writer.submit("after close")
    me = threading.current_thread().name
    assert threads == [("queued", "contextos-trace-writer"), ("behind", me), ("after close", me)]


# A process that ends spans faster than its (slowed) writer thread writes them, then exits without
# shutting tracing down: normally, or on an uncaught exception.
QUEUED_AT_EXIT = r"""
import sys, time
from contextos.tracing import configure_tracing, run_span
from contextos.tracing.store import TraceStoreProcessor

write = TraceStoreProcessor._write
TraceStoreProcessor._write = lambda self, span: (time.sleep(0.02), write(self, span))[1]
configure_tracing(trace_dir=sys.argv[1])
for n in range(20):
    with run_span(f"run {n}"):
        pass
if sys.argv[2] == "raise":
    raise RuntimeError("the agent failed")
"""


@pytest.mark.parametrize("ending", ["exit", "raise"])
def test_what_is_queued_is_written_before_the_process_exits(tmp_path, ending):
    out = subprocess.run([sys.executable, "-c", QUEUED_AT_EXIT, str(tmp_path), ending], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=60)
    assert out.returncode == (0 if ending == "exit" else 1), out.stderr
    assert sorted(r.name for r in TraceStore(tmp_path).runs()) == sorted(f"run {n}" for n in range(20))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_writes_its_own_spans_though_the_parent_held_the_locks(tmp_path):
    tracing = configure_tracing(trace_dir=tmp_path)
    try:
        with run_span("parent"):
            pass
        tracing.force_flush()
        files, redactor = tracing._processors[0]._files, tracing.redactor
        # the parent's writer thread could hold either lock at the moment another thread forks
        with files._lock, redactor._lock:
            pid = os.fork()
            if pid == 0:  # the child: end a span with a string the redactor has not seen, write it, leave
                try:
                    with run_span("child", {"note": "a string new to the redactor"}):
                        pass
                    os._exit(0 if tracing.force_flush(5000) else 2)
                finally:
                    os._exit(1)
        deadline = time.monotonic() + 30
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        if done[0] == 0:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung on a lock its parent held")
        assert os.waitstatus_to_exitcode(done[1]) == 0
        assert sorted(r.name for r in TraceStore(tmp_path).runs()) == ["child", "parent"]
    finally:
        tracing.shutdown()
