"""Selective annotation: the kNN graph, vote-k, IDEAL, k-means and random, and their bad input."""

from __future__ import annotations

import numpy as np
import pytest

from contextos import DemoError
from contextos.demos import select_for_annotation
from contextos.demos._graph import knn_graph, nearest_neighbours
from contextos.demos._influence import activation_graph, greedy_max_influence, ic_influence
from contextos.demos.annotate import select_indices
from contextos.embed import HashingEmbedder


def clusters(
    sizes: list[int], dim: int = 32, spread: float = 0.25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around len(sizes) random centres; returns (vectors, cluster of each)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(sizes), dim))
    labels = np.repeat(np.arange(len(sizes)), sizes)
    vectors = centres[labels] + spread * rng.normal(size=(len(labels), dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), labels


def test_blocked_exact_neighbours_match_brute_force_and_skip_self():
    vectors, _ = clusters([60, 40])
    idx, sims = nearest_neighbours(vectors, 5, block=7)
    full = vectors @ vectors.T
    np.fill_diagonal(full, -np.inf)
    assert (idx != np.arange(100)[:, None]).all()
    np.testing.assert_allclose(sims, -np.sort(-full, axis=1)[:, :5], rtol=1e-5, atol=1e-6)


def test_inverted_file_neighbours_have_high_recall():
    vectors, _ = clusters([400, 300, 200, 100], dim=16, spread=0.6)
    exact, _ = nearest_neighbours(vectors, 10)
    approx, _ = nearest_neighbours(vectors, 10, exact_up_to=100)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact)])
    assert recall > 0.9


def test_knn_graph_is_directed_with_k_out_edges():
    vectors, _ = clusters([20, 10])
    graph = knn_graph(vectors, 4)
    assert graph.number_of_nodes() == 30 and all(d == 4 for _, d in graph.out_degree())
    u, v, data = next(iter(graph.edges(data=True)))
    assert data["similarity"] == pytest.approx(float(vectors[u] @ vectors[v]), abs=1e-5)
    assert knn_graph(vectors[:1], 4).number_of_edges() == 0


def test_votek_spreads_over_the_clusters_and_the_discount_is_what_spreads_it():
    vectors, labels = clusters([300, 60, 30, 10], spread=0.4)
    chosen = select_indices(vectors, 4, "votek", k=20)
    assert len(set(chosen)) == 4
    # representative: the 10-input cluster is the one left out
    assert set(labels[chosen]) == {
        0,
        1,
        2,
    }
    # no discount: the densest region wins every pick
    undiscounted = select_indices(vectors, 4, "votek", k=20, rho=1.0)
    assert set(labels[undiscounted]) == {0}


def test_ideal_reverse_reachable_estimate_matches_the_cascade():
    vectors, _ = clusters([80, 40], spread=0.5)
    graph = activation_graph(vectors, 5)
    assert all(abs(sum(d["p"] for d in graph.succ[u].values()) - 1.0) < 1e-5 for u in graph)
    chosen = greedy_max_influence(graph, 5, samples=4000)
    assert len(set(chosen)) == 5
    rng = np.random.default_rng(1)
    randoms = [
        ic_influence(graph, [int(i) for i in rng.choice(120, 5, replace=False)], runs=300)
        for _ in range(5)
    ]
    assert ic_influence(graph, chosen, runs=300) >= np.mean(randoms)
    assert select_indices(vectors, 5, "ideal", k=5, samples=4000) == chosen


def test_kmeans_takes_one_input_per_cluster_and_random_follows_its_seed():
    vectors, labels = clusters([50, 50, 50], spread=0.1)
    assert sorted(labels[select_indices(vectors, 3, "kmeans")]) == [0, 1, 2]
    assert select_indices(vectors, 5, "random", seed=3) == select_indices(
        vectors, 5, "random", seed=3
    )
    assert select_indices(vectors, 5, "random", seed=3) != select_indices(
        vectors, 5, "random", seed=4
    )


def test_select_for_annotation_returns_ids_in_order():
    inputs = {
        f"q{i}": text
        for i, text in enumerate(
            [
                "how many moons has mars",
                "how many legs has a spider",
                "who wrote hamlet",
                "who painted the mona lisa",
                "where is the eiffel tower",
                "where is mount fuji",
            ]
        )
    }
    chosen = select_for_annotation(inputs, 3, "votek", embedder=HashingEmbedder(64), k=2)
    assert len(chosen) == 3 and set(chosen) <= set(inputs)
    assert select_for_annotation(
        list(inputs.items()), 2, "random", seed=0
    ) == select_for_annotation(inputs, 2, "random", seed=0)


@pytest.mark.parametrize("method", ["votek", "ideal", "kmeans", "random"])
def test_bad_budgets_and_pools_give_clear_errors(method):
    vectors, _ = clusters([5])
    with pytest.raises(DemoError, match=r"budget \(6\) is larger than the pool \(5 inputs\)"):
        select_indices(vectors, 6, method)
    with pytest.raises(DemoError, match="positive whole number"):
        select_indices(vectors, 0, method)
    with pytest.raises(DemoError, match="pool of inputs is empty"):
        select_for_annotation({}, 1, method, embedder=HashingEmbedder(8))
    with pytest.raises(DemoError, match="'a' occurs twice"):
        select_for_annotation([("a", "x"), ("a", "y")], 1, method, embedder=HashingEmbedder(8))
    with pytest.raises(DemoError, match="non-empty string id and text"):
        select_for_annotation([("a", "x"), ("b", "")], 1, method, embedder=HashingEmbedder(8))


def test_unknown_method_is_refused():
    with pytest.raises(DemoError, match="unknown selection method 'best'"):
        select_for_annotation({"a": "x"}, 1, "best", embedder=HashingEmbedder(8))  # type: ignore[arg-type]
