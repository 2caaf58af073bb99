"""benchmarks/compression.py runs against the library as it is, at a size that proves it runs (three
questions a data set), not what it measures; the BM25 baseline needs the benchmark extra and is left out."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def test_the_compression_benchmark_runs_and_scores_every_run(tmp_path, shared_data) -> None:
    out = tmp_path / "numbers.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "compression.py"),
            "--limit",
            "3",
            "--ratios",
            "0.5",
            "0.1",
            "--methods",
            "first",
            "random",
            "default",
            "--json",
            str(out),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    numbers = json.loads(out.read_text())
    assert set(numbers) == {"nq_open_multidoc20", "squad_multipara20", "litm_kv_retrieval"}
    for runs in numbers.values():
        assert set(runs) == {
            f"{m}@{r:.3f}" for m in ("first", "random", "default") for r in (0.5, 0.1)
        }
        for run, r in runs.items():
            assert r["n"] == 3 and r["missing"] == 0 and 0 <= r["survival"] <= 1, run
            # never above the target
            assert r["tiktoken_ratio"] <= float(run.split("@")[1]) + 1e-9, run
    assert "load before" in done.stdout and "default@0.100" in done.stdout
