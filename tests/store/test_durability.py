"""Two writers on one table, and a writer killed mid-write: real processes, real LanceDB."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lancedb

from contextos import HashingEmbedder, VectorTable

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import os, sys, time
from contextos import HashingEmbedder, VectorTable
store, prefix, batches, peers = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
table = VectorTable.open(store, "t", embedder=HashingEmbedder())
for b in range(batches):
    # A barrier per batch keeps the writers in step, so both insert the new id both-{b} at once.
    open(f"{store}.{prefix}.{b}", "w").close()
    while not all(os.path.exists(f"{store}.{p}.{b}") for p in peers):
        time.sleep(0.001)
    rows = [{"id": f"{prefix}-{b}-{i}", "text": f"{prefix} batch {b} row {i}", "writer": prefix} for i in range(5)]
    rows.append({"id": "shared", "text": f"last written by {prefix} batch {b}", "writer": prefix})
    rows.append({"id": f"both-{b}", "text": f"batch {b} from every writer", "writer": "both"})
    table.upsert(rows)
    print(f"ack {b}", flush=True)
"""


def _writer(store: Path, prefix: str, batches: int, peers: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(store), prefix, str(batches), peers],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_two_processes_writing_one_table(tmp_path):
    # Create the table first so both writers commit to an existing one (creation races are
    # covered too, but the interesting part is concurrent merge commits).
    VectorTable.open(tmp_path, "t", embedder=HashingEmbedder()).upsert(
        [{"id": "seed", "text": "seed", "writer": "none"}]
    )
    a, b = _writer(tmp_path, "a", 10, "ab"), _writer(tmp_path, "b", 10, "ab")
    for p in (a, b):
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    table = VectorTable.open(tmp_path, "t", embedder=HashingEmbedder(), create=False)
    # Both insert the new ids "shared" and both-0..9 at about the same moment: each is there once.
    assert table.count() == 1 + 2 * 10 * 5 + 1 + 10
    assert table.count("writer = 'both'") == 10
    assert table.count("writer = 'a'") == 50 + ("a" == table.get(["shared"])[0]["writer"])
    assert table.search("batch 7 row 4", 3, mode="fts")


def test_writer_killed_mid_write_loses_nothing_acknowledged(tmp_path):
    p = _writer(tmp_path, "k", 1000, "k")
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
    assert table.count("writer = 'both'") == rows // 5
    ids = [f"k-{b}-{i}" for b in range(acknowledged + 1) for i in range(5)]
    assert len(table.get(ids)) == len(ids)
    table.upsert([{"id": "after", "text": "the store still takes writes", "writer": "z"}])
    assert table.search("still takes writes", 1, mode="fts")[0].id == "after"


def test_ids_are_marked_as_the_primary_key(tmp_path):
    # The mark is what makes Lance see two concurrent inserts of one new id as a conflict.
    VectorTable.open(tmp_path, "t", embedder=HashingEmbedder()).upsert([{"id": "a", "text": "a"}])
    schema = lancedb.connect(tmp_path).open_table("t").schema
    assert schema.field("id").metadata == {b"lance-schema:unenforced-primary-key": b"true"}


def test_a_table_without_the_mark_gets_it_on_open(tmp_path):
    import pyarrow as pa

    dim = HashingEmbedder().dimension
    schema = pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("text", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), dim)),
        ]
    )
    db = lancedb.connect(tmp_path)
    db.create_table(
        "t",
        data=pa.Table.from_pylist(
            [{"id": "old", "text": "old", "vector": [0.0] * dim}], schema=schema
        ),
    )
    assert not db.open_table("t").schema.field("id").metadata
    table = VectorTable.open(tmp_path, "t", embedder=HashingEmbedder(), create=False)
    assert table.get(["old"])[0]["text"] == "old"
    assert db.open_table("t").schema.field("id").metadata == {
        b"lance-schema:unenforced-primary-key": b"true"
    }


def test_a_creation_that_overwrote_another_puts_its_rows_back(tmp_path, monkeypatch):
    # The race on an object store, made deterministic: b listed the store just before a created
    # the table, so Lance commits b's first version as an overwrite of a's (what LanceDB's
    # create_table does when the table appears between its check and its commit).
    from types import SimpleNamespace

    from lancedb.db import LanceDBConnection

    a = VectorTable.open(tmp_path, "t", embedder=HashingEmbedder())
    b = VectorTable.open(tmp_path, "t", embedder=HashingEmbedder())
    a.upsert([{"id": f"a{i}", "text": f"row {i} from a", "writer": "a"} for i in range(3)])
    a.upsert([{"id": "both", "text": "from a", "writer": "a"}])
    create_table = LanceDBConnection.create_table
    with monkeypatch.context() as race:
        race.setattr(LanceDBConnection, "list_tables", lambda db: SimpleNamespace(tables=[]))
        race.setattr(
            LanceDBConnection,
            "create_table",
            lambda db, name, **kw: create_table(db, name, **{**kw, "mode": "overwrite"}),
        )
        b.upsert(
            [
                {"id": "b0", "text": "row 0 from b", "writer": "b"},
                {"id": "both", "text": "from b", "writer": "b"},
            ]
        )
    assert b.version > 3, "b's first version replaced a's"
    # b put a's rows back; "both", written by each, keeps b's (the later) version
    reader = VectorTable.open(tmp_path, "t", embedder=HashingEmbedder(), create=False)
    assert sorted(r["id"] for r in reader.scan(columns=["id"])) == ["a0", "a1", "a2", "b0", "both"]
    assert reader.get(["both"])[0]["writer"] == "b"
    # a's handle still reads the version before the overwrite: its next write conflicts with it
    # and is made again on the latest version
    a.upsert([{"id": "a3", "text": "row 3 from a", "writer": "a"}])
    assert reader.refresh() and reader.count() == 6
    assert reader.search("row 3 from a", 1, mode="fts")[0].id == "a3"
