"""``contextos memory``: add records to a long-term memory store and search it (one query or a batch)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer

from contextos.cli.errors import check_output, reported_errors

if TYPE_CHECKING:
    from contextos.store import SearchMode

app = typer.Typer(
    help="Long-term memory: add JSONL records to a LanceDB store, search it.", no_args_is_help=True
)

DB = typer.Option(..., "--db", help="The memory store folder (LanceDB).")
TABLE = typer.Option("memory", "--table", help="Table name inside the store.")


def _embedder(choice: str | None, db: Path, table: str) -> Any:
    """The embedder to use: as asked, else the one the table was built with, else the default."""
    from contextos.embed import HashingEmbedder, default_embedder
    from contextos.errors import MemoryStoreError

    if choice is None:
        built = _built_with(db, table)
        if built and built.startswith("hashing-"):
            _, dim, ngrams = built.split("-")
            return HashingEmbedder(dimension=int(dim), ngrams=int(ngrams.lstrip("n")))
        choice = "default"
    if choice == "hashing":
        return HashingEmbedder(dimension=384)
    if choice == "default":
        return default_embedder()
    raise MemoryStoreError(
        f"unknown embedder {choice!r}: use 'default' (all-MiniLM-L6-v2) or 'hashing'"
    )


def _built_with(db: Path, table: str) -> str | None:
    if not (db / f"{table}.lance").exists():
        return None
    import lancedb

    try:
        schema = lancedb.connect(str(db)).open_table(table).schema
    except Exception:
        return None  # VectorMemory reports an unreadable table with a clear error
    return (schema.metadata or {}).get(b"contextos.embedder", b"").decode() or None


def _open(
    db: Path,
    table: str,
    embedder: str | None,
    *,
    create: bool,
    mode: str = "hybrid",
    relevance_only: bool = False,
) -> Any:
    from contextos.memory import ScoringWeights, VectorMemory

    weights = ScoringWeights(recency=0.0, importance=0.0) if relevance_only else None
    return VectorMemory(
        db,
        embedder=_embedder(embedder, db, table),
        table=table,
        create=create,
        mode=cast("SearchMode", mode),  # checked by VectorMemory
        weights=weights,
    )


def _read_jsonl(path: Path, what: str) -> list[tuple[int, dict[str, Any]]]:
    from contextos._jsonl import jsonl_rows, read_text
    from contextos.errors import MemoryStoreError

    rows = jsonl_rows(
        path, MemoryStoreError, text=read_text(path, MemoryStoreError, what=f"{what} file")
    )
    for n, row in rows:
        if not isinstance(row, dict):
            raise MemoryStoreError(f"{path}:{n} is a JSON {type(row).__name__}, not an object")
    return rows


def _filter_values(field: str, text: str) -> list[Any]:
    """What ``--filter FIELD=TEXT`` matches: the text, and also the number or boolean it spells
    (records added from JSONL keep ``"session": 1`` and ``"year": 2023`` as numbers, not as "1");
    ``id``, ``kind``, ``role`` and ``tags`` are always text."""
    if field in ("id", "kind", "role", "tags"):
        return [text]
    try:
        value = json.loads(text)
    except ValueError:
        return [text]
    return [text, value] if isinstance(value, (bool, int, float)) else [text]


@app.command("add")
def add(
    file: Path = typer.Argument(
        ..., help='JSONL, one record per line: {"id", "content", ...metadata}.'
    ),
    db: Path = DB,
    table: str = TABLE,
    kind: str = typer.Option("fact", "--kind", help="The kind given to every record."),
    embedder: str | None = typer.Option(
        None,
        "--embedder",
        help="default (all-MiniLM-L6-v2) or hashing; default: what the table was built with.",
    ),
    dedup: bool = typer.Option(
        True,
        "--dedup/--no-dedup",
        help="Merge near-identical records with equal metadata (merged ids still find the record).",
    ),
) -> None:
    """Add the records of FILE; every field other than id and content is kept as metadata."""
    from contextos.errors import MemoryStoreError
    from contextos.memory import MemoryRecord

    with reported_errors():
        rows = _read_jsonl(file, "records")
        records: list[MemoryRecord] = []
        seen: dict[str, int] = {}
        for n, row in rows:
            rid, content = row.get("id"), row.get("content")
            if not isinstance(rid, str) or not rid:
                raise MemoryStoreError(f"{file}:{n} has no string 'id'")
            if rid in seen:
                raise MemoryStoreError(f"{file}:{n} repeats id {rid!r} of line {seen[rid]}")
            seen[rid] = n
            if not isinstance(content, str):
                raise MemoryStoreError(f"{file}:{n} ({rid!r}) has no string 'content'")
            metadata = {k: v for k, v in row.items() if k not in ("id", "content")}
            try:
                records.append(MemoryRecord(id=rid, kind=kind, content=content, metadata=metadata))
            except MemoryStoreError as exc:
                raise MemoryStoreError(f"{file}:{n}: {exc}") from None
        if not records:
            raise MemoryStoreError(f"{file} holds no records")
        memory = _open(db, table, embedder, create=True)
        # Everything is validated before the first write: a bad line leaves the store untouched.
        stored = memory.add_many(records, dedup=dedup)
    merged = sum(1 for r, s in zip(records, stored) if r.id != s.id)
    typer.echo(
        f"stored {len(records) - merged} records in {db} (table {table!r}, {memory.count()} in all)"
        + (f"; {merged} merged into near-duplicates" if merged else "")
    )


@app.command("search")
def search(
    query: str | None = typer.Argument(None, help="The query text (or use --queries for a batch)."),
    db: Path = DB,
    table: str = TABLE,
    k: int = typer.Option(5, "-k", help="How many records to return per query."),
    filter: list[str] = typer.Option(
        [],
        "--filter",
        help="FIELD=VALUE exact metadata match (id: a record's id, merged ids too); VALUE 7 or true also matches the number or boolean. Repeat a field to match any of its values (tags: all).",
    ),
    queries: Path | None = typer.Option(
        None, "--queries", help='JSONL of {"id", "query", "filters"?} for a batch.'
    ),
    out: Path | None = typer.Option(
        None, "--out", help='Batch output JSONL: {"id", "ranked": \\[record ids]}.'
    ),
    mode: str = typer.Option("hybrid", "--mode", help="hybrid, dense or fts."),
    relevance_only: bool = typer.Option(
        False, "--relevance-only", help="Rank by relevance alone (no recency / importance)."
    ),
    embedder: str | None = typer.Option(
        None, "--embedder", help="Override the embedder the table was built with."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print results as JSON lines."),
) -> None:
    """Search the store with QUERY, or every query of --queries into --out."""
    from contextos.errors import MemoryStoreError

    with reported_errors():
        if mode not in ("hybrid", "dense", "fts"):
            raise MemoryStoreError(f"--mode must be hybrid, dense or fts, not {mode!r}")
        if (query is None) == (queries is None):
            raise MemoryStoreError("give either a QUERY or --queries FILE (not both)")
        if queries is not None and out is None:
            raise MemoryStoreError("--queries needs --out FILE for the ranked results")
        if out is not None:
            check_output(out, MemoryStoreError)
        filters: dict[str, Any] = {}
        for f in filter:
            if "=" not in f:
                raise MemoryStoreError(f"--filter takes FIELD=VALUE, got {f!r}")
            key, value = f.split("=", 1)
            # A repeated field matches any of its values (tags: all of them), as a list does in the API.
            filters[key] = [*filters.get(key, []), *_filter_values(key, value)]
        memory = _open(db, table, embedder, create=False, mode=mode, relevance_only=relevance_only)
        if query is not None:
            hits = memory.search(query, k, filters or None)
            for h in hits:
                if as_json:
                    typer.echo(
                        json.dumps(
                            {
                                "id": h.record.id,
                                "score": round(h.score, 4),
                                "content": h.record.content,
                                "metadata": h.record.metadata.model_dump(exclude_defaults=True),
                            },
                            ensure_ascii=False,
                        )
                    )
                else:
                    typer.echo(f"{h.score:.3f}  {h.record.id}  {h.record.content[:200]}")
            return
        assert queries is not None and out is not None
        rows = _read_jsonl(queries, "queries")
        for n, row in rows:
            if not isinstance(row.get("id"), str) or not isinstance(row.get("query"), str):
                raise MemoryStoreError(f"{queries}:{n} needs string 'id' and 'query'")
            if row.get("filters") is not None and not isinstance(row["filters"], dict):
                raise MemoryStoreError(
                    f"{queries}:{n} 'filters' must be an object of field to value"
                )
        results = []
        for n, row in rows:
            try:
                hits = memory.search(
                    row["query"], k, {**filters, **(row.get("filters") or {})} or None
                )
            except MemoryStoreError as exc:
                raise MemoryStoreError(f"{queries}:{n}: {exc}") from None
            results.append({"id": row["id"], "ranked": [h.record.id for h in hits]})
        # Written only once every query succeeded, through a temporary file: never a half-written output.
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results), encoding="utf-8"
        )
        tmp.replace(out)
    typer.echo(f"searched {len(results)} queries; wrote {out}")
