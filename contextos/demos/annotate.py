"""Selective annotation: which few of many unlabeled inputs are worth labeling as demonstrations.

Given a pool of inputs and a budget (how many a person will label), each method returns the inputs
to label, in the order chosen:

- ``votek``: vote-k (Su et al., "Selective Annotation Makes Language Models Better Few-Shot
  Learners", ICLR 2023), its graph-only stage ("fast vote-k") for the whole budget;
- ``ideal``: IDEAL (Zhang et al., ICLR 2024), see ``contextos.demos._influence``;
- ``kmeans``: the input nearest each centroid of ``budget`` cosine k-means clusters;
- ``random``: a uniform sample (the baseline every method should beat).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from contextos.demos._graph import knn_graph, spherical_kmeans
from contextos.demos._influence import activation_graph, greedy_max_influence
from contextos.demos.pool import check_unique
from contextos.embed.base import Embedder
from contextos.errors import DemoError

SelectionMethod = Literal["votek", "ideal", "kmeans", "random"]
METHODS: tuple[str, ...] = ("votek", "ideal", "kmeans", "random")


def select_votek(
    vectors: np.ndarray, budget: int, *, k: int = 150, rho: float = 10.0, **neighbour_options: int
) -> list[int]:
    """Vote-k: every input votes for its ``k`` nearest neighbours; the next pick is the unselected input
    with the most votes, each vote worth ``rho ** -m`` where m counts the already-selected inputs
    among the voter's own neighbours. A region already represented votes weakly, so the picks are
    both representative (many votes) and diverse (the discount). ``k`` and ``rho`` as in the paper."""
    graph = knn_graph(vectors, k, similarities=False, **neighbour_options)
    score = [float(d) for _, d in sorted(graph.in_degree())]
    selected_nearby = [0] * len(score)
    is_selected = [False] * len(score)
    chosen: list[int] = []
    for _ in range(budget):
        u = max((i for i in range(len(score)) if not is_selected[i]), key=lambda i: (score[i], -i))
        chosen.append(u)
        is_selected[u] = True
        # u stops voting: the nodes it voted for lose its vote.
        weight = rho ** -selected_nearby[u]
        for w in graph.succ[u]:
            score[w] -= weight
        # Each voter for u now has one more selected neighbour: its votes are worth less.
        for v in graph.pred[u]:
            before = rho ** -selected_nearby[v]
            selected_nearby[v] += 1
            if is_selected[v]:
                continue
            drop = before - rho ** -selected_nearby[v]
            for w in graph.succ[v]:
                score[w] -= drop
    return chosen


def select_ideal(
    vectors: np.ndarray,
    budget: int,
    *,
    k: int = 10,
    samples: int = 20_000,
    seed: int = 0,
    **neighbour_options: int,
) -> list[int]:
    """IDEAL: greedy maximum marginal influence over the directed kNN graph (``k`` neighbours), the
    influence estimated from ``samples`` reverse-reachable sets."""
    return greedy_max_influence(
        activation_graph(vectors, k, **neighbour_options), budget, samples=samples, seed=seed
    )


def select_kmeans(vectors: np.ndarray, budget: int, *, seed: int = 0) -> list[int]:
    """The input nearest each centroid of ``budget`` cosine k-means clusters, largest cluster first."""
    centroids, assignment = spherical_kmeans(vectors, budget, seed=seed)
    sizes = np.bincount(assignment, minlength=budget)
    chosen: list[int] = []
    taken: set[int] = set()
    for c in np.argsort(-sizes, kind="stable"):
        order = np.argsort(-(vectors @ centroids[c]), kind="stable")
        members = [int(i) for i in order if assignment[i] == c and int(i) not in taken] or [
            int(i) for i in order if int(i) not in taken
        ]
        chosen.append(members[0])
        taken.add(members[0])
    return chosen


def select_random(n: int, budget: int, *, seed: int = 0) -> list[int]:
    """``budget`` distinct indices below ``n``, uniformly at random."""
    return [int(i) for i in np.random.default_rng(seed).permutation(n)[:budget]]


def select_indices(
    vectors: np.ndarray,
    budget: int,
    method: SelectionMethod = "votek",
    *,
    seed: int = 0,
    **options: Any,
) -> list[int]:
    """Row indices of ``vectors`` (unit-length input embeddings) to annotate, in the order chosen."""
    n = len(vectors)
    if n == 0:
        raise DemoError("the pool of inputs is empty: nothing to select from")
    if not isinstance(budget, int) or budget < 1:
        raise DemoError(f"the annotation budget must be a positive whole number, got {budget!r}")
    if budget > n:
        raise DemoError(
            f"the budget ({budget}) is larger than the pool ({n} inputs): lower the budget or add inputs"
        )
    if method == "votek":
        return select_votek(vectors, budget, **options)
    if method == "ideal":
        return select_ideal(vectors, budget, seed=seed, **options)
    if method == "kmeans":
        return select_kmeans(vectors, budget, seed=seed)
    if method == "random":
        return select_random(n, budget, seed=seed)
    raise DemoError(f"unknown selection method {method!r}: use one of {', '.join(METHODS)}")


def select_for_annotation(
    inputs: Mapping[str, str] | Sequence[tuple[str, str]],
    budget: int,
    method: SelectionMethod = "votek",
    *,
    embedder: Embedder | None = None,
    seed: int = 0,
    **options: Any,
) -> list[str]:
    """The ids of the inputs to label, in the order chosen. ``inputs``: id -> text, or (id, text) pairs.

    ```python
    select_for_annotation({"q1": "how far is the moon?", ...}, budget=18, method="votek")
    ```
    """
    if method not in METHODS:
        raise DemoError(f"unknown selection method {method!r}: use one of {', '.join(METHODS)}")
    pairs = list(inputs.items()) if isinstance(inputs, Mapping) else list(inputs)
    check_unique([i for i, _ in pairs], "inputs")
    for i, text in pairs:
        if not isinstance(i, str) or not i or not isinstance(text, str) or not text.strip():
            raise DemoError(f"input {i!r} needs a non-empty string id and text")
    if method == "random" or not isinstance(budget, int) or not 1 <= budget <= len(pairs):
        # Nothing to embed: a random draw ignores the texts, and a bad budget fails before any work.
        vectors = np.zeros((len(pairs), 1), dtype=np.float32)
    else:
        if embedder is None:
            from contextos.embed import default_embedder

            embedder = default_embedder()
        vectors = embedder.embed([t for _, t in pairs])
    return [pairs[i][0] for i in select_indices(vectors, budget, method, seed=seed, **options)]
