"""VectorMemory against real LanceDB in a temporary folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from contextos.embed import HashingEmbedder
from contextos.errors import MemoryStoreError, RecordNotFoundError, StoreError
from contextos.memory import EpisodicMemory, MemoryRecord, MemoryStore, ScoringWeights, VectorMemory

ROOT = Path(__file__).resolve().parents[2]
DAY = 86400.0


def memory(path, **kwargs) -> VectorMemory:
    return VectorMemory(path, embedder=HashingEmbedder(dimension=256), **kwargs)


def test_add_get_update_delete_roundtrip(tmp_path):
    m = memory(tmp_path)
    assert isinstance(m, MemoryStore)
    r = MemoryRecord(
        id="m1",
        content="Alice moved to Berlin in May.",
        importance=0.8,
        metadata={"user": "alice", "session": "s1", "tags": ["home", "move"], "city": "Berlin"},
        provenance={"run_id": "run-1", "step": 3},
    )
    assert m.add(r) == r
    got = m.get("m1")
    assert got == r and got.metadata.free == {"city": "Berlin"} and got.provenance.step == 3
    new = m.update("m1", content="Alice moved to Munich in June.", metadata={"city": "Munich"})
    assert (
        m.get("m1").content == "Alice moved to Munich in June."
        and new.metadata.free["city"] == "Munich"
    )
    assert new.metadata.user == "alice" and new.updated_at is not None
    assert m.search("where did Alice move", k=1)[0].record.id == "m1"
    m.delete("m1")
    with pytest.raises(RecordNotFoundError, match="m1"):
        m.get("m1")
    with pytest.raises(RecordNotFoundError):
        m.delete("m1")
    with pytest.raises(RecordNotFoundError):
        m.update("nope", importance=0.1)


def test_bad_input_is_refused_and_nothing_is_written(tmp_path):
    m = memory(tmp_path)
    with pytest.raises(MemoryStoreError, match="content is empty"):
        MemoryRecord(id="x", content="   ")
    with pytest.raises(MemoryStoreError, match="importance"):
        MemoryRecord(id="x", content="a", importance=3)
    m.add(MemoryRecord(id="a", content="first fact", metadata={"user": "u"}))
    with pytest.raises(MemoryStoreError, match="repeat"):
        m.add_many([MemoryRecord(id="b", content="x y"), MemoryRecord(id="b", content="z w")])
    with pytest.raises(MemoryStoreError, match="cannot update"):
        m.update("a", colour="red")
    assert m.count() == 1
    with pytest.raises(MemoryStoreError, match="non-empty query"):
        m.search("  ")


def test_filters_per_user_session_tags_and_free_fields(tmp_path):
    m = memory(tmp_path, dedup_threshold=None)
    m.add_many(
        [
            MemoryRecord(
                id=f"r{i}",
                content=f"the project deadline is on day {i}",
                metadata={
                    "user": f"u{i % 2}",
                    "session": f"s{i % 3}",
                    "tags": ["work"] if i % 2 else ["home_x"],
                    "conv_id": f"conv-{i % 4}",
                    "n": i,
                    "quote": 'he said "hi"' if i == 5 else "no",
                },
            )
            for i in range(12)
        ]
    )
    ids = lambda hits: {h.record.id for h in hits}  # noqa: E731
    assert ids(m.search("deadline", 20, {"user": "u1"})) == {f"r{i}" for i in range(12) if i % 2}
    assert ids(m.search("deadline", 20, {"user": "u0", "session": "s0"})) == {"r0", "r6"}
    assert ids(m.search("deadline", 20, {"session": ["s1", "s2"]})) == {
        f"r{i}" for i in range(12) if i % 3
    }
    assert ids(m.search("deadline", 20, {"tags": "work"})) == {f"r{i}" for i in range(12) if i % 2}
    assert ids(m.search("deadline", 20, {"tags": "home_x"})) == {
        f"r{i}" for i in range(12) if not i % 2
    }
    # Free fields match exactly: conv-1 is not conv-10, 1 is not 11, quotes survive.
    assert ids(m.search("deadline", 20, {"conv_id": "conv-1"})) == {"r1", "r5", "r9"}
    assert ids(m.search("deadline", 20, {"n": 1})) == {"r1"}
    assert ids(m.search("deadline", 20, {"quote": 'he said "hi"'})) == {"r5"}
    assert m.count({"conv_id": "conv-2"}) == 3
    with pytest.raises(
        MemoryStoreError, match="no record in this store has a metadata field 'convid'"
    ):
        m.search("deadline", 5, {"convid": "conv-1"})
    with pytest.raises(
        MemoryStoreError, match="records hold 'user' as string, the filter gives number 3"
    ):
        m.search("deadline", 5, {"user": 3})
    with pytest.raises(MemoryStoreError, match="'role' takes non-empty strings"):
        m.search("deadline", 5, {"role": 3})


async def test_a_fresh_store_answers_free_field_filters_with_nothing(tmp_path):
    from contextos import Step
    from contextos.memory import MemorySource

    m = memory(tmp_path)
    # An agent's first step, its memory filtered per conversation: no records yet, no error.
    source = MemorySource(m, filters={"conv_id": "conv-26"})
    assert await source.candidates(Step(input="what did Caroline do in May?")) == []
    assert m.count({"conv_id": "conv-26"}) == 0
    m.add(
        MemoryRecord(
            id="a",
            content="Caroline went to a support group in May.",
            metadata={"conv_id": "conv-26"},
        )
    )
    assert [
        i.metadata["record_id"]
        for i in await source.candidates(Step(input="what did Caroline do in May?"))
    ] == ["a"]
    # Once records exist, a field none of them has is a typo again.
    with pytest.raises(MemoryStoreError, match="metadata field 'convid'"):
        m.search("Caroline", 1, {"convid": "conv-26"})


def test_recent_fact_overrules_older_one_when_recency_is_weighted(tmp_path):
    now = 1_700_000_000.0
    records = [
        MemoryRecord(
            id="old",
            content="Alice lives in Paris, in a flat near the river.",
            created_at=now - 400 * DAY,
        ),
        MemoryRecord(id="new", content="Alice lives in Berlin now.", created_at=now - 2 * DAY),
    ]
    # Other memories of the store: relevance is scaled over the candidates a search finds.
    records += [
        MemoryRecord(
            id=f"other-{i}", content=f"Bob's {thing} is {colour}.", created_at=now - 100 * DAY
        )
        for i, (thing, colour) in enumerate(
            [("car", "red"), ("bike", "blue"), ("door", "green"), ("hat", "black")]
        )
    ]
    plain = memory(tmp_path / "a", weights=ScoringWeights(recency=0.0, importance=0.0))
    plain.add_many(records)
    weighted = memory(tmp_path / "b", weights=ScoringWeights(recency=1.0, half_life_s=30 * DAY))
    weighted.add_many(records)
    query = "Alice lives in Paris flat river"  # lexically closer to the old fact
    assert plain.search(query, 2, now=now)[0].record.id == "old"
    top = weighted.search(query, 2, now=now)
    assert top[0].record.id == "new" and top[0].recency > top[1].recency


def test_importance_lifts_an_equally_relevant_record(tmp_path):
    now = 1_700_000_000.0
    records = [
        MemoryRecord(
            id=rid, content="Alice's favourite colour is green.", importance=imp, created_at=now
        )
        for rid, imp in (("a-low", 0.1), ("b-high", 0.9))
    ]
    # Dense: equal vectors give equal relevance (fused ranks would differ by list position).
    plain = memory(
        tmp_path / "a",
        mode="dense",
        dedup_threshold=None,
        weights=ScoringWeights(recency=0.0, importance=0.0),
    )
    plain.add_many(records)
    # default weights count importance
    weighted = memory(tmp_path / "b", mode="dense", dedup_threshold=None)
    weighted.add_many(records)
    top = plain.search("favourite colour", 2, now=now)
    assert [h.record.id for h in top] == ["a-low", "b-high"] and top[0].score == top[
        1
    ].score  # a tie, broken by id
    top = weighted.search("favourite colour", 2, now=now)
    assert [h.record.id for h in top] == ["b-high", "a-low"] and top[0].relevance == top[
        1
    ].relevance
    assert top[0].score - top[1].score == pytest.approx(0.05 * (0.9 - 0.1))


def test_near_duplicates_merge_on_write(tmp_path):
    clock = iter(range(1000, 2000)).__next__
    m = memory(tmp_path, clock=lambda: float(clock()))
    first = m.add(
        MemoryRecord(
            id="a",
            content="The user prefers window seats on flights.",
            importance=0.3,
            metadata={"user": "u"},
        )
    )
    again = m.add(
        MemoryRecord(
            id="b",
            content="The user prefers window seats on flights!",
            importance=0.9,
            metadata={"user": "u"},
        )
    )
    assert again.id == "a" and again.importance == 0.9 and again.updated_at is not None
    assert m.count() == 1 and first.updated_at is None and m.get("b").id == "a"
    # Another user's identical fact is theirs, not a duplicate.
    other = m.add(
        MemoryRecord(
            id="c", content="The user prefers window seats on flights.", metadata={"user": "v"}
        )
    )
    assert other.id == "c" and m.count() == 2
    # Within one batch too.
    out = m.add_many(
        [
            MemoryRecord(id="d", content="Flight at 9 am", metadata={"user": "w"}),
            MemoryRecord(id="e", content="flight at 9 AM", metadata={"user": "w"}),
        ]
    )
    assert [r.id for r in out] == ["d", "d"] and m.count() == 3
    assert (
        m.add_many(
            [MemoryRecord(id="f", content="flight at 9 am", metadata={"user": "w"})], dedup=False
        )[0].id
        == "f"
    )
    assert m.count() == 4


def test_not_a_store_and_not_a_memory_table(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(StoreError, match="not a LanceDB store"):
        memory(tmp_path)
    with pytest.raises(StoreError, match="no store"):
        memory(tmp_path / "missing", create=False)
    from contextos.store import VectorTable

    VectorTable.open(tmp_path / "db", "memory", embedder=HashingEmbedder(dimension=256)).upsert(
        [{"id": "x", "text": "y"}]
    )
    with pytest.raises(StoreError, match="not a memory table"):
        memory(tmp_path / "db")


WRITER = textwrap.dedent(
    """
    import sys
    from contextos.embed import HashingEmbedder
    from contextos.memory import EpisodicMemory, MemoryRecord, Trajectory, VectorMemory
    store, path, prefix, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    embedder = HashingEmbedder(dimension=256)
    if store == "vector":
        m = VectorMemory(path, embedder=embedder, dedup_threshold=None)
        def write(i):
            return m.add(MemoryRecord(id=f"{prefix}-{i}", content=f"{prefix} wrote fact {i} " + "word " * (i % 7),
                                      metadata={"user": prefix}))
    else:
        m = EpisodicMemory(path, embedder=embedder)
        def write(i):
            return m.record(Trajectory(id=f"{prefix}-{i}", task=f"{prefix} wrote fact {i} " + "word " * (i % 7),
                                       outcome="done", success=True, metadata={"user": prefix}))
    print("ready", flush=True)
    for i in range(n):
        print("ack", write(i).id, flush=True)
    """
)

STORES = ["vector", "episodic"]
"""Both LanceDB-backed stores go through the crash and two-writer tests in their own processes."""


def _writer(tmp_path: Path, store: str, db: Path, prefix: str, n: int) -> subprocess.Popen:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(script), store, str(db), prefix, str(n)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _reopen(store: str, db: Path) -> VectorMemory:
    """The VectorMemory under the store the writers used (EpisodicMemory keeps its records in one)."""
    if store == "vector":
        return memory(db)
    return EpisodicMemory(db, embedder=HashingEmbedder(dimension=256)).store


@pytest.mark.parametrize("store", STORES)
def test_killed_writer_loses_nothing_acknowledged(tmp_path, store):
    db = tmp_path / "db"
    proc = _writer(tmp_path, store, db, "k", 10_000)
    acked: list[str] = []
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 60
    while len(acked) < 25 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("ack "):
            acked.append(line.split()[1])
    time.sleep(0.013)  # land the kill somewhere inside a later write
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    acked += [
        line.split()[1] for line in proc.stdout.read().splitlines() if line.startswith("ack ")
    ]
    assert proc.returncode == -signal.SIGKILL and len(acked) >= 25
    m = _reopen(store, db)  # readable after the kill
    stored = {r.id for r in m.get_many(acked)}
    assert stored == set(acked)
    assert m.count() >= len(acked)
    assert m.search("wrote fact", 3, {"user": "k"})
    m.add(MemoryRecord(id="after", content="written after the crash"))  # and writable
    assert m.get("after").content == "written after the crash"


@pytest.mark.parametrize("store", STORES)
def test_two_processes_write_the_same_store(tmp_path, store):
    db = tmp_path / "db"
    _reopen(store, db).add(MemoryRecord(id="seed", content="seed record"))
    procs = [_writer(tmp_path, store, db, p, 30) for p in ("a", "b")]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    m = _reopen(store, db)
    assert m.count() == 61
    for prefix in ("a", "b"):
        assert len(m.get_many([f"{prefix}-{i}" for i in range(30)])) == 30
        assert m.count({"user": prefix}) == 30
    if store == "episodic":
        episodes = EpisodicMemory(db, embedder=HashingEmbedder(dimension=256))
        assert episodes.trajectory("b-29").task.startswith("b wrote fact 29")


def test_a_long_lived_handle_sees_what_another_writer_committed(tmp_path):
    reader = memory(tmp_path)  # opened before the table exists
    writer = memory(tmp_path)
    writer.add(MemoryRecord(id="w1", content="written by the other handle"))
    assert reader.get("w1").content == "written by the other handle"
    writer.add(MemoryRecord(id="w2", content="a second fact about lisbon hotels"))
    assert reader.count() == 2
    assert reader.search("lisbon hotels", 1)[0].record.id == "w2"
