"""DemoPool: add, remove, read back, load from JSONL, and the errors of bad input."""

from __future__ import annotations

import json

import pytest

from contextos import ContextOSError, DemoError
from contextos.demos import Demonstration, DemoPool, read_demonstrations


def test_add_get_all_and_remove(pool):
    assert len(pool) == 8
    assert pool.get(["n1", "missing", "p1"]) == [
        Demonstration(
            id="n1", input="a dull, tedious and boring mess", output="negative", label="negative"
        ),
        Demonstration(
            id="p1", input="a warm, funny and moving film", output="positive", label="positive"
        ),
    ]
    assert {d.id for d in pool.all()} == {"p1", "p2", "p3", "n1", "n2", "n3", "q1", "q2"}
    ids, vectors = pool.vectors()
    assert len(ids) == 8 and vectors.shape == (8, 384)
    assert pool.remove(["q1", "q2"]) == 2
    assert len(pool) == 6


def test_metadata_and_missing_label_round_trip(tmp_path):
    pool = DemoPool(tmp_path)
    pool.add(
        [{"id": "a", "input": "2 + 2", "output": "4", "metadata": {"source": "arith", "level": 1}}]
    )
    (demo,) = pool.get(["a"])
    assert demo.label is None and demo.metadata == {"source": "arith", "level": 1}
    assert DemoPool(tmp_path, create=False).get(["a"]) == [demo]  # persisted


def test_search_ranks_by_similarity(pool):
    hits = pool.search("a boring and tedious film", k=3)
    assert hits[0].demo.id == "n1"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    dense = pool.search("who is the author of moby dick", k=1, similarity="dense")
    assert dense[0].demo.id == "q2"


def test_existing_ids_need_replace_and_duplicates_are_refused(pool):
    with pytest.raises(DemoError, match="already holds 1 of these ids"):
        pool.add([Demonstration(id="p1", input="x", output="y")])
    pool.add([Demonstration(id="p1", input="a fine film", output="positive")], replace=True)
    assert pool.get(["p1"])[0].input == "a fine film"
    with pytest.raises(DemoError, match="'z' occurs twice"):
        pool.add(
            [{"id": "z", "input": "a", "output": "b"}, {"id": "z", "input": "c", "output": "d"}]
        )
    assert len(pool) == 8  # nothing of the bad batch was written


def test_missing_fields_and_unknown_ids_give_clear_errors(pool):
    with pytest.raises(DemoError, match="output: Field required"):
        pool.add([{"id": "x", "input": "no output"}])
    with pytest.raises(DemoError, match="input is empty"):
        pool.add([{"id": "x", "input": "  ", "output": "o"}])
    with pytest.raises(DemoError, match="no demonstration with id 'nope'"):
        pool.remove(["p1", "nope"])
    assert len(pool) == 8
    assert issubclass(DemoError, ContextOSError)


def test_empty_pool_cannot_be_searched(tmp_path):
    with pytest.raises(DemoError, match="pool is empty"):
        DemoPool(tmp_path).search("anything")


def test_jsonl_loading_names_the_bad_line(tmp_path):
    good = tmp_path / "pool.jsonl"
    good.write_text(
        "".join(
            json.dumps(r) + "\n"
            for r in [
                {"id": "a", "input": "where is paris", "output": "LOC", "label": "LOC"},
                {"id": "b", "input": "how far is the moon", "output": "NUM"},
            ]
        )
    )
    pool = DemoPool.from_jsonl(good, tmp_path / "db")
    assert len(pool) == 2 and pool.get(["b"])[0].label is None
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "input": "x", "output": "y"}\n{"id": "b", "output": "y"}\n')
    with pytest.raises(
        DemoError, match=r"bad.jsonl:2 is not a valid demonstration \(input: Field required"
    ):
        read_demonstrations(bad)
    bad.write_text(
        '{"id": "a", "input": "x", "output": "y"}\n\n{"id": "a", "input": "z", "output": "y"}\n'
    )
    with pytest.raises(DemoError, match="bad.jsonl:3 repeats id 'a' of line 1"):
        read_demonstrations(bad)
    bad.write_text("[1, 2]\n")
    with pytest.raises(DemoError, match="not an object"):
        read_demonstrations(bad)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(DemoError, match="holds no demonstrations"):
        DemoPool.from_jsonl(empty, tmp_path / "db2")
    assert not (tmp_path / "db2" / "demonstrations.lance").exists()


def test_a_table_of_another_kind_is_refused(tmp_path):
    from contextos.embed import default_embedder
    from contextos.store import VectorTable

    VectorTable.open(tmp_path, "demonstrations", embedder=default_embedder()).upsert(
        [{"id": "x", "text": "t", "kind": "fact"}]
    )
    with pytest.raises(DemoError, match="not a demonstration table"):
        DemoPool(tmp_path)
