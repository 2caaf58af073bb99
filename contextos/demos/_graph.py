"""Nearest neighbours of many unit vectors, and the directed kNN graph (networkx) built from them.

Memory stays linear in the number of vectors: exact neighbours are computed a block of rows at a
time (a ``block`` x n similarity slab, never n x n), and past ``exact_up_to`` vectors an inverted-file
index does it approximately (Jégou et al., "Product quantization for nearest neighbor search",
TPAMI 2011, section 4: a coarse k-means quantiser, each vector compared only with the vectors of
the ``nprobe`` cells nearest to its own).
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from contextos.errors import DemoError


def spherical_kmeans(
    vectors: np.ndarray,
    clusters: int,
    *,
    iterations: int = 20,
    seed: int = 0,
    sample: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine k-means (k-means++ seeding, Arthur & Vassilvitskii 2007): ``(centroids, assignment)``.

    Centroids are unit vectors; ``assignment[i]`` is the cluster of row ``i``. With ``sample``, the
    centroids are fitted on that many random rows and every row is then assigned.
    """
    n = len(vectors)
    if not 1 <= clusters <= n:
        raise DemoError(f"cannot make {clusters} clusters of {n} vectors")
    rng = np.random.default_rng(seed)
    fit = (
        vectors if sample is None or sample >= n else vectors[rng.choice(n, sample, replace=False)]
    )
    centroids = _kmeanspp(fit, clusters, rng)
    for _ in range(iterations):
        assignment = assign(fit, centroids)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assignment, fit)
        norms = np.linalg.norm(sums, axis=1)
        empty = norms == 0
        if empty.any():  # re-seed an empty cluster with the row farthest from its centroid
            sims = np.einsum("ij,ij->i", fit, centroids[assignment])
            sums[empty] = fit[np.argsort(sims)[: int(empty.sum())]]
            norms = np.linalg.norm(sums, axis=1)
        new = sums / norms[:, None]
        if np.allclose(new, centroids, atol=1e-6):
            centroids = new
            break
        centroids = new
    return centroids.astype(np.float32), assign(vectors, centroids)


def _kmeanspp(vectors: np.ndarray, clusters: int, rng: np.random.Generator) -> np.ndarray:
    chosen = [int(rng.integers(len(vectors)))]
    distance = 1.0 - vectors @ vectors[chosen[0]]
    for _ in range(1, clusters):
        weights = np.clip(distance, 0.0, None) ** 2
        total = weights.sum()
        pick = (
            int(rng.choice(len(vectors), p=weights / total))
            if total > 0
            else int(rng.integers(len(vectors)))
        )
        chosen.append(pick)
        distance = np.minimum(distance, 1.0 - vectors @ vectors[pick])
    return vectors[chosen].copy()


def assign(vectors: np.ndarray, centroids: np.ndarray, block: int = 8192) -> np.ndarray:
    """The nearest centroid (by cosine) of each row."""
    out = np.empty(len(vectors), dtype=np.int64)
    for start in range(0, len(vectors), block):
        out[start : start + block] = np.argmax(vectors[start : start + block] @ centroids.T, axis=1)
    return out


def nearest_neighbours(
    vectors: np.ndarray,
    k: int,
    *,
    exact_up_to: int = 20_000,
    nprobe: int = 10,
    block: int = 1024,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` most similar other rows: ``(indices, similarities)``, both (n, k), closest first.

    Exact up to ``exact_up_to`` rows, by blocks of ``block`` rows; approximate (inverted file with
    sqrt(n) cells, ``nprobe`` probed) beyond. ``k`` is capped at n - 1.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(vectors)
    k = min(k, n - 1)
    if k < 1:
        return np.zeros((n, 0), dtype=np.int64), np.zeros((n, 0), dtype=np.float32)
    if n <= exact_up_to:
        return _exact(vectors, vectors, np.arange(n), k, block)
    cells = int(np.sqrt(n))
    centroids, cell_of = spherical_kmeans(
        vectors, cells, iterations=10, seed=seed, sample=min(n, 50 * cells)
    )
    members = [np.flatnonzero(cell_of == c) for c in range(cells)]
    probes = np.argsort(-(centroids @ centroids.T), axis=1)[:, : min(nprobe, cells)]
    indices = np.empty((n, k), dtype=np.int64)
    sims = np.empty((n, k), dtype=np.float32)
    for c in range(cells):
        rows = members[c]
        if not len(rows):
            continue
        candidates = np.concatenate([members[p] for p in probes[c]])
        if len(candidates) <= k:  # a tiny neighbourhood: fall back to the whole set for these rows
            candidates = np.arange(n)
        for start in range(0, len(rows), block):
            part = rows[start : start + block]
            i, s = _exact(vectors[part], vectors[candidates], part, k, block, candidates)
            indices[part], sims[part] = i, s
    return indices, sims


def _exact(
    queries: np.ndarray,
    base: np.ndarray,
    query_ids: np.ndarray,
    k: int,
    block: int,
    base_ids: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    out_i = np.empty((len(queries), k), dtype=np.int64)
    out_s = np.empty((len(queries), k), dtype=np.float32)
    ids = np.arange(len(base)) if base_ids is None else base_ids
    for start in range(0, len(queries), block):
        slab = queries[start : start + block] @ base.T
        slab[
            ids[None, :] == query_ids[start : start + block, None]
        ] = -np.inf  # never one's own neighbour
        top = np.argpartition(-slab, k - 1, axis=1)[:, :k]
        top_s = np.take_along_axis(slab, top, axis=1)
        order = np.argsort(-top_s, axis=1, kind="stable")
        out_i[start : start + block] = ids[np.take_along_axis(top, order, axis=1)]
        out_s[start : start + block] = np.take_along_axis(top_s, order, axis=1)
    return out_i, out_s


def knn_graph(
    vectors: np.ndarray, k: int, *, similarities: bool = True, **neighbour_options: int
) -> nx.DiGraph:
    """The directed kNN graph: nodes 0..n-1, an edge i -> j for each of i's ``k`` nearest rows j, with
    attribute ``similarity`` (their cosine) unless ``similarities=False`` (a lighter graph).
    ``neighbour_options`` go to ``nearest_neighbours``."""
    indices, sims = nearest_neighbours(vectors, k, **neighbour_options)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(vectors)))
    rows = np.repeat(np.arange(len(vectors)), indices.shape[1]).tolist()
    if similarities:
        graph.add_edges_from(
            (i, j, {"similarity": s})
            for i, j, s in zip(rows, indices.ravel().tolist(), sims.ravel().tolist())
        )
    else:
        graph.add_edges_from(zip(rows, indices.ravel().tolist()))
    return graph
