"""benchmarks/tracing.py still runs against the tracing code as it is (it switches between stores
with ``Tracing.suspend`` / ``resume`` and swaps a store's file writer for its breakdown), at a size that proves it runs, not what it measures: parts
1, 2 and 4. Part 3 (the demo agent) needs the 2,490-tool catalog indexed (`--demo-db`) and is not run
here; its modes switch through the same helpers as part 1's."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import ROOT


def test_the_tracing_benchmark_runs_and_prints_every_mode_and_part(tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CONTEXTOS_TRACE_DIR": str(tmp_path / "traces")}
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "tracing.py"),
            "--rounds",
            "2",
            "--spans",
            "5",
            "--breakdown",
            "--calls",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for mode in (
        "on",
        "on, new setup",
        "on, no content",
        "spans, no store",
        "no content, lines not written",
        "no content, one file for all runs",
    ):
        # each mode once per clock, with its paired overhead and interval
        lines = [line for line in out.splitlines() if line.strip().startswith(mode + " ")]
        assert len(lines) == 2, (mode, out)
        assert all(
            re.search(
                r"median paired \(same round\) [+-]\d+\.\d+ ms = [+-]\d+\.\d+% \(95% interval", line
            )
            for line in lines
        ), lines
    assert len(re.findall(r"span \([\d,]+ bytes a line\), .*: \d+ µs per span", out)) == 8, out
    assert re.search(r"offline agent step \(three tools\)\s+off\s+\d+, on\s+\d+: \+\d+", out), out
    assert not list((tmp_path / "traces").glob("*.jsonl")), (
        "the benchmark wrote into the user's trace folder"
    )
