"""Long-term memory in LanceDB: hybrid search, recency/importance scoring, de-duplication, filters.

Durability comes from LanceDB: every write is one versioned commit, so a process killed mid-write
leaves the previous version readable, and a write that returned is on disk. Commits are optimistic:
when two processes write the same table, one commit may be rejected as a conflict; the write is an
idempotent upsert by id, so it is simply retried.
"""

from __future__ import annotations

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
from contextos.memory._rows import (
    COLUMNS,
    CompiledFilter,
    canonical,
    compile_filters,
    from_row,
    kind_patterns,
    partition_where,
    sql,
    to_row,
)
from contextos.memory._timestamps import record_time
from contextos.memory.index_text import IndexText, RecordText, dialogue_key, turn_record
from contextos.memory.records import Filters, MemoryHit, MemoryMetadata, MemoryRecord, Provenance
from contextos.memory.scoring import ScoringWeights, combined, recency
from contextos.store import Hit, SearchMode, VectorTable
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

    ``index_text``: what a record is found by (``(record, replies_to) -> str``; default
    ``RecordText()``: its time, its speaker and what it replies to, before its content; see
    ``contextos.memory.index_text``). The stored ``content`` stays as given.

    ``dedup_threshold``: a new record whose indexed text's vector has at least this cosine
    similarity to a stored record *of the same partition* is merged into it (its ``updated_at`` and
    importance refreshed; the new id stays an alias that ``get`` and an ``id`` filter still find)
    instead of stored twice; ``None`` turns this off. The partition is the kind and every metadata
    field (two records merge only when no filter could tell them apart), or, with ``dedup_scope``,
    the kind and the listed fields only (then the merged record keeps the first one's other fields).
    ``connect_options`` go to ``lancedb.connect`` for a remote store (``api_key``, ``region``, ``storage_options``).
    """

    def __init__(
        self,
        uri: str | Path,
        *,
        embedder: Embedder | None = None,
        table: str = "memory",
        weights: ScoringWeights | None = None,
        mode: SearchMode = "hybrid",
        index_text: IndexText | None = None,
        dedup_threshold: float | None = 0.97,
        dedup_scope: Sequence[str] | None = None,
        clock: Callable[[], float] = time.time,
        create: bool = True,
        connect_options: dict[str, Any] | None = None,
    ) -> None:
        if embedder is None:
            from contextos.embed import default_embedder

            embedder = default_embedder()
        if dedup_threshold is not None and not (
            isinstance(dedup_threshold, (int, float)) and 0.0 < dedup_threshold <= 1.0
        ):
            raise MemoryStoreError(
                f"dedup_threshold must be in (0, 1] or None, got {dedup_threshold!r}"
            )
        if dedup_scope is not None and (
            isinstance(dedup_scope, str) or not all(isinstance(f, str) and f for f in dedup_scope)
        ):
            raise MemoryStoreError(
                f"dedup_scope must be a list of metadata field names (or None for all), got {dedup_scope!r}"
            )
        if index_text is not None and not callable(index_text):
            raise MemoryStoreError(
                f"index_text must be a callable (record, replies_to) -> str, got {type(index_text).__name__}"
            )
        if mode not in ("hybrid", "dense", "fts"):
            raise MemoryStoreError(f"mode must be 'hybrid', 'dense' or 'fts', got {mode!r}")
        if not isinstance(table, str) or not _TABLE_NAME.match(table):
            raise MemoryStoreError(
                f"table names are 1-128 of a-z A-Z 0-9 _ - . (not starting with .), got {table!r}"
            )
        if weights is not None and not isinstance(weights, ScoringWeights):
            raise MemoryStoreError(
                f"weights must be ScoringWeights(...), got {type(weights).__name__}"
            )
        self.uri = str(uri)
        self._connect_options = connect_options
        self.table = self._open(table, embedder, create)
        self._check_layout()
        self.weights = weights or ScoringWeights()
        self.mode: SearchMode = mode
        self.index_text: IndexText = index_text or RecordText()
        self.dedup_threshold = dedup_threshold
        self.dedup_scope = None if dedup_scope is None else tuple(dedup_scope)
        self.clock = clock
        self._kinds: dict[
            str, set[str]
        ] = {}  # JSON types seen stored per metadata field (types are never forgotten)
        self._last_turn: dict[str, MemoryRecord] = {}  # per session, the latest turn absorbed

    def _open(self, name: str, embedder: Embedder, create: bool = True) -> VectorTable:
        return VectorTable.open(
            self.uri, name, embedder=embedder, create=create, connect_options=self._connect_options
        )

    def _check_layout(self) -> None:
        columns = set(self.table.columns)
        if not columns:
            return
        if not {"kind", "meta", "created_at"} <= columns:
            raise StoreError(
                f"table {self.table.name!r} exists but is not a memory table (columns {sorted(columns)}); "
                "use another table name or folder"
            )
        missing = [c for c in COLUMNS if c not in columns]
        if missing:
            raise StoreError(
                f"table {self.table.name!r} in {self.uri} is a memory table of an older contextos layout (no "
                f"{', '.join(missing)} column: it indexed each record by its content alone and kept user and "
                "session as strings). It is left as it is: add its records again into a new folder or table "
                "(contextos memory add --db NEW FILE.jsonl), then remove the old one"
            )

    # ------------------------------------------------------------------ writing
    def add(self, record: MemoryRecord) -> MemoryRecord:
        """Store ``record`` (replacing a stored record with the same id); returns it as stored.

        A near-duplicate of a stored record of the same partition is not stored again: the stored
        one is returned with ``updated_at`` set to now, so its id is the one to use (the new id
        still finds it).
        """
        return self.add_many([record])[0]

    def add_many(
        self, records: Sequence[MemoryRecord], *, dedup: bool = True
    ) -> list[MemoryRecord]:
        """Store several records in one commit; returns each as stored (see ``add``).

        Records that carry a ``session`` are read as a dialogue's turns in the order given: each is
        indexed with a pointer to the record just before it when both are of the same dialogue
        (same kind, session and other metadata but time, speaker, role, tags:
        ``index_text.dialogue_key``). A record with a time field (``date_time``, ``timestamp``...)
        and no explicit ``created_at`` is dated by it. An unreadable time raises before anything is written.
        """
        return self._add(records, dedup, {})

    def _add(
        self, records: Sequence[MemoryRecord], dedup: bool, previous: dict[str, MemoryRecord]
    ) -> list[MemoryRecord]:
        records = list(records)
        for r in records:
            if not isinstance(r, MemoryRecord):
                raise MemoryStoreError(f"add takes MemoryRecord objects, got {type(r).__name__}")
        ids = [r.id for r in records]
        if len(set(ids)) != len(ids):
            raise MemoryStoreError(
                f"ids repeat within one add: {sorted({i for i in ids if ids.count(i) > 1})}"
            )
        if not records:
            return []
        records = [_dated(r) for r in records]
        latest = dict(previous)  # the caller's map moves on only once the write succeeded
        indexed = self._indexed(records, latest)
        with span("contextos.memory.add", {"contextos.memory.records": len(records)}):
            if dedup and self.dedup_threshold is not None:
                rows, answers = self._dedup(records, indexed)
            else:
                rows, answers = (
                    [to_row(r, text, replies_to=rid) for r, (text, rid) in zip(records, indexed)],
                    records,
                )
            self._write(lambda: self.table.upsert(rows))
        previous.update(latest)
        return answers

    def _indexed(
        self, records: list[MemoryRecord], previous: dict[str, MemoryRecord]
    ) -> list[tuple[str, str]]:
        """Each record's indexed text and the id of the turn it replies to ("" for none)."""
        out = []
        before: MemoryRecord | None = None
        for record in records:
            key = dialogue_key(record)
            replies_to = None
            if key is not None:
                if before is not None and dialogue_key(before) == key:
                    replies_to = before
                elif before is None:
                    replies_to = previous.get(key)
                previous[key] = record
            text = self.index_text(record, replies_to)
            if not isinstance(text, str) or not text.strip():
                raise MemoryStoreError(
                    f"index_text gave {text!r} for record {record.id!r}: it must return non-empty text"
                )
            out.append((text, replies_to.id if replies_to is not None else ""))
            before = record
        return out

    def _dedup(
        self, records: list[MemoryRecord], indexed: list[tuple[str, str]]
    ) -> tuple[list[dict[str, Any]], list[MemoryRecord]]:
        """The rows to write (records, refreshed twins, alias rows), and for each input the record it is stored as."""
        assert self.dedup_threshold is not None
        # cached: upsert reuses them
        vectors = self.table.embedder.embed([text for text, _ in indexed])
        rows: dict[str, dict[str, Any]] = {}
        kept: dict[str, MemoryRecord] = {}
        # Records of this batch kept so far, as a matrix, so each new one is compared in one product.
        matrix = np.zeros_like(vectors)
        kept_ids: list[str] = []
        kept_keys: list[str] = []
        answers: list[str] = []
        now = self.clock()
        self.refresh()
        stored_rows = self.table.count() > 0
        for record, (text, replies_to), vector in zip(records, indexed, vectors):
            key = partition_key(record, self.dedup_scope)
            twin: MemoryRecord | None = None
            twin_text, replies = "", ""
            if kept_ids:
                sims = matrix[: len(kept_ids)] @ vector
                for j in np.flatnonzero(sims >= self.dedup_threshold):
                    if kept_keys[j] == key and self._same_content(record, kept[kept_ids[j]]):
                        twin, twin_text = kept[kept_ids[j]], rows[kept_ids[j]]["text"]
                        break
            if twin is None and stored_rows:
                where, check = partition_where(record, self.dedup_scope)
                for hit in self.table.search_vector(vector, 5, where=where):
                    if (
                        hit.score < self.dedup_threshold
                        or hit.id == record.id
                        or not check(hit.row)
                    ):
                        continue
                    stored = kept.get(hit.id) or from_row(hit.row)
                    if self._same_content(record, stored):
                        twin = stored
                        twin_text = rows[hit.id]["text"] if hit.id in rows else hit.row["text"]
                        replies = hit.row.get("replies_to", "")
                        break
            if twin is None:
                rows[record.id] = to_row(record, text, replies_to=replies_to)
                kept[record.id] = record
                matrix[len(kept_ids)] = vector
                kept_ids.append(record.id)
                kept_keys.append(key)
                answers.append(record.id)
                continue
            # Re-confirmed: the stored record is refreshed rather than stored twice, and the new id
            # stays as an alias of it, so nothing a caller was given stops working.
            refreshed = twin.model_copy(
                update={
                    "updated_at": max(now, record.last_seen),
                    "importance": max(twin.importance, record.importance),
                }
            )
            kept[twin.id] = refreshed
            twin_replies = rows[twin.id]["replies_to"] if twin.id in rows else replies
            rows[twin.id] = to_row(refreshed, twin_text, replies_to=twin_replies)
            rows[record.id] = to_row(record, text, replies_to=replies_to, alias_of=twin.id)
            answers.append(twin.id)
        return list(rows.values()), [kept[i] for i in answers]

    def _same_content(self, record: MemoryRecord, twin: MemoryRecord) -> bool:
        """Whether the contents themselves are near-identical. Indexed texts alone are not enough:
        a reply quotes the turn it answers, and the two share their date, so a short reply's indexed
        text can be as close to its question's as a duplicate is."""
        if record.content == twin.content:
            return True
        a, b = self.table.embedder.embed([record.content, twin.content])
        norm = float(np.linalg.norm(a) * np.linalg.norm(b)) or 1.0
        return float(a @ b) / norm >= (self.dedup_threshold or 1.0)

    def update(self, id: str, **changes: Any) -> MemoryRecord:
        """Change ``content``, ``metadata`` (merged into the stored metadata), ``importance`` or ``kind``
        of record ``id`` (or of the record an alias ``id`` merged into); re-indexes it."""
        allowed = {"content", "metadata", "importance", "kind", "created_at", "provenance"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise MemoryStoreError(
                f"cannot update {unknown}; updatable fields are {sorted(allowed)}"
            )
        row = self._row(id)
        current = from_row(row)
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
        previous = self.get_many([row["replies_to"]]) if row["replies_to"] else []
        text = self.index_text(record, previous[0] if previous else None)
        self._write(lambda: self.table.upsert([to_row(record, text, replies_to=row["replies_to"])]))
        return record

    def delete(self, id: str) -> None:
        """Remove record ``id`` and the ids merged into it; an alias ``id`` alone is removed from the
        record it merged into. ``RecordNotFoundError`` when there is neither."""
        self.refresh()
        rows = self.table.get([id])
        if not rows:
            raise RecordNotFoundError(
                f"no memory record with id {id!r} in table {self.table.name!r}"
            )
        ids = [id]
        if not rows[0]["alias_of"]:
            ids += [r["id"] for r in self.table.scan(f"alias_of = {sql(id)}", ["id"], None)]
        self._write(lambda: self.table.delete(ids))

    def absorb(self, items: Sequence[ContextItem]) -> list[MemoryRecord]:
        """Keep conversation turns leaving a working window as ``turn`` records (a WorkingMemory sink),
        each indexed with a pointer to the session's turn before it."""
        records = [turn_record(item, self.clock) for item in items if item.content.strip()]
        # A bare tool-call message has no text to search (its calls are in the payload): skipped.
        return self._add(records, False, self._last_turn) if records else []

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
                raise StoreError(
                    f"write to memory table {self.table.name!r} failed: {exc}"
                ) from exc

    # ------------------------------------------------------------------ reading
    def refresh(self) -> None:
        """Move to the latest committed version, so reads see what other processes wrote since.

        LanceDB keeps a table handle at the version it opened; every read here calls this first.
        """
        if not self.table.refresh():
            self.table = self._open(self.table.name, self.table.embedder)

    def get(self, id: str) -> MemoryRecord:
        """The record ``id`` (or the record the id was merged into); ``RecordNotFoundError`` when there is none."""
        return from_row(self._row(id))

    def _row(self, id: str) -> dict[str, Any]:
        self.refresh()
        found = self.get_rows([id])
        if not found:
            raise RecordNotFoundError(
                f"no memory record with id {id!r} in table {self.table.name!r}"
            )
        return found[0]

    def get_many(self, ids: Iterable[str]) -> list[MemoryRecord]:
        """The records with these ids (merged ids give the record they merged into) that exist, in the order asked."""
        self.refresh()
        return [from_row(r) for r in self.get_rows(list(ids))]

    def get_rows(self, ids: list[str]) -> list[dict[str, Any]]:
        """The stored rows of these ids, an alias replaced by the row of the record it merged into."""
        rows = self.table.get(ids)
        targets = {r["alias_of"] for r in rows if r["alias_of"]}
        real = {r["id"]: r for r in self.table.get(sorted(targets))} if targets else {}
        out = []
        for r in rows:
            row = real.get(r["alias_of"]) if r["alias_of"] else r
            if row is not None:
                out.append(row)
        return out

    def _resolve(self, ids: list[str]) -> list[str]:
        return list(dict.fromkeys(r["id"] for r in self.get_rows(ids)))

    def count(self, filters: Filters | None = None) -> int:
        """How many records match ``filters`` (all records without); merged ids are not counted apart."""
        self.refresh()
        compiled = self._compile(filters)
        where = "alias_of = ''" + (f" AND {compiled.where}" if compiled.where else "")
        if compiled.exact_in_sql:
            return self.table.count(where)
        return sum(1 for r in self.table.scan(where, self.table.columns, None) if compiled.check(r))

    def _compile(self, filters: Filters | None) -> CompiledFilter:
        try:
            return compile_filters(filters, self._field_kinds, self._resolve)
        except MemoryStoreError:
            if not self._kinds:
                raise
            # Types as last seen may be out of date (another process wrote since): look again once.
            self._kinds.clear()
            return compile_filters(filters, self._field_kinds, self._resolve)

    def _field_kinds(self, field: str) -> set[str] | None:
        """The JSON types stored records hold in metadata ``field``; None for an empty store."""
        if field in self._kinds:
            return self._kinds[field]
        if self.table.count() == 0:
            # Nothing to match and no field names to check a typo against: a fresh store (an agent's
            # first step, filtered per conversation) answers empty instead of failing.
            return None
        patterns = kind_patterns(field)
        held = {kind for kind, where in patterns.items() if kind != "other" and self._any(where)}
        if not held and "other" in patterns and self._any(patterns["other"]):
            held = {"other"}
        if held:
            self._kinds[field] = held
        return held

    def _any(self, where: str) -> bool:
        return bool(self.table.scan(f"alias_of = '' AND ({where})", ["id"], 1))

    def search(
        self, query: str, k: int = 5, filters: Filters | None = None, *, now: float | None = None
    ) -> list[MemoryHit]:
        """The ``k`` best records for ``query`` among those matching ``filters``, best first.

        Relevance comes from the hybrid search; the order is by the combined score of
        ``self.weights`` (relevance, recency from ``now``, importance).
        """
        if not isinstance(query, str) or not query.strip():
            raise MemoryStoreError("search needs a non-empty query text")
        if k < 1:
            raise MemoryStoreError(f"k must be at least 1, got {k}")
        self.refresh()
        compiled = self._compile(filters)
        now = self.clock() if now is None else now
        with span(
            "contextos.memory.search", {"contextos.memory.k": k, "contextos.memory.mode": self.mode}
        ):
            # Rescoring by recency and importance may lift records from deeper in the relevance list.
            depth = max(4 * k, 40)
            while True:
                hits = self.table.search(query, depth, mode=self.mode, where=compiled.where)
                # Alias rows (merged ids) are found by get and id filters, never listed by a search.
                kept = [h for h in hits if not h.row["alias_of"] and compiled.check(h.row)]
                if len(kept) >= depth // 2 or len(hits) < depth or depth >= 10_000:
                    break
                depth *= 4  # the SQL pre-filter let many non-matches through: look deeper
            results = self._score(kept, now)
        return results[:k]

    def _score(self, hits: list[Hit], now: float) -> list[MemoryHit]:
        if not hits:
            return []
        if self.mode == "hybrid":
            rel = [h.score for h in hits]  # already 0..1 (the store's score fusion)
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
            out.append(
                MemoryHit(
                    record=record,
                    score=combined(w, r, rec, record.importance),
                    relevance=r,
                    recency=rec,
                    similarity=h.similarity,
                )
            )
        out.sort(key=lambda m: (-m.score, m.record.id))
        return out


def partition_key(record: MemoryRecord, scope: Sequence[str] | None) -> str:
    """What two records of one partition share (see ``VectorMemory``'s ``dedup_scope``)."""
    data = record.metadata.model_dump()
    if scope is None:
        return canonical([record.kind, data])
    return canonical([record.kind, [[f, f in data, data.get(f)] for f in scope]])


def _dated(record: MemoryRecord) -> MemoryRecord:
    """``record`` with ``created_at`` from its time field, unless it was given explicitly."""
    try:
        found = record_time(record.metadata.free)
    except MemoryStoreError as exc:
        raise MemoryStoreError(f"record {record.id!r}: {exc}") from None
    if found is None or "created_at" in record.model_fields_set:
        return record
    return record.model_copy(update={"created_at": found[1]})
