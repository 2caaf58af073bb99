"""De-duplication never crosses a partition, and a merged id keeps finding its record."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from contextos.embed import HashingEmbedder
from contextos.errors import RecordNotFoundError
from contextos.memory import MemoryRecord, VectorMemory

ROOT = Path(__file__).resolve().parents[2]
TEXT = "Caroline: I went to the LGBTQ support group yesterday and it was so powerful."


def memory(path, **kwargs) -> VectorMemory:
    return VectorMemory(path, embedder=HashingEmbedder(dimension=256), **kwargs)


def test_same_text_in_two_conversations_is_found_under_each_filter(tmp_path):
    m = memory(tmp_path)
    stored = m.add_many(
        [
            MemoryRecord(id="c1-t1", content=TEXT, metadata={"conv_id": "conv-1", "session": 1}),
            MemoryRecord(id="c2-t1", content=TEXT, metadata={"conv_id": "conv-2", "session": 1}),
        ]
    )
    assert [r.id for r in stored] == ["c1-t1", "c2-t1"]
    # against stored ones too
    m.add(MemoryRecord(id="c3-t1", content=TEXT, metadata={"conv_id": "conv-3", "session": 1}))
    for conv, rid in (("conv-1", "c1-t1"), ("conv-2", "c2-t1"), ("conv-3", "c3-t1")):
        assert [h.record.id for h in m.search("support group", 5, {"conv_id": conv})] == [rid]
    assert m.count() == 3


def test_records_merge_only_when_every_metadata_field_is_equal(tmp_path):
    m = memory(tmp_path)
    m.add(
        MemoryRecord(
            id="a",
            content="The user prefers window seats.",
            metadata={"user": "u", "tags": ["travel"]},
        )
    )
    # Another tag, another free field, another session, another kind: not the same memory.
    for rid, meta, kind in (
        ("b", {"user": "u", "tags": ["work"]}, "fact"),
        ("c", {"user": "u", "tags": ["travel"], "source": "email"}, "fact"),
        ("d", {"user": "u", "tags": ["travel"], "session": 2}, "fact"),
        ("e", {"user": "u", "tags": ["travel"]}, "turn"),
    ):
        assert (
            m.add(
                MemoryRecord(
                    id=rid, kind=kind, content="The user prefers window seats.", metadata=meta
                )
            ).id
            == rid
        )
    assert m.count() == 5
    assert (
        m.add(
            MemoryRecord(
                id="f",
                content="The user prefers window seats!",
                metadata={"user": "u", "tags": ["travel"]},
            )
        ).id
        == "a"
    )
    assert m.count() == 5


def test_a_merged_id_still_finds_its_record(tmp_path):
    m = memory(tmp_path)
    m.add(MemoryRecord(id="a", content="The user prefers window seats.", metadata={"user": "u"}))
    merged = m.add(
        MemoryRecord(id="b", content="The user prefers window seats!", metadata={"user": "u"})
    )
    assert merged.id == "a"
    assert m.get("b").id == "a" and [r.id for r in m.get_many(["b", "a", "zz"])] == ["a", "a"]
    assert [h.record.id for h in m.search("window seats", 5, {"id": "b"})] == ["a"]
    assert [h.record.id for h in m.search("window seats", 5)] == ["a"]  # listed once
    assert m.count({"id": ["a", "b"]}) == 1
    m.update("b", importance=0.9)  # updates the record it merged into
    assert m.get("a").importance == 0.9
    m.delete("b")  # the alias alone
    assert m.get("a").id == "a"
    with pytest.raises(RecordNotFoundError):
        m.get("b")
    m.add(MemoryRecord(id="c", content="The user prefers window seats", metadata={"user": "u"}))
    m.delete("a")  # the record and every id merged into it
    for rid in ("a", "c"):
        with pytest.raises(RecordNotFoundError):
            m.get(rid)
    assert m.count() == 0


def test_dedup_scope_names_the_fields_that_partition(tmp_path):
    m = memory(tmp_path, dedup_scope=["user"])
    m.add(
        MemoryRecord(
            id="a", content="Alice lives in Berlin.", metadata={"user": "alice", "source": "chat"}
        )
    )
    assert (
        m.add(
            MemoryRecord(
                id="b",
                content="Alice lives in Berlin.",
                metadata={"user": "alice", "source": "email"},
            )
        ).id
        == "a"
    )
    assert (
        m.add(MemoryRecord(id="c", content="Alice lives in Berlin.", metadata={"user": "bob"})).id
        == "c"
    )


WRITER = textwrap.dedent(
    """
    import sys
    from contextos.embed import HashingEmbedder
    from contextos.memory import MemoryRecord, VectorMemory
    path, conv = sys.argv[1], sys.argv[2]
    m = VectorMemory(path, embedder=HashingEmbedder(dimension=256))
    for i in range(15):
        # The same texts as the other writer, in another conversation; and each one twice in its own.
        for copy in ("x", "y"):
            m.add(MemoryRecord(id=f"{conv}-{i}-{copy}", content=f"turn {i}: we talked about the hiking trip",
                               metadata={"conv_id": conv, "turn": i}))
    print("done", flush=True)
    """
)


def test_two_writers_with_the_same_texts_in_two_conversations_lose_nothing(tmp_path):
    db = tmp_path / "db"
    memory(db).add(
        MemoryRecord(id="seed", content="seed record", metadata={"conv_id": "seed", "turn": -1})
    )
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(db), conv], stdout=subprocess.PIPE, text=True, env=env
        )
        for conv in ("conv-1", "conv-2")
    ]
    outs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    m = memory(db)
    for conv in ("conv-1", "conv-2"):
        # Every id still finds a record of its own conversation, and each turn is there once.
        for i in range(15):
            for copy in ("x", "y"):
                got = m.get(f"{conv}-{i}-{copy}")
                assert got.metadata.free == {"conv_id": conv, "turn": i}
            assert m.count({"conv_id": conv, "turn": i}) == 1
        assert len(m.search("hiking trip", 50, {"conv_id": conv})) == 15


def test_records_merge_only_when_their_contents_are_alike_not_just_their_indexed_texts(tmp_path):
    # A short reply quotes the turn it answers and shares its date: indexed texts can be near-identical
    # while the contents are not. Here every record is indexed by the same text.
    m = memory(tmp_path, index_text=lambda record, replies_to: "[8 May 2023] a dialogue turn")
    stored = m.add_many(
        [
            MemoryRecord(
                id="q", content="Did you go to the support group?", metadata={"session": 1}
            ),
            MemoryRecord(id="a", content="Yes, last Friday!", metadata={"session": 1}),
        ]
    )
    assert [r.id for r in stored] == ["q", "a"]
    assert (
        m.add(MemoryRecord(id="b", content="Thanks, that was lovely.", metadata={"session": 1})).id
        == "b"
    )
    assert (
        m.add(MemoryRecord(id="a2", content="Yes, last Friday!", metadata={"session": 1})).id == "a"
    )
    assert m.get("a").content == "Yes, last Friday!" and m.count() == 3
