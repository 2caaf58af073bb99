"""One LanceDB table of texts with vectors: upsert by id, dense / full-text / hybrid search.

Tools, memory and demonstrations all keep their rows here. Each row has an ``id``, the ``text``
that is embedded and full-text indexed, and any scalar metadata columns; the table adds the
``vector`` column itself. Every write is one LanceDB versioned commit, so a reader never sees half
of one, and a process killed mid-write leaves the previous version intact.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np

from contextos.embed.base import Embedder, embed_query
from contextos.embed.cache import CachedEmbedder
from contextos.errors import StoreError
from contextos.store.fusion import RRF_K, fuse_ranks, fuse_scores
from contextos.store.lock import creation_lock
from contextos.tracing.spans import span

# LanceDB logs a warning for every query that does not select its score column (our queries do
# select it; this silences the same warning from other callers). lancedb reads LANCEDB_LOG,
# the lance engine LANCE_LOG; both are read once, when the native library loads.
os.environ.setdefault("LANCEDB_LOG", "error")
os.environ.setdefault("LANCE_LOG", "error")

SearchMode = Literal["dense", "fts", "hybrid"]

_RESERVED = ("id", "text", "vector")
_META_EMBEDDER = b"contextos.embedder"
_META_DIMENSION = b"contextos.dimension"
_PRIMARY_KEY = "lance-schema:unenforced-primary-key"
"""Field metadata that makes Lance treat two concurrent merge-inserts of the same new id as a
conflict (and retry one) instead of committing both: without it two processes that upsert one new
id at once leave it in the table twice (lance-format/lance#4585)."""
_RETRYABLE = ("conflict", "retryable", "concurrent")


@dataclass(frozen=True)
class Hit:
    """One search result."""

    id: str
    """The row's id."""
    score: float
    """Higher is better: cosine similarity (dense), BM25 (fts) or the fused score, 0..1 (hybrid,
    ``contextos.store.fusion.fuse_scores``)."""
    row: dict[str, Any] = field(repr=False)
    """The stored row without its vector: id, text and metadata columns."""
    similarity: float | None = None
    """Cosine similarity of the query and the row (dense and hybrid; None for fts): an absolute
    measure where the fused score is relative to the other candidates."""


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _id_filter(ids: Sequence[str]) -> str:
    return "id IN (" + ", ".join(_quote(i) for i in ids) + ")"


def _is_remote(uri: str) -> bool:
    return "://" in uri


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
        self._folder = (
            folder  # a local store's folder, where creation takes its lock; None for a remote one
        )
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
        """
        import lancedb

        uri_s = str(uri)
        folder: Path | None = None
        if not _is_remote(uri_s):
            folder = Path(uri_s).expanduser()
            if folder.exists() and not folder.is_dir():
                raise StoreError(
                    f"store path {folder} is a file, not a folder: pass a folder for the LanceDB store"
                )
            if not folder.exists():
                if not create:
                    raise StoreError(
                        f"no store at {folder}: create it first (open with create=True or index into it)"
                    )
                folder.mkdir(parents=True)
            else:
                entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
                if entries and not any(p.suffix == ".lance" for p in entries):
                    raise StoreError(
                        f"{folder} is not a LanceDB store (it holds other files and no *.lance table): "
                        "pass an empty or new folder"
                    )
            uri_s = str(folder)
        try:
            db = lancedb.connect(uri_s, **(connect_options or {}))
            names = (
                set(db.list_tables().tables)
                if hasattr(db, "list_tables")
                else set(db.table_names())
            )
        except Exception as exc:
            raise StoreError(f"cannot open the LanceDB store at {uri_s}: {exc}") from exc
        table = None
        if name in names:
            try:
                table, schema = cls._open_existing(db, name, folder)
            except Exception as exc:
                raise StoreError(
                    f"table {name!r} in {uri_s} is not a readable LanceDB table: {exc}"
                ) from exc
            cls._check_schema(schema, name, uri_s, embedder)
            if (schema.field("id").metadata or {}).get(_PRIMARY_KEY.encode()) != b"true":
                cls._declare_primary_key(table, f"{uri_s}/{name}")
        elif not create:
            raise StoreError(
                f"the store at {uri_s} has no table {name!r} (it has: {sorted(names) or 'none'})"
            )
        return cls(db, name, embedder, table, ann_threshold, f"{uri_s}/{name}", folder)

    @staticmethod
    def _open_existing(db: Any, name: str, folder: Path | None) -> tuple[Any, Any]:
        try:
            table = db.open_table(name)
            return table, table.schema
        except Exception:
            if folder is None:
                raise
        # Another process may be creating it right now (its folder exists, its first version not
        # yet): once its creation lock is free the table is whole.
        with creation_lock(folder, name):
            table = db.open_table(name)
            return table, table.schema

    @staticmethod
    def _check_schema(schema: Any, name: str, uri: str, embedder: Embedder) -> None:
        missing = [c for c in _RESERVED if c not in schema.names]
        if missing:
            raise StoreError(
                f"table {name!r} in {uri} was not written by contextos (no {', '.join(missing)} column)"
            )
        size = getattr(schema.field("vector").type, "list_size", None)
        if size != embedder.dimension:
            built_with = (schema.metadata or {}).get(_META_EMBEDDER, b"?").decode()
            raise StoreError(
                f"table {name!r} in {uri} holds {size}-d vectors (embedder {built_with!r}) but embedder "
                f"{embedder.name!r} makes {embedder.dimension}-d ones: open it with the embedder it was built "
                "with, or rebuild it (delete the table folder and index again)"
            )
        built_with = (schema.metadata or {}).get(_META_EMBEDDER, b"").decode()
        if built_with and built_with != embedder.name:
            warnings.warn(
                f"table {name!r} was built with embedder {built_with!r}, now searched with {embedder.name!r}: "
                "scores may be meaningless unless both make the same vectors",
                stacklevel=3,
            )

    @staticmethod
    def _declare_primary_key(table: Any, label: str) -> None:
        # Tables written before the id column carried the primary-key mark get it on first open.
        try:
            table.update_field_metadata({"path": "id", "metadata": {_PRIMARY_KEY: "true"}})
        except Exception as exc:
            warnings.warn(
                f"could not mark 'id' as the primary key of {label} ({exc}): two processes that upsert "
                "the same new id at the same moment may both insert it",
                stacklevel=3,
            )

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
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            rows = (
                self._table.search()
                .where(_id_filter(chunk))
                .select(self.columns)
                .limit(len(chunk))
                .to_list()
            )
            found.update((r["id"], r) for r in rows)
        return [found[i] for i in ids if i in found]

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

    def search(
        self, query: str, k: int = 10, *, mode: SearchMode = "hybrid", where: str | None = None
    ) -> list[Hit]:
        """The ``k`` best rows for ``query``: by vector (dense), by BM25 (fts), or both (hybrid:
        min-max scaled scores averaged, ``contextos.store.fusion.fuse_scores``)."""
        if mode not in ("dense", "fts", "hybrid"):
            raise ValueError(f"mode must be 'dense', 'fts' or 'hybrid', not {mode!r}")
        if k < 1 or self._table is None:
            return []
        with span(
            "contextos.store.search",
            {
                "contextos.store.table": self.name,
                "contextos.store.mode": mode,
                "contextos.store.k": k,
            },
        ):
            if mode == "dense":
                return self.search_vector(embed_query(self.embedder, query), k, where=where)
            if mode == "fts":
                return self._fts(query, k, where)
            # Fuse deeper lists than k: a row ranked 30th by one retriever and 2nd by the other belongs in the top.
            depth = max(k * 3, 50)
            vector = embed_query(self.embedder, query)
            dense = self.search_vector(vector, depth, where=where)
            addresses: dict[str, int] = {}
            lexical = self._fts(query, depth, where, addresses)
            fused = fuse_scores([{h.id: h.score for h in dense}, {h.id: h.score for h in lexical}])
            found = {h.id: h for h in lexical} | {h.id: h for h in dense}
            best = sorted(fused, key=lambda i: (-fused[i], i))[:k]
            similarity = {h.id: h.similarity for h in dense}
            missing = {i: addresses[i] for i in best if i not in similarity and i in addresses}
            if missing:  # found by BM25 alone: read their vectors, so every hit has its cosine
                similarity.update(self._cosines(vector, missing))
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
        query = (
            self._table.search(vector, vector_column_name="vector").distance_type("cosine").limit(k)
        )
        query = query.select([*self.columns, "_distance"])
        if where:
            query = query.where(where, prefilter=True)
        rows = self._run(query, where)
        return [Hit(r["id"], 1.0 - (d := float(r.pop("_distance"))), r, 1.0 - d) for r in rows]

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
        if isinstance(query, str):
            rows = self._run(
                self._table.search(query, query_type="fts", fts_columns="text")
                .limit(k)
                .with_row_id(True)
                .select([*columns, "_score"]),
                None,
            )
            for r in rows:
                r["_score"] = float(r["_score"])
            return rows
        vectors = list(query) if query.ndim == 2 and len(query) > 1 else query.reshape(-1)
        search = self._table.search(vectors, vector_column_name="vector").distance_type("cosine")
        rows = self._run(search.limit(k).with_row_id(True).select([*columns, "_distance"]), None)
        for r in rows:
            r["_score"] = 1.0 - float(r.pop("_distance"))
        return rows

    def _fts(
        self, query: str, k: int, where: str | None, addresses: dict[str, int] | None = None
    ) -> list[Hit]:
        """BM25 hits; ``addresses``, when given, is filled with each hit's row id (for ``_cosines``)."""
        if not query.strip():
            return []
        q = (
            self._table.search(query, query_type="fts", fts_columns="text")
            .limit(k)
            .select([*self.columns, "_score"])
        )
        if addresses is not None:
            q = q.with_row_id(True)
        if where:
            q = q.where(where, prefilter=True)
        rows = self._run(q, where)
        if addresses is not None:
            addresses.update((r["id"], r.pop("_rowid")) for r in rows)
        return [Hit(r["id"], float(r.pop("_score")), r) for r in rows]

    def _cosines(self, vector: np.ndarray, addresses: dict[str, int]) -> dict[str, float]:
        """Cosine similarity of ``vector`` and the stored vectors of these rows (id to row id: read
        by address, which this handle's version keeps valid)."""
        rows = [
            r
            for r in self.rows_at(list(addresses.values()), ["id", "vector"])
            if r["id"] in addresses
        ]
        if not rows:
            return {}
        matrix = np.asarray([r["vector"] for r in rows], dtype=np.float32)
        query = np.asarray(vector, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1) * (float(np.linalg.norm(query)) or 1.0)
        cosines = matrix @ query / np.where(norms > 0, norms, 1.0)
        return {r["id"]: float(c) for r, c in zip(rows, cosines)}

    def _run(self, query: Any, where: str | None) -> list[dict[str, Any]]:
        try:
            found: list[dict[str, Any]] = query.to_list()
            return found
        except Exception as exc:
            if where:
                raise StoreError(
                    f"search in {self._label} failed with filter {where!r}: {exc}"
                ) from exc
            raise StoreError(f"search in {self._label} failed: {exc}") from exc

    # ---------------------------------------------------------------- writing
    def upsert(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert rows, or replace the stored rows with the same ids; returns how many were written.

        Texts already stored unchanged under the same id, or seen before by the embedder cache,
        are not embedded again.
        """
        import pyarrow as pa

        rows = self._validate(rows)
        if not rows:
            return 0
        with span(
            "contextos.store.upsert",
            {"contextos.store.table": self.name, "contextos.store.rows": len(rows)},
        ):
            vectors = self._vectors(rows)
            data_rows = [{**r, "vector": v} for r, v in zip(rows, vectors)]
            if self._table is None:
                self._create(data_rows)
            else:
                schema = self._table.schema
                extra = sorted({c for r in rows for c in r} - set(schema.names))
                if extra:
                    raise StoreError(
                        f"rows have columns {extra} that table {self._label} lacks (it has {self.columns}): "
                        "a table's columns are fixed by its first upsert"
                    )
                try:
                    data = pa.Table.from_pylist(data_rows, schema=schema)
                except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                    raise StoreError(
                        f"rows do not fit the columns of {self._label}: {exc}"
                    ) from exc
                self._merge(data)
            self._maintain_indexes()
        return len(rows)

    def delete(self, ids: Sequence[str]) -> int:
        """Delete the rows with these ids (unknown ids are ignored); returns how many were deleted."""
        ids = list(dict.fromkeys(ids))
        if self._table is None or not ids:
            return 0
        before = self.count()
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            self._commit(partial(self._table.delete, _id_filter(chunk)))
        return before - self.count()

    def _validate(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
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

    def _vectors(self, rows: list[dict[str, Any]]) -> np.ndarray:
        # Reuse vectors already stored for unchanged texts: re-indexing an unchanged catalog in a
        # new process embeds nothing even without a cache folder.
        reuse: dict[str, np.ndarray] = {}
        if self._table is not None:
            ids = [r["id"] for r in rows]
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                stored = (
                    self._table.search()
                    .where(_id_filter(chunk))
                    .select(["id", "text", "vector"])
                    .limit(len(chunk))
                    .to_list()
                )
                reuse.update((s["text"], np.asarray(s["vector"], dtype=np.float32)) for s in stored)
        todo = [r["text"] for r in rows if r["text"] not in reuse]
        fresh = dict(zip(todo, self.embedder.embed(todo))) if todo else {}
        known = reuse | fresh
        return np.stack([known[r["text"]] for r in rows])

    def _create(self, data_rows: list[dict[str, Any]]) -> None:
        import pyarrow as pa

        dim = self.embedder.dimension
        try:
            inferred = pa.Table.from_pylist(
                [{k: v for k, v in r.items() if k != "vector"} for r in data_rows]
            ).schema
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise StoreError(f"rows have columns of mixed types: {exc}") from exc
        fields = [
            pa.field("id", pa.string(), nullable=False, metadata={_PRIMARY_KEY: "true"}),
            pa.field("text", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), dim)),
        ]
        fields += [f for f in inferred if f.name not in _RESERVED]
        schema = pa.schema(
            fields,
            metadata={
                _META_EMBEDDER: self.embedder.name.encode(),
                _META_DIMENSION: str(dim).encode(),
            },
        )
        data = pa.Table.from_pylist(data_rows, schema=schema)
        if self._folder is None:
            self._create_or_merge(data, schema)
        else:
            # Two processes must not both create the table: the later first version would replace
            # the earlier one and every row it held (tests/faults/test_store_faults.py).
            with creation_lock(self._folder, self.name):
                self._create_or_merge(data, schema)
        self._confirm_written(data)

    def _create_or_merge(self, data: Any, schema: Any) -> None:
        names = (
            set(self._db.list_tables().tables)
            if hasattr(self._db, "list_tables")
            else set(self._db.table_names())
        )
        if self.name not in names:
            try:
                self._table = self._db.create_table(
                    self.name, data=data, schema=schema, mode="create"
                )
                return
            except (ValueError, OSError) as exc:
                if "exist" not in str(exc).lower():
                    raise StoreError(f"cannot create table {self._label}: {exc}") from exc
        # Another process created it first: write into theirs.
        self._table = self._db.open_table(self.name)
        self._check_schema(self._table.schema, self.name, self._label, self.embedder)
        self._merge(data)

    def _merge(self, data: Any) -> None:
        self._commit(
            lambda: (
                self._table.merge_insert("id")
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute(data)
            )
        )

    def _confirm_written(self, data: Any) -> None:
        """Read back the ids the creating write stored, from the latest version, and write again
        those another creator's first version replaced (a remote store has no creation lock)."""
        ids = data.column("id").to_pylist()
        self._table.checkout_latest()
        found: set[str] = set()
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            found.update(
                r["id"]
                for r in self._table.search()
                .where(_id_filter(chunk))
                .select(["id"])
                .limit(len(chunk))
                .to_list()
            )
        if len(found) < len(ids):
            import pyarrow as pa

            self._merge(data.filter(pa.array([i not in found for i in ids])))

    def _commit(self, write: Any, *, housekeeping: bool = False) -> None:
        """Run one LanceDB commit, retrying when another writer committed first.

        LanceDB rejects a commit that conflicts with a concurrent one and nothing is half-written,
        so a retry is safe. ``housekeeping`` commits (index builds and refreshes) give up quietly
        after the retries: the rows they index are already committed and searched either way, and
        the next upsert refreshes the indexes again.
        """
        for attempt in range(5):
            try:
                write()
                return
            except Exception as exc:
                retryable = any(w in str(exc).lower() for w in _RETRYABLE)
                if retryable and attempt < 4:
                    time.sleep(0.05 * 2**attempt)
                    continue
                if retryable and housekeeping:
                    return
                raise StoreError(f"write to {self._label} failed: {exc}") from exc

    # ---------------------------------------------------------------- indexes
    def indexes(self) -> dict[str, str]:
        """Index name to index type, e.g. ``{"text_idx": "FTS", "vector_idx": "IvfSq"}``."""
        if self._table is None:
            return {}
        return {i.name: str(i.index_type) for i in self._table.list_indices()}

    def _maintain_indexes(self) -> None:
        from lancedb.index import FTS, BTree, IvfSq

        existing = {tuple(i.columns): i for i in self._table.list_indices()}
        if ("text",) not in existing:
            self._commit(
                lambda: self._table.create_index("text", config=FTS(), replace=True),
                housekeeping=True,
            )
        else:
            self._refresh(existing[("text",)].name)
        rows = self.count()
        if ("vector",) not in existing and rows >= self.ann_threshold:
            with span("contextos.store.build_ann", {"contextos.store.rows": rows}):
                vector_index = IvfSq(distance_type="cosine")
                self._commit(
                    lambda: self._table.create_index("vector", config=vector_index, replace=True),
                    housekeeping=True,
                )
                if ("id",) not in existing:
                    # merge_insert and get() look rows up by id: a B-tree keeps that fast at scale.
                    self._commit(
                        lambda: self._table.create_index("id", config=BTree(), replace=True),
                        housekeeping=True,
                    )
        elif ("vector",) in existing:
            self._refresh(existing[("vector",)].name)

    def _refresh(self, index_name: str) -> None:
        # Unindexed rows are still searched (by a slower flat scan); fold them into the index once
        # they are more than a tenth of it, so the scan never dominates.
        stats = self._table.index_stats(index_name)
        if stats is not None and stats.num_unindexed_rows > max(100, stats.num_indexed_rows // 10):
            self._commit(self._table.optimize, housekeeping=True)

    def optimize(self) -> None:
        """Fold new rows into every index and compact files (also done automatically as rows grow)."""
        if self._table is not None:
            self._commit(self._table.optimize)


def fuse_rrf(rankings: Sequence[Sequence[Hit]], k: int, rrf_k: int = RRF_K) -> list[Hit]:
    """Reciprocal-rank fusion of several rankings of hits into the top ``k``; each score is
    ``sum 1 / (rrf_k + rank)`` (``contextos.store.fusion.fuse_ranks`` unscaled). ``search`` fuses
    by score instead (see ``contextos.store.fusion``)."""
    rows: dict[str, Hit] = {}
    for ranking in rankings:
        for hit in ranking:
            rows.setdefault(hit.id, hit)
    scale = len(rankings) / (rrf_k + 1)
    scores = {
        i: s * scale for i, s in fuse_ranks([[h.id for h in r] for r in rankings], rrf_k).items()
    }
    best = sorted(scores, key=lambda i: (-scores[i], i))[:k]
    return [Hit(i, scores[i], rows[i].row, rows[i].similarity) for i in best]
