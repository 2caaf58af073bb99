"""Two processes whose first write creates a new table: both batches stay (issue 26, item 1).

Real processes and real LanceDB. LanceDB's own ``create_table`` lets two creators both succeed, the
later first version replacing the earlier one; the store serialises creation on a lock file. Each
trial is a new store that two writers enter at the same instant (a busy-wait barrier), through the
table, the memory store and the tool catalog in turn.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from contextos import HashingEmbedder, ToolCatalog, VectorMemory, VectorTable

ROOT = Path(__file__).resolve().parents[2]
TRIALS = 12
ROWS = 40
KINDS = ("table", "memory", "catalog")

WRITER = """
import os, sys
from contextos import HashingEmbedder, MemoryRecord, Tool, ToolCatalog, VectorMemory, VectorTable
base, me, peer, trials, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
kinds = ("table", "memory", "catalog")
for t in range(trials):
    store, kind = f"{base}/s{t}", kinds[t % 3]
    if kind == "table":
        target = VectorTable.open(store, "t", embedder=HashingEmbedder())
        write = lambda: target.upsert([{"id": f"{me}-{i}", "text": f"{me} row {i}"} for i in range(rows)])
    elif kind == "memory":
        target = VectorMemory(store, embedder=HashingEmbedder(), dedup_threshold=None)
        write = lambda: target.add_many([MemoryRecord(id=f"{me}-{i}", content=f"{me} note {i}") for i in range(rows)])
    else:
        target = ToolCatalog.open(store, embedder=HashingEmbedder())
        write = lambda: target.upsert([Tool(name=f"{me}_{i}", description=f"{me} tool {i}") for i in range(rows)])
    open(f"{base}/ready-{me}-{t}", "w").close()
    while not os.path.exists(f"{base}/ready-{peer}-{t}"):
        pass  # busy-wait: both writers leave the barrier within microseconds
    write()
    print(f"ack {t}", flush=True)
"""


def _writer(base: Path, me: str, peer: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(base), me, peer, str(TRIALS), str(ROWS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _stored(store: Path, kind: str) -> int:
    if kind == "table":
        return VectorTable.open(store, "t", embedder=HashingEmbedder(), create=False).count()
    if kind == "memory":
        return VectorMemory(store, embedder=HashingEmbedder()).count()
    return len(
        ToolCatalog.open(store, embedder=HashingEmbedder(), create=False).table.scan(columns=["id"])
    )


def test_two_processes_creating_one_table_keep_both_batches(tmp_path):
    a, b = _writer(tmp_path, "a", "b"), _writer(tmp_path, "b", "a")
    for p in (a, b):
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert out.split() == [w for t in range(TRIALS) for w in ("ack", str(t))], (
            "every write was acknowledged"
        )
    lost = {t: 2 * ROWS - _stored(tmp_path / f"s{t}", KINDS[t % 3]) for t in range(TRIALS)}
    assert lost == dict.fromkeys(range(TRIALS), 0), (
        "rows lost per trial (acknowledged by both writers)"
    )


def test_the_lock_file_does_not_make_the_folder_foreign(tmp_path):
    # The creation lock lives in the store folder; the folder still opens as a store afterwards.
    VectorTable.open(tmp_path, "t", embedder=HashingEmbedder()).upsert([{"id": "a", "text": "a"}])
    assert (tmp_path / ".t.create.lock").exists()
    assert VectorTable.open(tmp_path, "t", embedder=HashingEmbedder(), create=False).count() == 1
