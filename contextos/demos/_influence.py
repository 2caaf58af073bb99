"""IDEAL (Zhang et al., "IDEAL: Influence-Driven Selective Annotations Empower In-Context Learners
in Large Language Models", ICLR 2024): pick the examples whose influence spreads furthest over a
directed kNN graph of the unlabeled inputs.

Each input points to its ``k`` nearest neighbours; an edge u -> w carries the activation probability
sim(u, w) / (sum of u's out-edge similarities). The influence of a set S is the expected number of
nodes an independent-cascade diffusion started from S activates (Kempe, Kleinberg & Tardos, KDD
2003); IDEAL adds, one at a time, the node with the largest marginal gain in influence.

The paper estimates each gain by simulating the cascade; here the same expectation is estimated
with reverse-reachable sets (Borgs, Brautbar, Chayes & Lucier, SODA 2014): a random node's set of
nodes that reach it over a random draw of live edges. S's influence is n times the share of sets S
meets, so the greedy step becomes a max-coverage step over the sets, computed once, instead of a
fresh batch of simulations for every candidate at every step.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Sequence
from typing import Any

import networkx as nx
import numpy as np

from contextos.demos._graph import knn_graph


def activation_graph(vectors: np.ndarray, k: int = 10, **neighbour_options: int) -> nx.DiGraph:
    """The kNN graph with each edge's activation probability as attribute ``p`` (out-edges of a node sum to 1)."""
    graph = knn_graph(vectors, k, similarities=True, **neighbour_options)
    for u in graph:
        edges = graph.succ[u]
        total = sum(max(d["similarity"], 0.0) for d in edges.values())
        for d in edges.values():
            d["p"] = max(d["similarity"], 0.0) / total if total > 0 else 1.0 / len(edges)
    return graph


def _cascade(adjacency: Any, start: Iterable[int], rng: random.Random) -> set[int]:
    """The nodes reached from ``start`` when each edge is live with its probability ``p``: forward
    over ``graph.succ`` (a cascade), backward over ``graph.pred`` (a reverse-reachable set)."""
    reached = set(start)
    frontier = list(reached)
    while frontier:
        node = frontier.pop()
        for other, d in adjacency[node].items():
            if other not in reached and rng.random() < d["p"]:
                reached.add(other)
                frontier.append(other)
    return reached


def reverse_reachable_sets(graph: nx.DiGraph, count: int, *, seed: int = 0) -> list[list[int]]:
    """``count`` reverse-reachable sets: for a random root, the nodes whose cascade reaches it when each
    edge is live with its probability ``p``."""
    rng = random.Random(seed)
    nodes = list(graph)
    return [
        list(_cascade(graph.pred, [nodes[rng.randrange(len(nodes))]], rng)) for _ in range(count)
    ]


def greedy_max_influence(
    graph: nx.DiGraph, budget: int, *, samples: int = 20_000, seed: int = 0
) -> list[int]:
    """IDEAL's greedy selection: ``budget`` nodes, each the one of largest marginal influence gain given
    those before it (lazy evaluation: a gain only shrinks as the set grows, influence being submodular)."""
    sets = reverse_reachable_sets(graph, samples, seed=seed)
    covers: dict[int, list[int]] = {u: [] for u in graph}
    for index, members in enumerate(sets):
        for u in members:
            covers[u].append(index)
    covered = bytearray(len(sets))
    # Max-heap of (-gain, node); ties go to the lower node id, so the order is deterministic.
    heap = [(-len(c), u) for u, c in covers.items()]
    heapq.heapify(heap)
    chosen: list[int] = []
    while heap and len(chosen) < budget:
        _, u = heapq.heappop(heap)  # the queued gain may be stale: recounted below
        gain = sum(1 for s in covers[u] if not covered[s])
        if (heap and gain < -heap[0][0]) or (heap and gain == -heap[0][0] and heap[0][1] < u):
            heapq.heappush(heap, (-gain, u))  # stale: re-queue with its current gain
            continue
        chosen.append(u)
        for s in covers[u]:
            covered[s] = 1
    return chosen


def ic_influence(
    graph: nx.DiGraph, seeds: Sequence[int], *, runs: int = 200, seed: int = 0
) -> float:
    """The expected number of nodes an independent cascade from ``seeds`` activates (``seeds`` included),
    by ``runs`` forward simulations over edge probabilities ``p`` (as ``activation_graph`` sets them)."""
    rng = random.Random(seed)
    return sum(len(_cascade(graph.succ, seeds, rng)) for _ in range(runs)) / runs
