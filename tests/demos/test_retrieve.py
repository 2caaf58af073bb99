"""kNN, MMR and label-balanced retrievers, their order policy, and their items as a ContextSource."""

from __future__ import annotations

import asyncio

import pytest

from contextos import ContextItem, ContextSource, DemoError, Step
from contextos.demos import BalancedRetriever, Demonstration, KnnRetriever, MmrRetriever


def test_knn_returns_the_closest_examples_best_first(pool):
    for similarity in ("hybrid", "dense"):
        picked = KnnRetriever(pool, k=2, similarity=similarity).retrieve(
            "tedious, boring and badly acted"
        )
        assert {p.demo.label for p in picked} == {"negative"}, similarity
        assert [p.score for p in picked] == sorted((p.score for p in picked), reverse=True)


def test_retrieve_many_matches_one_by_one(pool):
    retriever = KnnRetriever(pool, k=2)
    queries = ["how many legs does a spider have", "a delightful and funny story"]
    assert [[p.demo.id for p in r] for r in retriever.retrieve_many(queries)] == [
        [p.demo.id for p in retriever.retrieve(q)] for q in queries
    ]


def test_order_policy_puts_the_closest_last_or_first(pool):
    step = Step(input="a boring and tedious mess of a film")
    last = asyncio.run(KnnRetriever(pool, k=3).candidates(step))
    first = asyncio.run(KnnRetriever(pool, k=3, order="similar_first").candidates(step))
    assert isinstance(KnnRetriever(pool), ContextSource)

    def by_position(items: list[ContextItem]) -> list[int]:
        return [i.metadata["rank"] for i in sorted(items, key=lambda i: i.position)]

    assert by_position(last) == [3, 2, 1] and by_position(first) == [1, 2, 3]
    item = next(i for i in last if i.metadata["rank"] == 1)
    assert item.source == "demonstrations" and item.id == f"demo-{item.metadata['demo_id']}"
    assert item.content.startswith("Input: ") and "\nOutput: negative" in item.content
    assert asyncio.run(KnnRetriever(pool).candidates(Step(input="  "))) == []


def test_mmr_skips_a_near_duplicate_that_knn_takes(tmp_path):
    from contextos.demos import DemoPool

    pool = DemoPool(tmp_path)
    pool.add(
        [
            Demonstration(id="a", input="book a flight from paris to rome", output="flight"),
            Demonstration(
                id="a2", input="book a flight from paris to rome please", output="flight"
            ),
            Demonstration(id="b", input="book a hotel room in rome", output="hotel"),
            Demonstration(id="c", input="what is the weather in rome", output="weather"),
        ]
    )
    query = "book a flight to rome"
    knn = [p.demo.id for p in KnnRetriever(pool, k=2).retrieve(query)]
    mmr = [p.demo.id for p in MmrRetriever(pool, k=2, lambda_=0.5).retrieve(query)]
    assert sorted(knn) == ["a", "a2"]
    assert len(mmr) == 2 and mmr[0] in ("a", "a2") and not {"a", "a2"} <= set(mmr)
    assert [p.demo.id for p in MmrRetriever(pool, k=2, lambda_=1.0).retrieve(query)] == knn


def test_balanced_covers_the_labels_among_the_neighbours(pool):
    query = "a boring film with superb acting"
    knn = KnnRetriever(pool, k=2, fetch_k=6).retrieve(query)
    balanced = BalancedRetriever(pool, k=2, fetch_k=6).retrieve(query)
    assert {p.demo.label for p in balanced} == {"positive", "negative"}
    assert balanced[0].demo.id == knn[0].demo.id  # the closest example stays


def test_bad_settings_are_refused(pool):
    with pytest.raises(DemoError, match="k must be at least 1"):
        KnnRetriever(pool, k=0)
    with pytest.raises(DemoError, match="order must be"):
        KnnRetriever(pool, order="random")  # type: ignore[arg-type]
    with pytest.raises(DemoError, match="fetch_k"):
        BalancedRetriever(pool, k=4, fetch_k=2)
    with pytest.raises(DemoError, match="lambda_"):
        MmrRetriever(pool, lambda_=2.0)
    with pytest.raises(DemoError, match="similarity"):
        KnnRetriever(pool, similarity="sparse")  # type: ignore[arg-type]
