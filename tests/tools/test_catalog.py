"""ToolCatalog and retrieval against real LanceDB in tmp folders, with the real default embedder."""

from __future__ import annotations

import json

import pytest

from contextos import DuplicateToolError, StoreError, ToolNotFoundError
from contextos.embed import default_embedder
from contextos.tools import Tool, ToolCatalog, ToolHit, ToolRetriever, load_tools


@pytest.fixture
def catalog(tmp_path, catalog_file) -> ToolCatalog:
    c = ToolCatalog.open(tmp_path / "db", embedder=default_embedder())
    c.upsert(load_tools(catalog_file))
    return c


def ids(hits: list[ToolHit]) -> list[str]:
    return [h.tool.id for h in hits]


def test_persisted_and_reopened(tmp_path, catalog):
    again = ToolCatalog.open(tmp_path / "db", create=False)
    assert len(again) == 8
    tool = again.get("w2")
    assert tool.label == "Weather API: forecast" and tool.parameters["properties"]["days"] == {
        "type": "integer"
    }
    assert again.get(tool.name).id == "w2" and "convert_currency" in again and "nope" not in again
    assert again.groups.count() == 3  # Weather API, Flights, Recipes


@pytest.mark.parametrize("mode", ["dense", "fts", "hybrid"])
def test_each_mode_finds_the_tool(catalog, mode):
    assert (
        ids(catalog.search("convert 100 dollars to euros exchange rate", 3, mode=mode))[0] == "c1"
    )
    assert ids(catalog.search("send a text message to my phone", 3, mode=mode))[0] == "s1"


def test_dense_matches_meaning_without_shared_words(catalog):
    # No word in common with "Search cooking recipes by ingredient or dish name."
    assert ids(
        catalog.search("I am hungry, what could I make for dinner tonight?", 1, mode="dense")
    ) == ["r1"]
    assert catalog.search("I am hungry, what could I make for dinner tonight?", 1, mode="fts") == []


def test_scores_are_in_unit_range_and_sorted(catalog):
    hits = catalog.search("weather forecast for Oslo", 8)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert set(ids(hits)[:2]) == {"w1", "w2"}


def test_several_queries_each_get_their_tools(catalog):
    retriever = catalog.retriever()
    assert isinstance(retriever, ToolRetriever)
    hits = retriever.retrieve(["book a flight seat", "cooking recipes with tomatoes"], 2)
    assert set(ids(hits)) == {"f2", "r1"}


def test_reranked_composes(catalog):
    seen = {}

    def reverse(queries, hits):
        seen["n"] = len(hits)
        return list(reversed(hits))

    base = catalog.retriever()
    plain = ids(base.retrieve(["weather in Paris"], 6))
    reranked = base.reranked(reverse, depth=2).retrieve(["weather in Paris"], 3)
    assert seen["n"] == 6  # k * depth candidates went to the reranker
    assert ids(reranked) == list(reversed(plain))[:3]


def test_add_update_remove(catalog):
    joke = Tool(id="j1", name="tell_joke", description="Tell a random joke to cheer someone up.")
    assert catalog.add([joke]) == 1
    assert ids(catalog.search("make me laugh with something funny", 1))[0] == "j1"
    with pytest.raises(DuplicateToolError, match="already has tools with ids"):
        catalog.add([joke])
    with pytest.raises(DuplicateToolError, match="'send_sms'"):
        catalog.add([Tool(id="j2", name="send_sms")])
    catalog.update([joke.model_copy(update={"description": "Translate a sentence into French."})])
    assert catalog.get("j1").description == "Translate a sentence into French."
    with pytest.raises(ToolNotFoundError, match="zz"):
        catalog.update([Tool(id="zz", name="zz")])
    assert catalog.remove(["j1", "f2"]) == 2
    assert "j1" not in catalog and len(catalog) == 7
    # family text follows its members
    assert "book a seat" not in catalog.groups.get(["Flights"])[0]["text"].lower()
    with pytest.raises(ToolNotFoundError):
        catalog.remove(["w1", "missing"])
    assert "w1" in catalog  # nothing removed when one key is unknown


def test_a_rejected_batch_writes_nothing(catalog):
    before = len(catalog)
    good = Tool(id="ok", name="fine_tool", description="fine")
    clash = Tool(id="bad", name="news_headlines", description="clashes with n1")
    with pytest.raises(DuplicateToolError, match="'news_headlines'"):
        catalog.upsert([good, clash])
    assert len(catalog) == before and "ok" not in catalog
    assert catalog.get("n1").description.startswith("Latest news")


def test_unchanged_catalog_is_not_embedded_again(tmp_path, catalog_file):
    from contextos.embed import HashingEmbedder

    inner = HashingEmbedder()
    ToolCatalog.open(tmp_path / "h", embedder=inner).upsert(load_tools(catalog_file))
    first = inner.embedded_texts
    fresh = HashingEmbedder()
    ToolCatalog.open(tmp_path / "h", embedder=fresh).upsert(load_tools(catalog_file))
    assert first > 0 and fresh.embedded_texts == 0


def test_missing_db_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="contextos tools index"):
        ToolCatalog.open(tmp_path / "nowhere", create=False)
    (tmp_path / "notastore").mkdir()
    (tmp_path / "notastore" / "file.txt").write_text("x")
    with pytest.raises(StoreError, match="not a LanceDB store"):
        ToolCatalog.open(tmp_path / "notastore")


def test_family_evidence_lifts_tools_of_a_matching_family(tmp_path):
    from contextos.embed import HashingEmbedder

    c = ToolCatalog.open(tmp_path / "fam", embedder=HashingEmbedder())
    c.upsert(
        [
            # Two tools with the same text; only the family of the second also tracks parcels.
            Tool(
                id="a-library", name="list_items_1", description="List the items.", group="Library"
            ),
            Tool(
                id="b-parcels", name="list_items_2", description="List the items.", group="Parcels"
            ),
            Tool(
                id="c-parcels",
                name="parcels_track",
                description="Track parcel shipping status.",
                group="Parcels",
            ),
        ]
    )
    query = "list the items and track my parcel shipping"
    without = c.retriever("fts", family_weight=0.0).scores(query)
    with_family = c.retriever("fts", family_weight=0.5).scores(query)
    assert without["a-library"] == pytest.approx(without["b-parcels"])
    assert with_family["b-parcels"] > with_family["a-library"]


def test_bulk_reads_and_families_beyond_the_cache(tmp_path):
    from contextos.embed import HashingEmbedder
    from contextos.tools import catalog as catalog_module

    c = ToolCatalog.open(tmp_path / "bulk", embedder=HashingEmbedder())
    n = catalog_module._CACHE_SIZE + 500
    c.upsert(
        [
            Tool(id=f"t{i}", name=f"tool_{i}", description=f"does thing {i}", group=f"fam{i % 7}")
            for i in range(n)
        ]
    )
    assert len(c.get_many([f"t{i}" for i in range(n)])) == n
    assert c.groups.count() == 7
    members = sum(
        len(json.loads(r["members"])) for r in c.groups.get([f"fam{i}" for i in range(7)])
    )
    assert members == n


def test_real_toolret_catalog_beats_the_bm25_reference(tmp_path, shared_data):
    """The real 2,490-tool catalog (HashingEmbedder for speed: BM25 and families do not use vectors)."""
    from contextos.embed import HashingEmbedder

    folder = shared_data / "toolret"
    c = ToolCatalog.open(tmp_path / "toolret", embedder=HashingEmbedder())
    c.upsert(load_tools(folder / "tools.jsonl"))
    queries = [
        json.loads(line)
        for line in (folder / "queries.jsonl").read_text().splitlines()
        if line.strip()
    ]
    reference = json.loads((folder / "bm25_reference_dev.json").read_text())[
        "bm25_name+description+params"
    ]["Recall@5"]

    def recall_at_5(retriever) -> float:
        total = 0.0
        for q in queries:
            top = {h.tool.id for h in retriever.retrieve([q["query"]], 5)}
            total += len(top & set(q["relevant"])) / len(q["relevant"])
        return total / len(queries)

    plain = recall_at_5(c.retriever("fts", family_weight=0.0))
    with_family = recall_at_5(c.retriever("fts"))
    assert plain >= reference - 0.01
    assert with_family > plain and with_family > reference


def test_row_addresses_are_only_a_hint(catalog, monkeypatch):
    native = catalog.table.lance_table
    address = {
        r["id"]: r["_rowid"]
        for r in native.search().with_row_id(True).select(["id"]).limit(None).to_list()
    }
    wanted = ["w1", "f1", "s1", "n1", "r1"]
    expected = [catalog.get(i).description for i in wanted]
    read_by_id: list[list[str]] = []
    get = catalog.table.get
    monkeypatch.setattr(
        catalog.table, "get", lambda keys: read_by_id.append(list(keys)) or get(keys)
    )
    # Right addresses: nothing is read by id.
    tools = catalog.get_many(wanted, row_ids={i: address[i] for i in wanted})
    assert [t.description for t in tools] == expected and read_by_id == []
    # Swapped and unknown addresses: every tool still comes back as itself.
    catalog._cache.clear()
    tools = catalog.get_many(
        wanted, row_ids={"w1": address["w1"], "f1": address["s1"], "s1": address["r1"]}
    )
    assert [t.description for t in tools] == expected
    catalog._cache.clear()
    tools = catalog.get_many(wanted, row_ids={"w1": 10**9})
    assert [t.description for t in tools] == expected


def test_retrieval_reads_moved_rows_by_id(catalog):
    before = ids(catalog.retriever().retrieve(["book a seat on a flight"], 3))
    catalog.update(
        [catalog.get("w1").model_copy(update={"description": "Current weather, updated."})]
    )
    catalog.table.optimize()  # compaction moves rows
    assert ids(catalog.retriever().retrieve(["book a seat on a flight"], 3)) == before


def test_an_empty_cached_embedder_is_the_one_used(tmp_path):
    # An empty CachedEmbedder has len() 0: it must still be the embedder, not replaced by the default.
    from contextos.embed.cache import CachedEmbedder
    from contextos.embed.hashing import HashingEmbedder

    embedder = CachedEmbedder(HashingEmbedder(dimension=64))
    catalog = ToolCatalog.open(tmp_path / "db", embedder=embedder)
    catalog.upsert([Tool(name="get_weather", description="Current weather for a city.")])
    assert catalog.table.embedder is embedder and embedder.misses >= 1
