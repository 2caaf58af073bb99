"""Ranked reads of a LanceDB table: by vector (cosine), by BM25 over ``text``, and the light
``ranked`` read tool retrieval uses. :class:`~contextos.store.VectorTable` fuses the first two."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from contextos.errors import StoreError
from contextos.store.hit import Hit


def run(query: Any, label: str, where: str | None) -> list[dict[str, Any]]:
    """The rows of a LanceDB query; a failure is a StoreError naming the table and filter."""
    try:
        rows: list[dict[str, Any]] = query.to_list()
        return rows
    except Exception as exc:
        if where:
            raise StoreError(f"search in {label} failed with filter {where!r}: {exc}") from exc
        raise StoreError(f"search in {label} failed: {exc}") from exc


def nearest(
    table: Any,
    vector: np.ndarray,
    k: int,
    columns: Sequence[str],
    where: str | None,
    label: str,
) -> list[Hit]:
    """The ``k`` rows nearest to ``vector`` by cosine similarity (``where`` applied first)."""
    query = table.search(vector, vector_column_name="vector").distance_type("cosine").limit(k)
    query = query.select([*columns, "_distance"])
    if where:
        query = query.where(where, prefilter=True)
    rows = run(query, label, where)
    return [Hit(r["id"], 1.0 - (d := float(r.pop("_distance"))), r, 1.0 - d) for r in rows]


def bm25(
    table: Any,
    query: str,
    k: int,
    columns: Sequence[str],
    where: str | None,
    label: str,
    addresses: dict[str, int] | None = None,
) -> list[Hit]:
    """The ``k`` best rows by BM25 over ``text``; ``addresses``, when given, is filled with each
    hit's row id (for :func:`cosines`)."""
    if not query.strip():
        return []
    q = table.search(query, query_type="fts", fts_columns="text").limit(k)
    q = q.select([*columns, "_score"])
    if addresses is not None:
        q = q.with_row_id(True)
    if where:
        q = q.where(where, prefilter=True)
    rows = run(q, label, where)
    if addresses is not None:
        addresses.update((r["id"], r.pop("_rowid")) for r in rows)
    return [Hit(r["id"], float(r.pop("_score")), r) for r in rows]


def ranked(
    table: Any, query: str | np.ndarray, k: int, columns: Sequence[str], label: str
) -> list[dict[str, Any]]:
    """The top ``k`` rows of one search with only ``columns`` read, each with ``_score`` (BM25 for
    a text, cosine similarity for a vector or each row of a matrix of them) and ``_rowid``."""
    if isinstance(query, str):
        rows = run(
            table.search(query, query_type="fts", fts_columns="text")
            .limit(k)
            .with_row_id(True)
            .select([*columns, "_score"]),
            label,
            None,
        )
        for r in rows:
            r["_score"] = float(r["_score"])
        return rows
    vectors = list(query) if query.ndim == 2 and len(query) > 1 else query.reshape(-1)
    search = table.search(vectors, vector_column_name="vector").distance_type("cosine")
    rows = run(search.limit(k).with_row_id(True).select([*columns, "_distance"]), label, None)
    for r in rows:
        r["_score"] = 1.0 - float(r.pop("_distance"))
    return rows


def cosines(vector: np.ndarray, rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Cosine similarity of ``vector`` and each row's stored ``vector``, by row id."""
    if not rows:
        return {}
    matrix = np.asarray([r["vector"] for r in rows], dtype=np.float32)
    query = np.asarray(vector, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1) * (float(np.linalg.norm(query)) or 1.0)
    similarities = matrix @ query / np.where(norms > 0, norms, 1.0)
    return {r["id"]: float(c) for r, c in zip(rows, similarities)}
