"""demos: pools of worked examples, retrieval of the ones to show per step, and selective annotation.

- :class:`Demonstration`, :class:`DemoPool`: examples in LanceDB, embedded by their input.
- :class:`KnnRetriever`, :class:`MmrRetriever`, :class:`BalancedRetriever`: ``demonstrations`` sources.
- :class:`DemoSource`: a pool (or an episodic memory) plugged into an Agent under its own section budget.
- :func:`select_for_annotation`: which inputs to label (vote-k, IDEAL, k-means, random).
"""

from __future__ import annotations

from contextos.demos._graph import knn_graph, nearest_neighbours
from contextos.demos._influence import ic_influence
from contextos.demos.annotate import METHODS, select_for_annotation, select_indices
from contextos.demos.pool import Demonstration, DemoPool, ScoredDemo, read_demonstrations
from contextos.demos.retrieve import (
    BalancedRetriever,
    DemoRetriever,
    KnnRetriever,
    MmrRetriever,
    format_demonstration,
)
from contextos.demos.source import DemoSource

__all__ = [
    "METHODS",
    "BalancedRetriever",
    "DemoPool",
    "DemoRetriever",
    "DemoSource",
    "Demonstration",
    "KnnRetriever",
    "MmrRetriever",
    "ScoredDemo",
    "format_demonstration",
    "ic_influence",
    "knn_graph",
    "nearest_neighbours",
    "read_demonstrations",
    "select_for_annotation",
    "select_indices",
]
