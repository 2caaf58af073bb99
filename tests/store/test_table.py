"""VectorTable against real LanceDB in temporary folders."""

from __future__ import annotations

import numpy as np
import pytest

from contextos import HashingEmbedder, StoreError, VectorTable
from contextos.store import fuse_rrf

ROWS = [
    {
        "id": "weather",
        "text": "get the weather forecast for a city",
        "category": "weather",
        "calls": 10,
    },
    {
        "id": "flight",
        "text": "book a flight between two airports",
        "category": "travel",
        "calls": 3,
    },
    {
        "id": "hotel",
        "text": "find a hotel room in a city for given dates",
        "category": "travel",
        "calls": 7,
    },
    {"id": "fx", "text": "convert an amount between currencies", "category": "finance", "calls": 1},
]


@pytest.fixture
def table(tmp_path):
    t = VectorTable.open(tmp_path / "store", "items", embedder=HashingEmbedder())
    t.upsert(ROWS)
    return t


def test_upsert_get_count(table):
    assert table.count() == 4
    assert table.count("category = 'travel'") == 2
    got = table.get(["fx", "missing", "weather"])
    assert [r["id"] for r in got] == ["fx", "weather"]
    assert got[0] == {
        "id": "fx",
        "text": "convert an amount between currencies",
        "category": "finance",
        "calls": 1,
    }
    assert "FTS" in "".join(table.indexes().values())


def test_upsert_updates_by_id_and_reopens(tmp_path):
    t = VectorTable.open(tmp_path, "items", embedder=HashingEmbedder())
    t.upsert(ROWS)
    t.upsert(
        [
            {
                "id": "fx",
                "text": "exchange rates of cryptocurrencies",
                "category": "crypto",
                "calls": 2,
            }
        ]
    )
    again = VectorTable.open(tmp_path, "items", embedder=HashingEmbedder(), create=False)
    assert again.count() == 4
    assert again.get(["fx"])[0]["category"] == "crypto"
    assert again.search("cryptocurrencies", 1, mode="fts")[0].id == "fx"
    assert again.search("cryptocurrencies exchange rates", 1, mode="dense")[0].id == "fx"


def test_unchanged_rows_are_not_embedded_again(tmp_path):
    inner = HashingEmbedder()
    VectorTable.open(tmp_path, "items", embedder=inner).upsert(ROWS)
    assert inner.embedded_texts == 4
    # A new process (a fresh table object and cache) re-indexing the same catalog embeds nothing.
    fresh = HashingEmbedder()
    t = VectorTable.open(tmp_path, "items", embedder=fresh)
    t.upsert(ROWS)
    assert fresh.embedded_texts == 0
    t.upsert([{**ROWS[0], "text": "a changed description"}, *ROWS[1:]])
    assert fresh.embedded_texts == 1


def test_delete(table):
    assert table.delete(["flight", "nope"]) == 1
    assert table.count() == 3
    assert table.get(["flight"]) == []
    assert all(h.id != "flight" for h in table.search("book a flight", 4))


@pytest.mark.parametrize("mode", ["dense", "fts", "hybrid"])
def test_each_mode_finds_the_obvious_row(table, mode):
    hits = table.search("weather forecast", 3, mode=mode)
    assert hits[0].id == "weather"
    assert hits[0].row["category"] == "weather" and "vector" not in hits[0].row
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_hybrid_fuses_by_scaled_score(table):
    dense = table.search("hotel in a city", 50, mode="dense")
    fts = table.search("hotel in a city", 50, mode="fts")
    hybrid = table.search("hotel in a city", 4, mode="hybrid")

    def scaled(hits):
        lo, hi = min(h.score for h in hits), max(h.score for h in hits)
        return {h.id: (h.score - lo) / (hi - lo) for h in hits}

    d, f = scaled(dense), scaled(fts)
    expected = {i: (d.get(i, 0.0) + f.get(i, 0.0)) / 2 for i in set(d) | set(f)}
    best = sorted(expected, key=lambda i: (-expected[i], i))[:4]
    assert [h.id for h in hybrid] == best
    assert [h.score for h in hybrid] == pytest.approx([expected[i] for i in best])
    # Every hybrid hit carries its cosine similarity, BM25-only hits included.
    cosine = {h.id: h.score for h in dense}
    assert all(h.similarity == pytest.approx(cosine[h.id], abs=1e-5) for h in hybrid)
    assert all(h.similarity is None for h in fts)


def test_fuse_rrf_still_fuses_by_reciprocal_rank(table):
    dense = table.search("hotel in a city", 4, mode="dense")
    fts = table.search("hotel in a city", 4, mode="fts")
    expected: dict[str, float] = {}
    for ranking in (dense, fts):
        for rank, h in enumerate(ranking, 1):
            expected[h.id] = expected.get(h.id, 0) + 1 / (60 + rank)
    assert {h.id: pytest.approx(h.score) for h in fuse_rrf([dense, fts], 10)} == expected


@pytest.mark.parametrize("mode", ["dense", "fts", "hybrid"])
def test_where_filters_every_mode(table, mode):
    hits = table.search("city", 4, mode=mode, where="category = 'travel' AND calls > 5")
    assert [h.id for h in hits] == ["hotel"]


def test_search_vector(table):
    v = HashingEmbedder().embed(["convert an amount between currencies"])[0]
    hits = table.search_vector(v, 2)
    assert hits[0].id == "fx" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(StoreError, match="shape"):
        table.search_vector(np.zeros(3), 2)


def test_bad_filter_and_bad_rows(table):
    with pytest.raises(StoreError, match="no_such_column"):
        table.search("x", 2, mode="dense", where="no_such_column = 1")
    with pytest.raises(StoreError, match="row 1"):
        table.upsert([{"id": "a", "text": "ok"}, {"id": "b"}])
    with pytest.raises(StoreError, match="twice"):
        table.upsert([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}])
    with pytest.raises(StoreError, match="lacks"):
        table.upsert([{"id": "a", "text": "x", "new_column": 1}])
    assert table.count() == 4, "rejected writes leave nothing behind"


def test_new_rows_are_found_by_full_text_right_after_upsert(table):
    table.upsert(
        [
            {
                "id": "zz",
                "text": "zanzibar spice market opening hours",
                "category": "travel",
                "calls": 0,
            }
        ]
    )
    assert table.search("zanzibar", 1, mode="fts")[0].id == "zz"


def test_ann_index_is_built_past_the_threshold(tmp_path):
    t = VectorTable.open(tmp_path, "big", embedder=HashingEmbedder(dimension=64), ann_threshold=300)
    rows = [{"id": f"r{i}", "text": f"item {i} topic {i % 17} colour {i % 5}"} for i in range(299)]
    t.upsert(rows)
    assert not any("Ivf" in v for v in t.indexes().values())
    t.upsert([{"id": "r299", "text": "item 299 topic special"}])
    assert "IvfSq" in t.indexes().values()
    assert t.search("item 42 topic 8 colour 2", 5, mode="dense")[0].id == "r42"
    # Rows written after the index are still found.
    t.upsert([{"id": "late", "text": "completely new late arrival"}])
    assert t.search("completely new late arrival", 1, mode="dense")[0].id == "late"


def test_missing_store_or_table_with_create_false(tmp_path):
    with pytest.raises(StoreError, match="no store"):
        VectorTable.open(tmp_path / "nowhere", "t", embedder=HashingEmbedder(), create=False)
    VectorTable.open(tmp_path, "t", embedder=HashingEmbedder()).upsert(ROWS[:1])
    with pytest.raises(StoreError, match="no table 'other'"):
        VectorTable.open(tmp_path, "other", embedder=HashingEmbedder(), create=False)


def test_folder_that_is_not_a_store(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(StoreError, match="not a LanceDB store"):
        VectorTable.open(tmp_path, "t", embedder=HashingEmbedder())
    with pytest.raises(StoreError, match="is a file"):
        VectorTable.open(tmp_path / "notes.txt", "t", embedder=HashingEmbedder())


def test_damaged_table_folder(tmp_path):
    (tmp_path / "t.lance").mkdir()
    (tmp_path / "t.lance" / "junk").write_text("junk")
    with pytest.raises(StoreError):
        VectorTable.open(tmp_path, "t", embedder=HashingEmbedder(), create=False)


def test_dimension_mismatch_says_what_to_do(tmp_path):
    VectorTable.open(tmp_path, "t", embedder=HashingEmbedder(dimension=64)).upsert(ROWS)
    with pytest.raises(StoreError, match="64-d vectors.*128-d.*rebuild"):
        VectorTable.open(tmp_path, "t", embedder=HashingEmbedder(dimension=128))


def test_empty_table_before_first_upsert(tmp_path):
    t = VectorTable.open(tmp_path, "t", embedder=HashingEmbedder())
    assert t.count() == 0 and t.search("x", 3) == [] and t.get(["a"]) == [] and t.delete(["a"]) == 0


def test_scan_filters_selects_and_limits(table):
    assert sorted(r["id"] for r in table.scan("category = 'travel'")) == ["flight", "hotel"]
    assert table.scan("id = 'fx'", ["id", "calls"]) == [{"id": "fx", "calls": 1}]
    assert len(table.scan(limit=3)) == 3
    assert all("vector" not in r for r in table.scan())
    with pytest.raises(StoreError, match="no_such_column"):
        table.scan("no_such_column = 1")


def test_refresh_sees_what_another_handle_wrote(tmp_path):
    reader = VectorTable.open(tmp_path, "items", embedder=HashingEmbedder())
    assert reader.refresh() is False, "the table did not exist when the reader opened it"
    writer = VectorTable.open(tmp_path, "items", embedder=HashingEmbedder())
    writer.upsert(ROWS[:1])
    reader = VectorTable.open(tmp_path, "items", embedder=HashingEmbedder())
    writer.upsert(ROWS[1:])
    assert reader.count() == 1, "a handle stays at the version it opened"
    assert reader.refresh() is True
    assert reader.count() == 4


def test_a_hit_found_by_bm25_alone_still_gets_its_cosine(tmp_path):
    embedder = HashingEmbedder(dimension=64)
    table = VectorTable.open(tmp_path, "t", embedder=embedder)
    filler = [{"id": f"f{i}", "text": f"weather forecast rain tomorrow {i}"} for i in range(120)]
    table.upsert([*filler, {"id": "rare", "text": "zyxwv invoice ledger"}])
    query = "weather forecast rain zyxwv"
    dense_ids = {h.id for h in table.search(query, 50, mode="dense")}
    hits = {h.id: h for h in table.search(query, 10)}
    assert "rare" in hits and "rare" not in dense_ids  # found by BM25 alone
    expected = {h.id: h.score for h in table.search_vector(embedder.embed([query])[0], 200)}
    assert all(h.similarity == pytest.approx(expected[i], abs=1e-5) for i, h in hits.items())
