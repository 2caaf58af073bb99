"""Two writers on one table, and a writer killed mid-write: real processes, real LanceDB."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from contextos import HashingEmbedder, VectorTable

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import sys
from contextos import HashingEmbedder, VectorTable
store, name, prefix, batches = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
table = VectorTable.open(store, "t", embedder=HashingEmbedder())
for b in range(batches):
    rows = [{"id": f"{prefix}-{b}-{i}", "text": f"{prefix} batch {b} row {i}", "writer": prefix} for i in range(5)]
    rows.append({"id": "shared", "text": f"last written by {prefix} batch {b}", "writer": prefix})
    table.upsert(rows)
    print(f"ack {b}", flush=True)
"""


def _writer(store: Path, prefix: str, batches: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(store), "t", prefix, str(batches)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_two_processes_writing_one_table(tmp_path):
    # Create the table first so both writers commit to an existing one (creation races are
    # covered too, but the interesting part is concurrent merge commits).
    VectorTable.open(tmp_path, "t", embedder=HashingEmbedder()).upsert([{"id": "seed", "text": "seed", "writer": "none"}])
    a, b = _writer(tmp_path, "a", 8), _writer(tmp_path, "b", 8)
    for p in (a, b):
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    table = VectorTable.open(tmp_path, "t", embedder=HashingEmbedder(), create=False)
    assert table.count() == 1 + 2 * 8 * 5 + 1
    assert table.count("writer = 'a'") == 40 + ("a" == table.get(["shared"])[0]["writer"])
    assert table.search("batch 7 row 4", 3, mode="fts")


def test_writer_killed_mid_write_loses_nothing_acknowledged(tmp_path):
    p = _writer(tmp_path, "k", 1000)
    acknowledged = -1
    deadline = time.monotonic() + 60
    while acknowledged < 3 and time.monotonic() < deadline:
        line = p.stdout.readline()
        if line.startswith("ack"):
            acknowledged = int(line.split()[1])
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    table = VectorTable.open(tmp_path, "t", embedder=HashingEmbedder(), create=False)
    rows = table.count("writer = 'k'")
    assert rows >= (acknowledged + 1) * 5 + 1, "every acknowledged batch is there"
    assert rows % 5 == 1, "no batch is half-written"
    ids = [f"k-{b}-{i}" for b in range(acknowledged + 1) for i in range(5)]
    assert len(table.get(ids)) == len(ids)
    table.upsert([{"id": "after", "text": "the store still takes writes", "writer": "z"}])
    assert table.search("still takes writes", 1, mode="fts")[0].id == "after"
