"""The LanceDB stores on object storage: an S3-compatible server (moto's) on 127.0.0.1.

VectorTable, ToolCatalog and VectorMemory on an ``s3://`` URI with the ``storage_options`` of
docs/store.md, and two writer processes racing on one table while a reader watches. Lance commits a
version by writing its manifest with a conditional put (``If-None-Match``); the server refuses the
loser (412) and the loser retries, so no write is lost without a separate commit store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from contextos import HashingEmbedder, StoreError, VectorTable
from contextos.memory import MemoryRecord, VectorMemory
from contextos.tools import Tool, ToolCatalog

pytest.importorskip("moto.server", reason="needs moto[server] (the test extra)")
from moto.server import ThreadedMotoServer

pytestmark = pytest.mark.objectstore
ROOT = Path(__file__).resolve().parents[2]
BUCKET = "contextos-test"


def _client(options: dict):
    """A boto3 S3 client of the server that ``options`` point to."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=options["aws_endpoint"],
        region_name=options["aws_region"],
        aws_access_key_id=options["aws_access_key_id"],
        aws_secret_access_key=options["aws_secret_access_key"],
    )


@pytest.fixture(scope="module")
def s3():
    """``storage_options`` for a fresh bucket on a moto S3 server of this module's own."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {
        "aws_endpoint": f"http://{host}:{port}",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "aws_region": "us-east-1",
        "allow_http": "true",
    }
    _client(options).create_bucket(Bucket=BUCKET)
    try:
        yield options
    finally:
        server.stop()


@pytest.fixture
def uri():
    """A store of each test's own in the bucket."""
    return f"s3://{BUCKET}/{uuid.uuid4().hex}"


def _open(uri: str, s3: dict, **kwargs) -> VectorTable:
    return VectorTable.open(
        uri, "items", embedder=HashingEmbedder(), connect_options={"storage_options": s3}, **kwargs
    )


def test_vector_table_on_s3(s3, uri):
    with pytest.raises(StoreError, match="no table 'items'"):
        _open(uri, s3, create=False)
    table = _open(uri, s3)
    table.upsert(
        [
            {"id": "weather", "text": "get the weather forecast for a city", "category": "weather"},
            {"id": "flight", "text": "book a flight between two airports", "category": "travel"},
            {
                "id": "hotel",
                "text": "find a hotel room in a city for given dates",
                "category": "travel",
            },
        ]
    )
    again = _open(uri, s3, create=False)
    assert again.count() == 3 and again.count("category = 'travel'") == 2
    assert again.search("weather forecast", 1, mode="fts")[0].id == "weather"
    assert again.search("a flight between airports", 1, mode="dense")[0].id == "flight"
    assert again.search("hotel room", 2, where="category = 'travel'")[0].id == "hotel"
    assert "FTS" in "".join(again.indexes().values())
    # a handle reads the version it opened until refreshed
    table.upsert(
        [{"id": "flight", "text": "book a train between two cities", "category": "travel"}]
    )
    table.delete(["hotel"])
    assert again.count() == 3
    assert again.refresh() and again.count() == 2
    assert again.get(["flight"])[0]["text"] == "book a train between two cities"


def test_a_missing_bucket_is_a_store_error(s3):
    with pytest.raises(
        StoreError, match="cannot open the LanceDB store at s3://no-such-bucket/store.*NoSuchBucket"
    ):
        VectorTable.open(
            "s3://no-such-bucket/store",
            "items",
            embedder=HashingEmbedder(),
            connect_options={"storage_options": s3},
        )


def weather(city: str, days: int = 1) -> str:
    """Get the weather forecast for a city."""
    return f"sunny in {city} for {days} days"


def convert(amount: float, currency: str) -> str:
    """Convert an amount of money into another currency."""
    return f"{amount} {currency}"


def test_tool_catalog_on_s3(s3, uri):
    catalog = ToolCatalog.open(
        uri, embedder=HashingEmbedder(), connect_options={"storage_options": s3}
    )
    catalog.add([Tool.from_function(weather), Tool.from_function(convert)])
    reopened = ToolCatalog.open(
        uri, embedder=HashingEmbedder(), create=False, connect_options={"storage_options": s3}
    )
    assert len(reopened) == 2 and "weather" in reopened
    assert reopened.search("will it rain in Oslo tomorrow forecast", k=1)[0].tool.name == "weather"
    assert reopened.get("convert").parameters["required"] == ["amount", "currency"]


def test_vector_memory_on_s3(s3, uri):
    memory = VectorMemory(
        uri, embedder=HashingEmbedder(dimension=256), connect_options={"storage_options": s3}
    )
    memory.add(
        MemoryRecord(id="m1", content="Alice moved to Berlin in May.", metadata={"user": "alice"})
    )
    memory.add(
        MemoryRecord(id="m2", content="Bob moved to Lisbon in June.", metadata={"user": "bob"})
    )
    reopened = VectorMemory(
        uri,
        embedder=HashingEmbedder(dimension=256),
        create=False,
        connect_options={"storage_options": s3},
    )
    assert reopened.get("m1").content == "Alice moved to Berlin in May."
    hits = reopened.search("where did Alice move", k=2, filters={"user": "alice"})
    assert [h.record.id for h in hits] == ["m1"]


WRITER = """
import json, logging, os, sys, time
from contextos import HashingEmbedder, VectorTable
options, name, barrier, batches, uris, delays = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5]), json.loads(sys.argv[6])
logging.basicConfig(stream=sys.stdout, level=logging.DEBUG, format="%(name)s %(message)s")
logging.getLogger().handlers[0].addFilter(lambda r: r.name == "contextos.store")
for n, (uri, delay) in enumerate(zip(uris, delays)):
    # opened before the table exists (create=True): the first upsert creates it
    table = VectorTable.open(uri, "items", embedder=HashingEmbedder(), connect_options={"storage_options": options})
    for b in range(batches):
        # a barrier per batch keeps the writers in step, so their commits race for the same version
        open(f"{barrier}.{n}.{name}.{b}", "w").close()
        deadline = time.monotonic() + 60
        while not all(os.path.exists(f"{barrier}.{n}.{w}.{b}") for w in "ab") and time.monotonic() < deadline:
            time.sleep(0.002)
        if b == 0 and name == "b":
            time.sleep(delay)  # staggered starts reach the different moments of the other's creation
        rows = [{"id": f"{name}-{b}-{i}", "text": f"writer {name} batch {b} row {i}", "writer": name} for i in range(4)]
        table.upsert(rows + [{"id": f"both-{b}", "text": f"batch {b} from both writers", "writer": "both"}])
"""


def _race(s3: dict, uris: list[str], barrier: Path, batches: int, delays: list[float]) -> str:
    """Run writers a and b on ``uris`` in turn; returns their creation log."""
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                json.dumps(s3),
                name,
                str(barrier),
                str(batches),
                json.dumps(uris),
                json.dumps(delays),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for name in "ab"
    ]
    log = ""
    for w in writers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
        log += out
    return log


def _assert_both_writers_there(reader: VectorTable, batches: int, before: int = 0) -> None:
    assert reader.count("writer = 'a'") == reader.count("writer = 'b'") == 4 * batches
    assert reader.count("writer = 'both'") == batches, "an id both inserted at once is stored once"
    assert reader.count() == before + 2 * 4 * batches + batches
    ids = [f"{w}-{b}-{i}" for w in "ab" for b in range(batches) for i in range(4)]
    assert len(reader.get(ids)) == len(ids)
    for w in "ab":
        last = f"writer {w} batch {batches - 1} row 3"
        assert reader.search(last, 1, mode="dense")[0].id == f"{w}-{batches - 1}-3"


def test_two_writer_processes_and_a_reader(s3, uri, tmp_path):
    seed = _open(uri, s3)
    seed.upsert([{"id": "seed", "text": "the first row", "writer": "none"}])
    reader = _open(uri, s3, create=False)
    batches = 4
    _race(s3, [uri], tmp_path / "barrier", batches, [0.0])
    assert reader.count() == 1, "the reader stays on the version it opened"
    assert reader.refresh()
    _assert_both_writers_there(reader, batches, before=1)
    assert reader.search("from both writers", 1, mode="fts")[0].id.startswith("both-")
    assert reader.version >= 1 + 2 * batches, "every batch is a commit of its own"


def test_two_writer_processes_creating_one_table(s3, tmp_path):
    # Both open the store before the table exists and race to create it with their first
    # upsert, once per store, b starting a little later each time.
    delays = [0.0, 0.004, 0.008, 0.012, 0.016, 0.024]
    uris = [f"s3://{BUCKET}/{uuid.uuid4().hex}" for _ in delays]
    batches = 2
    log = _race(s3, uris, tmp_path / "barrier", batches, delays)
    for uri in uris:
        reader = _open(uri, s3, create=False)
        _assert_both_writers_there(reader, batches)
        # one writer created the table; the other wrote into it, or overwrote it and put its rows back
        assert log.count(f"created table {uri}/items") + log.count(f"table {uri}/items was") == 2, (
            log
        )


def test_opening_a_table_another_process_is_creating_waits_for_it(s3, uri):
    # A creator's data files land before its first version: the table is listed but cannot be
    # opened yet. Opening it waits for the first version instead of calling it unreadable.
    import threading

    creator = _open(uri, s3)
    bucket, prefix = uri.removeprefix("s3://").split("/", 1)
    _client(s3).put_object(Bucket=bucket, Key=f"{prefix}/items.lance/data/pending.lance", Body=b"")
    done = threading.Timer(
        1.0, lambda: creator.upsert([{"id": "r1", "text": "written while another opens"}])
    )
    done.start()
    try:
        opened = _open(uri, s3, create=False)
    finally:
        done.join()
    assert opened.count() == 1 and opened.get(["r1"])[0]["text"] == "written while another opens"
