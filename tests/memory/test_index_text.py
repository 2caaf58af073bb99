"""What a record is indexed by (time, speaker, reply pointer), metadata as users write it, and bad input."""

from __future__ import annotations

import pytest

from contextos.context.items import ContextItem
from contextos.embed import HashingEmbedder
from contextos.errors import MemoryStoreError, StoreError
from contextos.memory import MemoryRecord, VectorMemory
from contextos.memory._timestamps import format_time, parse_time
from contextos.memory.index_text import RecordText, content_only


def memory(path, **kwargs) -> VectorMemory:
    return VectorMemory(path, embedder=HashingEmbedder(dimension=256), **kwargs)


def indexed(m: VectorMemory) -> dict[str, str]:
    return {r["id"]: r["text"] for r in m.table.scan(None, ["id", "text"], None)}


def rows(conv: str, *turns: str) -> list[MemoryRecord]:
    return [
        MemoryRecord(
            id=f"{conv}/{n}",
            content=text,
            metadata={"conv_id": conv, "session": 1, "date_time": "1:56 pm on 8 May, 2023"},
        )
        for n, text in enumerate(turns)
    ]


def test_times_are_read_in_many_forms_and_written_in_one():
    assert (
        parse_time("1:56 pm on 8 May, 2023")
        == parse_time("2023-05-08T13:56")
        == parse_time("2023-05-08 13:56:00+00:00")
    )
    assert parse_time("May 8, 2023") == parse_time("8 May 2023") == parse_time(1683504000)
    assert format_time(parse_time("1:56 pm on 8 May, 2023")) == "8 May 2023, 13:56"
    assert format_time(parse_time("8 May 2023")) == "8 May 2023"
    for bad in ("last Tuesday", "", True, float("nan")):
        with pytest.raises(MemoryStoreError, match="time|Unix seconds"):
            parse_time(bad)


def test_the_default_index_text_adds_time_speaker_and_reply_pointer_and_keeps_content(tmp_path):
    m = memory(tmp_path)
    m.add_many(
        rows("conv-1", "Melanie: How was the support group?", "Caroline: Yes, it was so powerful!")
        + rows("conv-2", "Caroline: Hello there.")
    )
    text = indexed(m)
    assert text["conv-1/0"] == "[8 May 2023, 13:56] Melanie: How was the support group?"
    assert (
        text["conv-1/1"]
        == "[8 May 2023, 13:56] Caroline: Yes, it was so powerful! (replying to: Melanie: How was the support group?)"
    )
    # another dialogue: no pointer
    assert text["conv-2/0"] == "[8 May 2023, 13:56] Caroline: Hello there."
    got = m.get("conv-1/1")
    assert got.content == "Caroline: Yes, it was so powerful!"  # stored as given
    assert got.created_at == parse_time("2023-05-08T13:56")  # dated by its time field
    assert got.metadata.session == 1 and got.metadata.free == {
        "conv_id": "conv-1",
        "date_time": "1:56 pm on 8 May, 2023",
    }
    # The pointer is found by what the turn replies to; an update re-indexes with the same pointer.
    assert m.search("support group", 2, {"conv_id": "conv-1"})[0].record.id in {
        "conv-1/0",
        "conv-1/1",
    }
    m.update("conv-1/1", content="Caroline: It was great!")
    assert indexed(m)["conv-1/1"].endswith("(replying to: Melanie: How was the support group?)")


def test_speaker_field_and_policy_options(tmp_path):
    record = MemoryRecord(
        id="t",
        content="Yes, last Friday! " + "word " * 30,
        metadata={"speaker": "Ann", "timestamp": 1683504000},
    )
    before = MemoryRecord(id="q", content="Did you go?", metadata={"speaker": "Bob"})
    assert RecordText()(record, before).startswith("[8 May 2023] Ann: Yes, last Friday!")
    assert RecordText()(record, before).endswith("(replying to: Bob: Did you go?)")
    assert RecordText(time=False, speaker=False, reply_words=0)(record, before) == " ".join(
        record.content.split()
    )
    assert RecordText(reply_words=2)(before, record).endswith("(replying to: Ann: Yes, …)")
    assert content_only(record, before) == record.content
    with pytest.raises(MemoryStoreError, match="reply_words"):
        RecordText(reply_words=-1)
    m = memory(
        tmp_path, index_text=lambda r, prev: f"{r.metadata.free.get('subject', '')} {r.content}"
    )
    m.add(MemoryRecord(id="s", content="moved in May", metadata={"subject": "Alice"}))
    assert indexed(m)["s"] == "Alice moved in May"
    with pytest.raises(MemoryStoreError, match="index_text must be a callable"):
        memory(tmp_path / "x", index_text="plain")


def test_absorbed_turns_are_indexed_with_role_time_and_the_previous_turn(tmp_path):
    m = memory(tmp_path)
    items = [
        ContextItem(
            id=f"turn-{n}",
            source="conversation",
            role=role,
            content=text,
            position=n,
            metadata={"session": "s1", "created_at": 1683504000.0 + 3600 + n * 60},
        )
        for n, (role, text) in enumerate(
            [("user", "Book a table for two."), ("assistant", "Done: 7 pm at Luigi's.")]
        )
    ]
    m.absorb(items[:1])
    m.absorb(items[1:])  # a later batch still points to the session's previous turn
    text = indexed(m)
    assert text["s1/turn-0"] == "[8 May 2023, 01:00] user: Book a table for two."
    assert (
        text["s1/turn-1"]
        == "[8 May 2023, 01:01] assistant: Done: 7 pm at Luigi's. (replying to: user: Book a table for two.)"
    )
    assert m.get("s1/turn-1").content == "Done: 7 pm at Luigi's."


def test_metadata_keeps_its_types_and_filters_say_when_a_type_cannot_match(tmp_path):
    m = memory(tmp_path)
    m.add_many(
        [
            MemoryRecord(
                id="a",
                content="first",
                metadata={"session": 1, "user": 7, "year": 2023, "ok": True},
            ),
            MemoryRecord(
                id="b",
                content="second",
                metadata={"session": "s-2", "user": "u", "year": 2024, "ok": False},
            ),
        ]
    )
    a = m.get("a")
    assert (
        a.metadata.session == 1
        and a.metadata.user == 7
        and a.metadata.free == {"year": 2023, "ok": True}
    )
    assert [h.record.id for h in m.search("first second", 5, {"session": 1})] == ["a"]
    assert [h.record.id for h in m.search("first second", 5, {"session": "s-2"})] == ["b"]
    assert m.count({"year": 2023.0}) == 1 and m.count({"ok": True}) == 1
    with pytest.raises(
        MemoryStoreError, match="records hold 'ok' as boolean, the filter gives number 1"
    ):
        m.count({"ok": 1})  # 1 == True in Python, not in a filter
    m2 = memory(tmp_path / "ints")
    m2.add(MemoryRecord(id="a", content="first", metadata={"session": 1, "year": 2023}))
    with pytest.raises(
        MemoryStoreError, match="records hold 'session' as number, the filter gives string '1'"
    ):
        m2.search("first", 5, {"session": "1"})
    with pytest.raises(MemoryStoreError, match="records hold 'year' as number"):
        m2.count({"year": "2023"})
    # any of several types: one that can match is enough
    assert m2.count({"session": ["1", 1]}) == 1
    with pytest.raises(
        MemoryStoreError, match="no record in this store has a metadata field 'yaer'"
    ):
        m2.search("first", 5, {"yaer": 2023})
    with pytest.raises(MemoryStoreError, match="filters match strings, numbers or booleans"):
        m2.search("first", 5, {"year": {"from": 2020}})
    with pytest.raises(
        MemoryStoreError, match="session must be a string or an integer, got float 1.5"
    ):
        MemoryRecord(id="x", content="y", metadata={"session": 1.5})


def test_an_unreadable_time_writes_nothing(tmp_path):
    m = memory(tmp_path)
    m.add(MemoryRecord(id="ok", content="kept", metadata={"date_time": "8 May 2023"}))
    with pytest.raises(
        MemoryStoreError,
        match="record 'bad': cannot read metadata field 'date_time' 'the day after'",
    ):
        m.add_many(
            [
                MemoryRecord(id="fine", content="fine", metadata={"date_time": "9 May 2023"}),
                MemoryRecord(id="bad", content="bad", metadata={"date_time": "the day after"}),
            ]
        )
    assert m.count() == 1


def test_a_store_of_the_older_layout_is_refused_and_left_as_it_is(tmp_path):
    from contextos.store import VectorTable

    table = VectorTable.open(tmp_path, "memory", embedder=HashingEmbedder(dimension=256))
    old = {
        "id": "m1",
        "text": "Alice moved to Berlin.",
        "kind": "fact",
        "user": "alice",
        "session": "s1",
        "role": "",
        "tags": "",
        "importance": 0.5,
        "created_at": 1.0,
        "updated_at": -1.0,
        "run_id": "",
        "step": -1,
        "meta": "{}",
    }
    table.upsert([old])
    version = table.version
    with pytest.raises(
        StoreError, match="older contextos layout .* left as it is: add its records again"
    ):
        memory(tmp_path)
    table.refresh()
    assert table.version == version and table.get(["m1"])[0]["text"] == "Alice moved to Berlin."
