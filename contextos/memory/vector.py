"""Long-term memory in LanceDB: hybrid search, recency/importance scoring, de-duplication, filters.

Durability comes from LanceDB: every write is one versioned commit, so a process killed mid-write
leaves the previous version readable, and a write that returned is on disk. Commits are optimistic:
when two processes write the same table, one commit may be rejected as a conflict; the write is an
idempotent upsert by id, so it is simply retried.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from contextos.context.items import ContextItem
from contextos.embed.base import Embedder
from contextos.errors import MemoryStoreError, RecordNotFoundError, StoreError
from contextos.memory.records import Filters, MemoryHit, MemoryMetadata, MemoryRecord, Provenance
from contextos.memory.rows import compile_filters, free_field_where, from_row, to_row
from contextos.memory.scoring import ScoringWeights, combined, recency
from contextos.store.table import RRF_K, Hit, SearchMode, VectorTable
from contextos.tracing.spans import span

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_\-.]{0,127}$")
_CONFLICT_WORDS = ("conflict", "retryable", "concurrent", "commit")
_WRITE_ATTEMPTS = 12


class VectorMemory:
    """Records in one LanceDB table, found by hybrid (dense + BM25) search.

    ```python
    memory = VectorMemory("./memory", embedder=default_embedder())
    memory.add(MemoryRecord(id="m1", content="Alice moved to Berlin.", metadata={"user": "alice"}))
    hits = memory.search("where does Alice live?", k=3, filters={"user": "alice"})
    ```

    ``dedup_threshold``: a new record whose vector has at least this cosine similarity to a stored
    record of the same kind, user and session is merged into it (its ``updated_at`` and importance
    refreshed) instead of stored twice; ``None`` turns this off. ``connect_options`` go to
    ``lancedb.connect`` for a remote store (``api_key``, ``region``, ``storage_options``).
    """

    def __init__(
        self,
        uri: str | Path,
        *,
        embedder: Embedder | None = None,
        table: str = "memory",
        weights: ScoringWeights | None = None,
        mode: SearchMode = "hybrid",
        dedup_threshold: float | None = 0.97,
        clock: Callable[[], float] = time.time,
        create: bool = True,
        connect_options: dict[str, Any] | None = None,
    ) -> None:
        if embedder is None:
            from contextos.embed import default_embedder

            embedder = default_embedder()
        if dedup_threshold is not None and not (isinstance(dedup_threshold, (int, float)) and 0.0 < dedup_threshold <= 1.0):
            raise MemoryStoreError(f"dedup_threshold must be in (0, 1] or None, got {dedup_threshold!r}")
        if mode not in ("hybrid", "dense", "fts"):
            raise MemoryStoreError(f"mode must be 'hybrid', 'dense' or 'fts', got {mode!r}")
        if not isinstance(table, str) or not _TABLE_NAME.match(table):
            raise MemoryStoreError(f"table names are 1-128 of a-z A-Z 0-9 _ - . (not starting with .), got {table!r}")
        if weights is not None and not isinstance(weights, ScoringWeights):
            raise MemoryStoreError(f"weights must be ScoringWeights(...), got {type(weights).__name__}")
        self.uri = str(uri)
        self._connect_options = connect_options
        self.table = self._open(table, embedder, create)
        self._check_layout()
        self.weights = weights or ScoringWeights()
        self.mode: SearchMode = mode
        self.dedup_threshold = dedup_threshold
        self.clock = clock
        self._known_fields: set[str] = set()  # free metadata fields seen stored (fields are never forgotten)

    def _open(self, name: str, embedder: Embedder, create: bool = True) -> VectorTable:
        return VectorTable.open(self.uri, name, embedder=embedder, create=create, connect_options=self._connect_options)

    def _check_layout(self) -> None:
        columns = self.table.columns
        if columns and not {"kind", "meta", "created_at"} <= set(columns):
            raise StoreError(
                f"table {self.table.name!r} exists but is not a memory table (columns {columns}); "
                "use another table name or folder"
            )

    # ------------------------------------------------------------------ writing
    def add(self, record: MemoryRecord) -> MemoryRecord:
        """Store ``record`` (replacing a stored record with the same id); returns it as stored.

        A near-duplicate of a stored record is not stored again: the stored one is returned with
        ``updated_at`` set to now, so its id is the one to use.
        """
        return self.add_many([record])[0]

    def add_many(self, records: Sequence[MemoryRecord], *, dedup: bool = True) -> list[MemoryRecord]:
        """Store several records in one commit; returns each as stored (see ``add``)."""
        records = list(records)
        for r in records:
            if not isinstance(r, MemoryRecord):
                raise MemoryStoreError(f"add takes MemoryRecord objects, got {type(r).__name__}")
        ids = [r.id for r in records]
        if len(set(ids)) != len(ids):
            raise MemoryStoreError(f"ids repeat within one add: {sorted({i for i in ids if ids.count(i) > 1})}")
        if not records:
            return []
        with span("contextos.memory.add", {"contextos.memory.records": len(records)}):
            if dedup and self.dedup_threshold is not None:
                to_write, answers = self._dedup(records)
            else:
                to_write, answers = records, records
            self._write(lambda: self.table.upsert([to_row(r) for r in to_write]))
        return answers

    def _dedup(self, records: list[MemoryRecord]) -> tuple[list[MemoryRecord], list[MemoryRecord]]:
        """The records to write, and for each input the record it is stored as (itself or its twin)."""
        assert self.dedup_threshold is not None
        vectors = self.table.embedder.embed([r.content for r in records])  # cached: upsert reuses them
        to_write: dict[str, MemoryRecord] = {}
        # Records of this batch kept so far, as a matrix, so each new one is compared in one product.
        kept = np.zeros_like(vectors)
        kept_ids: list[str] = []
        kept_scopes: list[tuple] = []
        answers_ids: list[str] = []
        now = self.clock()
        self.refresh()
        stored_rows = self.table.count() > 0
        for record, vector in zip(records, vectors):
            scope = (record.kind, record.metadata.user, record.metadata.session)
            twin: MemoryRecord | None = None
            if kept_ids:
                sims = kept[: len(kept_ids)] @ vector
                for j in np.flatnonzero(sims >= self.dedup_threshold):
                    if kept_scopes[j] == scope:
                        twin = to_write[kept_ids[j]]
                        break
            if twin is None and stored_rows:
                for hit in self.table.search_vector(vector, 1, where=_scope_where(record)):
                    if hit.score >= self.dedup_threshold and hit.id != record.id:
                        twin = to_write.get(hit.id) or from_row(hit.row)
            if twin is None:
                to_write[record.id] = record
                kept[len(kept_ids)] = vector
                kept_ids.append(record.id)
                kept_scopes.append(scope)
                answers_ids.append(record.id)
                continue
            # Re-confirmed: the stored record is refreshed rather than stored twice.
            to_write[twin.id] = twin.model_copy(
                update={"updated_at": max(now, record.last_seen), "importance": max(twin.importance, record.importance)}
            )
            answers_ids.append(twin.id)
        return list(to_write.values()), [to_write[i] for i in answers_ids]

    def update(self, id: str, **changes: Any) -> MemoryRecord:
        """Change ``content``, ``metadata`` (merged into the stored metadata), ``importance`` or ``kind``."""
        allowed = {"content", "metadata", "importance", "kind", "created_at", "provenance"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise MemoryStoreError(f"cannot update {unknown}; updatable fields are {sorted(allowed)}")
        current = self.get(id)
        data = current.model_dump()
        if "metadata" in changes:
            meta = changes.pop("metadata")
            meta = meta.model_dump() if isinstance(meta, MemoryMetadata) else dict(meta)
            data["metadata"] = {**data["metadata"], **meta}
        if isinstance(changes.get("provenance"), Provenance):
            changes["provenance"] = changes["provenance"].model_dump()
        data.update(changes)
        data["updated_at"] = self.clock()
        record = MemoryRecord(**data)
        self._write(lambda: self.table.upsert([to_row(record)]))
        return record

    def delete(self, id: str) -> None:
        """Remove record ``id``; ``RecordNotFoundError`` when there is none."""
        self.get(id)
        self._write(lambda: self.table.delete([id]))

    def absorb(self, items: Sequence[ContextItem]) -> list[MemoryRecord]:
        """Keep conversation turns leaving a working window as ``turn`` records (a WorkingMemory sink)."""
        records = []
        for item in items:
            if not item.content.strip():
                continue  # a bare tool-call message: its calls are in the payload, nothing to search
            meta = {k: v for k, v in item.metadata.items()
                    if k not in ("created_at", "record_id") and (k == "tags" or isinstance(v, (str, int, float, bool)))}
            meta.update(role=item.role, position=item.position, group=item.group)
            # Turn ids restart with every window: make the record id unique to the session (or the text).
            session = item.metadata.get("session")
            record_id = item.metadata.get("record_id") or (f"{session}/{item.id}" if session else f"{item.id}-{item.content_hash[:12]}")
            records.append(MemoryRecord(id=record_id, kind="turn", content=item.content,
                                        metadata={k: v for k, v in meta.items() if v is not None},
                                        created_at=item.metadata.get("created_at", self.clock())))
        return self.add_many(records, dedup=False) if records else []

    def _write(self, write: Callable[[], Any]) -> None:
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                write()
                return
            except Exception as exc:  # LanceDB raises plain errors for a lost commit race
                text = str(exc).lower()
                if attempt + 1 < _WRITE_ATTEMPTS and any(w in text for w in _CONFLICT_WORDS):
                    time.sleep(random.uniform(0.01, 0.05) * 2 ** min(attempt, 5))
                    # Reopen at the latest version, the one the other writer committed.
                    self.table = self._open(self.table.name, self.table.embedder)
                    continue
                if isinstance(exc, (StoreError, MemoryStoreError)):
                    raise
                raise StoreError(f"write to memory table {self.table.name!r} failed: {exc}") from exc

    # ------------------------------------------------------------------ reading
    def refresh(self) -> None:
        """Move to the latest committed version, so reads see what other processes wrote since.

        LanceDB keeps a table handle at the version it opened; every read here calls this first.
        """
        if not self.table.refresh():
            self.table = self._open(self.table.name, self.table.embedder)

    def get(self, id: str) -> MemoryRecord:
        """The record ``id``; ``RecordNotFoundError`` when there is none."""
        self.refresh()
        rows = self.table.get([id])
        if not rows:
            raise RecordNotFoundError(f"no memory record with id {id!r} in table {self.table.name!r}")
        return from_row(rows[0])

    def get_many(self, ids: Iterable[str]) -> list[MemoryRecord]:
        """The records with these ids that exist, in the order asked."""
        self.refresh()
        return [from_row(r) for r in self.table.get(list(ids))]

    def count(self, filters: Filters | None = None) -> int:
        """How many records match ``filters`` (all records without)."""
        self.refresh()
        compiled = compile_filters(filters, self._has_free_field)
        if compiled.exact_in_sql:
            return self.table.count(compiled.where)
        rows = self._rows(compiled.where, self.table.columns, None)
        return sum(1 for r in rows if compiled.check(r))

    def _has_free_field(self, field: str) -> bool:
        if field in self._known_fields:
            return True
        if self.table.count() == 0:
            # Nothing to match and no field names to check a typo against: a fresh store (an agent's
            # first step, filtered per conversation) answers empty instead of failing.
            return True
        where = free_field_where(field)
        for limit in (50, None):
            rows = self._rows(where, ["meta"], limit)
            if any(field in json.loads(r["meta"]) for r in rows):
                self._known_fields.add(field)
                return True
            if limit is not None and len(rows) < limit:
                return False
        return False

    def _rows(self, where: str | None, columns: list[str], limit: int | None) -> list[dict[str, Any]]:
        return self.table.scan(where, columns, limit)

    def search(self, query: str, k: int = 5, filters: Filters | None = None, *, now: float | None = None) -> list[MemoryHit]:
        """The ``k`` best records for ``query`` among those matching ``filters``, best first.

        Relevance comes from the hybrid search; the order is by the combined score of
        ``self.weights`` (relevance, recency from ``now``, importance).
        """
        if not isinstance(query, str) or not query.strip():
            raise MemoryStoreError("search needs a non-empty query text")
        if k < 1:
            raise MemoryStoreError(f"k must be at least 1, got {k}")
        self.refresh()
        compiled = compile_filters(filters, self._has_free_field)
        now = self.clock() if now is None else now
        with span("contextos.memory.search", {"contextos.memory.k": k, "contextos.memory.mode": self.mode}):
            # Rescoring by recency and importance may lift records from deeper in the relevance list.
            depth = max(4 * k, 40)
            while True:
                hits = self.table.search(query, depth, mode=self.mode, where=compiled.where)
                kept = [h for h in hits if compiled.check(h.row)]
                if len(kept) >= depth // 2 or len(hits) < depth or depth >= 10_000:
                    break
                depth *= 4  # the SQL pre-filter let many non-matches through: look deeper
            results = self._score(kept, now)
        return results[:k]

    def _score(self, hits: list[Hit], now: float) -> list[MemoryHit]:
        if not hits:
            return []
        if self.mode == "hybrid":
            scale = 2.0 / (RRF_K + 1)  # first in both rankings
            rel = [min(1.0, h.score / scale) for h in hits]
        elif self.mode == "dense":
            rel = [max(0.0, min(1.0, h.score)) for h in hits]
        else:
            top = max(h.score for h in hits) or 1.0
            rel = [h.score / top for h in hits]
        out = []
        w = self.weights
        for h, r in zip(hits, rel):
            record = from_row(h.row)
            rec = recency(record.last_seen, now, w.half_life_s)
            out.append(MemoryHit(record=record, score=combined(w, r, rec, record.importance), relevance=r, recency=rec))
        out.sort(key=lambda m: (-m.score, m.record.id))
        return out


def _scope_where(record: MemoryRecord) -> str:
    def q(v: str | None) -> str:
        return "'" + (v or "").replace("'", "''") + "'"

    return f"kind = {q(record.kind)} AND user = {q(record.metadata.user)} AND session = {q(record.metadata.session)}"
