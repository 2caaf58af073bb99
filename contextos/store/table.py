"""One LanceDB table of texts with vectors: upsert by id, dense / full-text / hybrid search.

Tools, memory and demonstrations all keep their rows here. Each row has an ``id``, the ``text``
that is embedded and full-text indexed, and any scalar metadata columns; the table adds the
``vector`` column itself. Every write is one LanceDB versioned commit, so a reader never sees half
of one, and a process killed mid-write leaves the previous version intact.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from contextos.embed.base import Embedder, embed_query
from contextos.embed.cache import CachedEmbedder
from contextos.errors import StoreError
from contextos.store import _search
from contextos.store._commit import commit, merge
from contextos.store._create import create_or_merge
from contextos.store._indexes import index_types, maintain_indexes
from contextos.store._open import connect, open_table
from contextos.store._schema import check_schema, ensure_primary_key, table_schema
from contextos.store._sql import id_chunks
from contextos.store.fusion import fuse_scores
from contextos.store.hit import Hit, SearchMode
from contextos.store.where import id_in
from contextos.tracing.spans import span

# LanceDB logs a warning for every query that does not select its score column (our queries do
# select it; this silences the same warning from other callers). lancedb reads LANCEDB_LOG,
# the lance engine LANCE_LOG; both are read once, when the native library loads.
os.environ.setdefault("LANCEDB_LOG", "error")
os.environ.setdefault("LANCE_LOG", "error")


class VectorTable:
    """A LanceDB table of ``{"id", "text", ...metadata}`` rows with vectors from ``embedder``.

    ```python
    table = VectorTable.open("./store", "tools", embedder=default_embedder())
    table.upsert([{"id": "t1", "text": "get the weather forecast", "category": "weather"}])
    hits = table.search("will it rain tomorrow", k=5, where="category = 'weather'")
    ```

    The table itself is created by the first ``upsert`` (its metadata columns are those rows'
    columns). Past ``ann_threshold`` rows an IVF_SQ vector index is built; a full-text index on
    ``text`` is built with the table and kept current after writes.
    """

    def __init__(
        self,
        db: Any,
        name: str,
        embedder: Embedder,
        table: Any,
        ann_threshold: int,
        where_label: str,
        folder: Path | None = None,
    ) -> None:
        self._db = db
        # a local store's folder, where creation takes its lock; None if remote
        self._folder = folder
        self.name = name
        self.embedder: CachedEmbedder = (
            embedder if isinstance(embedder, CachedEmbedder) else CachedEmbedder(embedder)
        )
        self._table = table
        self.ann_threshold = ann_threshold
        self._label = where_label

    # ---------------------------------------------------------------- opening
    @classmethod
    def open(
        cls,
        uri: str | Path,
        name: str,
        *,
        embedder: Embedder,
        create: bool = True,
        ann_threshold: int = 5000,
        connect_options: dict[str, Any] | None = None,
    ) -> VectorTable:
        """Open table ``name`` in the store at ``uri`` (a local folder, or a LanceDB URI such as
        ``s3://bucket/path`` or ``db://project``, passed to ``lancedb.connect`` as is).

        With ``create=False`` a missing store or table raises StoreError. A folder that holds
        other files but no LanceDB table, or a table whose vectors have another dimension than
        ``embedder``, raises StoreError saying what to do. ``connect_options`` go to
        ``lancedb.connect`` (e.g. ``api_key``, ``region``, ``storage_options`` for a remote store).
        A table another process is creating right now is opened once its first version is committed.
        """
        db, uri_s, folder, names = connect(uri, create=create, connect_options=connect_options)
        label = f"{uri_s}/{name}"
        table = None
        if name in names:
            try:
                table = open_table(db, name, folder, label, missing_ok=create)
            except StoreError:
                raise
            except Exception as exc:
                raise StoreError(
                    f"table {name!r} in {uri_s} is not a readable LanceDB table: {exc}"
                ) from exc
            if table is not None:
                check_schema(table.schema, name, uri_s, embedder)
                ensure_primary_key(table, label)
        elif not create:
            raise StoreError(
                f"the store at {uri_s} has no table {name!r} (it has: {sorted(names) or 'none'})"
            )
        return cls(db, name, embedder, table, ann_threshold, label, folder)

    @property
    def lance_table(self) -> Any:
        """The LanceDB table behind this handle (a ``lancedb.table.Table``; None before the first
        upsert), for LanceDB features this class does not wrap. Writes made through it bypass the
        embedder, the schema checks and the conflict retries."""
        return self._table

    # ---------------------------------------------------------------- reading
    @property
    def columns(self) -> list[str]:
        """Column names of the table (empty before the first upsert)."""
        return [] if self._table is None else [c for c in self._table.schema.names if c != "vector"]

    def count(self, where: str | None = None) -> int:
        """Number of rows (matching ``where``, an SQL filter, when given)."""
        if self._table is None:
            return 0
        try:
            return int(self._table.count_rows(where))
        except Exception as exc:
            raise StoreError(
                f"cannot count rows of {self._label} with filter {where!r}: {exc}"
            ) from exc

    def get(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """The rows with these ids, in the order asked; ids not stored are left out."""
        ids = list(dict.fromkeys(ids))
        if self._table is None or not ids:
            return []
        found = {r["id"]: r for r in self._by_id(ids, self.columns)}
        return [found[i] for i in ids if i in found]

    def _by_id(self, ids: Sequence[str], columns: Sequence[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for chunk in id_chunks(ids):
            query = self._table.search().where(id_in(chunk))
            rows += query.select(list(columns)).limit(len(chunk)).to_list()
        return rows

    def scan(
        self,
        where: str | None = None,
        columns: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Rows matching ``where`` (an SQL filter; all rows without), in storage order: their
        ``columns`` (every column but the vector by default), at most ``limit`` of them."""
        if self._table is None:
            return []
        query = self._table.search()
        if where:
            query = query.where(where)
        try:
            found: list[dict[str, Any]] = (
                query.select(list(columns) if columns is not None else self.columns)
                .limit(limit)
                .to_list()
            )
            return found
        except Exception as exc:
            raise StoreError(
                f"cannot read rows of {self._label} with filter {where!r}: {exc}"
            ) from exc

    def rows_at(
        self, row_ids: Sequence[int], columns: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """The rows at these LanceDB row ids (as a search ``with_row_id`` returns them), or [] when
        any of them no longer exists. Row ids are addresses, not identities: compaction moves rows,
        so callers check each row's id and read the others with ``get``."""
        if self._table is None or not row_ids:
            return []
        try:
            found: list[dict[str, Any]] = (
                self._table.take_row_ids(list(row_ids))
                .select(list(columns) if columns is not None else self.columns)
                .to_list()
            )
        except Exception:
            return []
        return found

    @property
    def version(self) -> int | None:
        """The table version this handle reads (bumped by every write); None before the first upsert."""
        return None if self._table is None else self._table.version

    def refresh(self) -> bool:
        """Move to the latest committed version, so reads see what other processes wrote since
        this table was opened (LanceDB keeps a handle at the version it opened). Returns False
        when the table did not exist yet when opened: open it again to see it."""
        if self._table is None:
            return False
        try:
            self._table.checkout_latest()
        except Exception as exc:
            raise StoreError(f"cannot read the latest version of {self._label}: {exc}") from exc
        return True

    # ---------------------------------------------------------------- searching
    def search(
        self, query: str, k: int = 10, *, mode: SearchMode = "hybrid", where: str | None = None
    ) -> list[Hit]:
        """The ``k`` best rows for ``query``: by vector (dense), by BM25 (fts), or both (hybrid:
        min-max scaled scores averaged, ``contextos.store.fuse_scores``)."""
        if mode not in ("dense", "fts", "hybrid"):
            raise ValueError(f"mode must be 'dense', 'fts' or 'hybrid', not {mode!r}")
        if k < 1 or self._table is None:
            return []
        attributes = {
            "contextos.store.table": self.name,
            "contextos.store.mode": mode,
            "contextos.store.k": k,
        }
        with span("contextos.store.search", attributes):
            if mode == "dense":
                return self.search_vector(embed_query(self.embedder, query), k, where=where)
            if mode == "fts":
                return _search.bm25(self._table, query, k, self.columns, where, self._label)
            return self._hybrid(query, k, where)

    def _hybrid(self, query: str, k: int, where: str | None) -> list[Hit]:
        # Fuse deeper lists than k: a row ranked 30th by one retriever and 2nd by the other belongs in the top.
        depth = max(k * 3, 50)
        vector = embed_query(self.embedder, query)
        dense = self.search_vector(vector, depth, where=where)
        addresses: dict[str, int] = {}
        lexical = _search.bm25(
            self._table, query, depth, self.columns, where, self._label, addresses
        )
        fused = fuse_scores([{h.id: h.score for h in dense}, {h.id: h.score for h in lexical}])
        found = {h.id: h for h in lexical} | {h.id: h for h in dense}
        best = sorted(fused, key=lambda i: (-fused[i], i))[:k]
        similarity = {h.id: h.similarity for h in dense}
        missing = {i: addresses[i] for i in best if i not in similarity and i in addresses}
        if missing:  # found by BM25 alone: read their vectors, so every hit has its cosine
            # read by address, which this handle's version keeps valid
            rows = self.rows_at(list(missing.values()), ["id", "vector"])
            similarity.update(_search.cosines(vector, [r for r in rows if r["id"] in missing]))
        return [Hit(i, fused[i], found[i].row, similarity.get(i)) for i in best]

    def search_vector(
        self, vector: Sequence[float] | np.ndarray, k: int = 10, *, where: str | None = None
    ) -> list[Hit]:
        """The ``k`` rows nearest to ``vector`` by cosine similarity."""
        if self._table is None or k < 1:
            return []
        vector = np.asarray(vector, dtype=np.float32)
        if vector.shape != (self.embedder.dimension,):
            raise StoreError(
                f"query vector has shape {vector.shape}, the table holds ({self.embedder.dimension},) vectors"
            )
        return _search.nearest(self._table, vector, k, self.columns, where, self._label)

    def ranked(
        self, query: str | np.ndarray, k: int, columns: Sequence[str]
    ) -> list[dict[str, Any]]:
        """The top ``k`` rows of one search with only ``columns`` read, each with its ``_score`` (BM25
        for a text, cosine similarity for a vector) and ``_rowid`` (an address for ``rows_at``).

        A matrix of query vectors is one search giving each row's top ``k`` (an id may come back once
        per vector). Lighter than ``search`` when a caller needs ids, not whole rows: materialising
        descriptions and schemas for a hundred candidates costs more than the search itself.
        """
        if self._table is None or k < 1:
            return []
        return _search.ranked(self._table, query, k, columns, self._label)

    # ---------------------------------------------------------------- writing
    def upsert(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert rows, or replace the stored rows with the same ids; returns how many were written.

        Texts already stored unchanged under the same id, or seen before by the embedder cache,
        are not embedded again.
        """
        import pyarrow as pa

        rows = _validate(rows)
        if not rows:
            return 0
        with span(
            "contextos.store.upsert",
            {"contextos.store.table": self.name, "contextos.store.rows": len(rows)},
        ):
            data_rows = [{**r, "vector": v} for r, v in zip(rows, self._vectors(rows))]
            if self._table is None:
                data = pa.Table.from_pylist(data_rows, schema=table_schema(rows, self.embedder))
                self._table = create_or_merge(
                    self._db,
                    self.name,
                    data,
                    embedder=self.embedder,
                    folder=self._folder,
                    label=self._label,
                )
            else:
                merge(self._table, self._fit(rows, data_rows), self._label)
            maintain_indexes(self._table, self.ann_threshold, self._label)
        return len(rows)

    def _fit(self, rows: list[dict[str, Any]], data_rows: list[dict[str, Any]]) -> Any:
        """``data_rows`` as a pyarrow table of this table's schema (StoreError when they do not fit)."""
        import pyarrow as pa

        schema = self._table.schema
        extra = sorted({c for r in rows for c in r} - set(schema.names))
        if extra:
            raise StoreError(
                f"rows have columns {extra} that table {self._label} lacks (it has {self.columns}): "
                "a table's columns are fixed by its first upsert"
            )
        try:
            return pa.Table.from_pylist(data_rows, schema=schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise StoreError(f"rows do not fit the columns of {self._label}: {exc}") from exc

    def delete(self, ids: Sequence[str]) -> int:
        """Delete the rows with these ids (unknown ids are ignored); returns how many were deleted."""
        ids = list(dict.fromkeys(ids))
        if self._table is None or not ids:
            return 0
        before = self.count()
        for chunk in id_chunks(ids):
            commit(self._table, partial(self._table.delete, id_in(chunk)), self._label)
        return before - self.count()

    def _vectors(self, rows: list[dict[str, Any]]) -> np.ndarray:
        # Reuse vectors already stored for unchanged texts: re-indexing an unchanged catalog in a
        # new process embeds nothing even without a cache folder.
        reuse: dict[str, np.ndarray] = {}
        if self._table is not None:
            stored = self._by_id([r["id"] for r in rows], ["id", "text", "vector"])
            reuse.update((s["text"], np.asarray(s["vector"], dtype=np.float32)) for s in stored)
        todo = [r["text"] for r in rows if r["text"] not in reuse]
        fresh = dict(zip(todo, self.embedder.embed(todo))) if todo else {}
        known = reuse | fresh
        return np.stack([known[r["text"]] for r in rows])

    # ---------------------------------------------------------------- indexes
    def indexes(self) -> dict[str, str]:
        """Index name to index type, e.g. ``{"text_idx": "FTS", "vector_idx": "IvfSq"}``."""
        return {} if self._table is None else index_types(self._table)

    def optimize(self) -> None:
        """Fold new rows into every index and compact files (also done automatically as rows grow)."""
        if self._table is not None:
            commit(self._table, self._table.optimize, self._label)


def _validate(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out = []
    for n, row in enumerate(rows):
        if not isinstance(row, dict):
            raise StoreError(f"row {n} is a {type(row).__name__}, not a dict")
        rid, text = row.get("id"), row.get("text")
        if not isinstance(rid, str) or not rid:
            raise StoreError(f"row {n} has no string 'id'")
        if not isinstance(text, str):
            raise StoreError(f"row {n} ({rid!r}) has no string 'text'")
        if "vector" in row:
            raise StoreError(
                f"row {n} ({rid!r}) has a 'vector' column: vectors come from the table's embedder"
            )
        if rid in seen:
            raise StoreError(f"row {n}: id {rid!r} occurs twice in one upsert")
        seen.add(rid)
        out.append(row)
    return out
