"""demos: pools of worked examples, retrieval of the ones to show per step, and selective annotation.

- :class:`Demonstration`, :class:`DemoPool`: examples in LanceDB, embedded by their input.
- :class:`KnnRetriever`, :class:`MmrRetriever`, :class:`BalancedRetriever`: ``demonstrations`` sources.
- :class:`DemoSource`: a pool (or an episodic memory) plugged into an Agent under its own section budget.
- :func:`select_for_annotation`: which inputs to label (vote-k, IDEAL, k-means, random).
"""

from __future__ import annotations

from contextos.demos.annotate import select_for_annotation
from contextos.demos.pool import Demonstration, DemoPool, ScoredDemo, read_demonstrations
from contextos.demos.retrieve import (
    BalancedRetriever,
    DemoRetriever,
    KnnRetriever,
    MmrRetriever,
)
from contextos.demos.source import DemoSource

__all__ = [
    "BalancedRetriever",
    "DemoPool",
    "DemoRetriever",
    "DemoSource",
    "Demonstration",
    "KnnRetriever",
    "MmrRetriever",
    "ScoredDemo",
    "read_demonstrations",
    "select_for_annotation",
]
