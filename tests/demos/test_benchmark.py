"""benchmarks/demos.py runs end to end on a small slice of AG News and prints the scorer's numbers."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_benchmark_retrieval_and_selection_on_a_slice(shared_data, tmp_path):
    source = shared_data / "icl_classification" / "agnews"
    task = tmp_path / "data" / "agnews"
    task.mkdir(parents=True)
    (task / "labels.json").write_text((source / "labels.json").read_text())
    for split, n in (("pool", 60), ("dev", 8)):
        lines = (source / f"{split}.jsonl").read_text().splitlines()[:n]
        (task / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
    common = [
        "--data",
        str(tmp_path / "data"),
        "--tasks",
        "agnews",
        "--embed-cache",
        str(tmp_path / "cache"),
        "--out-dir",
        str(tmp_path / "out"),
    ]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "demos.py"), *args, *common],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
        )

    done = run("retrieval")
    assert done.returncode == 0, done.stderr
    assert "| knn (16) |" in done.stdout and "| balanced (4) |" in done.stdout
    pred = [
        json.loads(line)
        for line in (tmp_path / "out" / "agnews-dev-pred.jsonl").read_text().splitlines()
    ]
    assert {p["run"] for p in pred} == {"random", "knn", "knn-dense", "mmr", "balanced"} and len(
        pred
    ) == 5 * 8
    done = run("selection", "--budgets", "4", "--seeds", "0")
    assert done.returncode == 0, done.stderr
    for method in ("votek@4", "ideal@4", "kmeans@4/s0", "random@4/s0"):
        assert f"| {method} |" in done.stdout
    runs = [
        json.loads(line)
        for line in (tmp_path / "out" / "agnews-select-4.jsonl").read_text().splitlines()
    ]
    assert all(len(r["selected_ids"]) == 4 for r in runs)
