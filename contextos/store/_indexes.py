"""Keeping a table's indexes current: full-text on ``text`` from the start, IVF_SQ on ``vector``
and a B-tree on ``id`` past a row count, each folded in again as unindexed rows pile up.

Index builds and refreshes are housekeeping commits: one that loses a race with another writer
gives up after the retries, since its rows are committed and searched (by a flat scan) anyway.
"""

from __future__ import annotations

from typing import Any

from contextos.store._commit import commit
from contextos.tracing.spans import span


def index_types(table: Any) -> dict[str, str]:
    """Index name to index type, e.g. ``{"text_idx": "FTS", "vector_idx": "IvfSq"}``."""
    return {i.name: str(i.index_type) for i in table.list_indices()}


def maintain_indexes(table: Any, ann_threshold: int, label: str) -> None:
    """Build the indexes a table of this size needs, and refresh the ones that lag behind."""
    from lancedb.index import FTS, BTree, IvfSq

    existing = {tuple(i.columns): i for i in table.list_indices()}
    if ("text",) not in existing:
        _build(table, "text", FTS(), label)
    else:
        _refresh(table, existing[("text",)].name, label)
    rows = int(table.count_rows())
    if ("vector",) not in existing and rows >= ann_threshold:
        with span("contextos.store.build_ann", {"contextos.store.rows": rows}):
            _build(table, "vector", IvfSq(distance_type="cosine"), label)
            if ("id",) not in existing:
                # merge_insert and get() look rows up by id: a B-tree keeps that fast at scale.
                _build(table, "id", BTree(), label)
    elif ("vector",) in existing:
        _refresh(table, existing[("vector",)].name, label)


def _build(table: Any, column: str, config: Any, label: str) -> None:
    commit(
        table,
        lambda: table.create_index(column, config=config, replace=True),
        label,
        housekeeping=True,
    )


def _refresh(table: Any, index_name: str, label: str) -> None:
    # Unindexed rows are still searched (by a slower flat scan); fold them into the index once
    # they are more than a tenth of it, so the scan never dominates.
    stats = table.index_stats(index_name)
    if stats is not None and stats.num_unindexed_rows > max(100, stats.num_indexed_rows // 10):
        commit(table, table.optimize, label, housekeeping=True)
