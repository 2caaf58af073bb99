"""``contextos demos``: choose which inputs to annotate, and retrieve demonstrations for queries."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import typer

from contextos.cli.errors import reported_errors

app = typer.Typer(
    help="Demonstrations: selective annotation of a pool of inputs, retrieval of examples for queries.",
    no_args_is_help=True,
)

EMBEDDER = typer.Option(
    "default", "--embedder", help="default (all-MiniLM-L6-v2) or hashing (no model, lexical)."
)
EMBED_CACHE = typer.Option(
    None, "--embed-cache", help="A folder that keeps input vectors between runs."
)


def _embedder(choice: str, cache: Path | None) -> Any:
    from contextos.embed import CachedEmbedder, HashingEmbedder, default_embedder
    from contextos.errors import DemoError

    if choice not in ("default", "hashing"):
        raise DemoError(
            f"unknown embedder {choice!r}: use 'default' (all-MiniLM-L6-v2) or 'hashing'"
        )
    inner = default_embedder() if choice == "default" else HashingEmbedder(dimension=384)
    return CachedEmbedder(inner, cache)


def _rows(path: Path, what: str, fields: tuple[str, ...]) -> list[tuple[int, dict[str, Any]]]:
    """The rows of a JSONL file, each an object with the string ``fields`` (line numbers kept)."""
    from contextos._jsonl import jsonl_rows
    from contextos.errors import DemoError

    if not path.is_file():
        raise DemoError(f"{what} file {path} does not exist")
    rows = jsonl_rows(path, DemoError)
    for n, row in rows:
        if not isinstance(row, dict):
            raise DemoError(f"{path}:{n} is a JSON {type(row).__name__}, not an object")
        for field in fields:
            if not isinstance(row.get(field), str) or not row[field].strip():
                raise DemoError(
                    f"{path}:{n} has no string {field!r}: {what} rows are {{{', '.join(map(repr, fields))}}}"
                )
    if not rows:
        raise DemoError(f"{path} holds no {what}: the pool is empty")
    return rows


def _write(out: Path, rows: list[dict[str, Any]]) -> None:
    # Through a temporary file: a failure never leaves a half-written output.
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    tmp.replace(out)


@app.command("select")
def select(
    pool: Path = typer.Option(
        ..., "--pool", help='JSONL of unlabeled inputs: {"id", "input"} per line.'
    ),
    budget: int = typer.Option(..., "--budget", help="How many inputs will be annotated."),
    method: str = typer.Option("votek", "--method", help="votek, ideal, kmeans or random."),
    out: Path = typer.Option(
        ..., "--out", help="Where the selected rows go, one per line, in the order chosen."
    ),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the random parts (random, k-means, IDEAL's samples)."
    ),
    embedder: str = EMBEDDER,
    embed_cache: Path | None = EMBED_CACHE,
) -> None:
    """Choose BUDGET inputs of POOL worth annotating; write their rows to OUT in the order chosen."""
    from contextos.demos.annotate import METHODS, select_for_annotation
    from contextos.errors import DemoError

    with reported_errors():
        if method not in METHODS:
            raise DemoError(f"--method must be one of {', '.join(METHODS)}, not {method!r}")
        rows = _rows(pool, "inputs", ("id", "input"))
        seen: dict[str, int] = {}
        for n, row in rows:
            if row["id"] in seen:
                raise DemoError(
                    f"{pool}:{n} repeats id {row['id']!r} of line {seen[row['id']]}: ids must be unique"
                )
            seen[row["id"]] = n
        if budget > len(rows):
            raise DemoError(
                f"--budget {budget} is larger than the pool ({len(rows)} inputs in {pool}): lower it"
            )
        by_id = {row["id"]: row for _, row in rows}
        chosen = select_for_annotation(
            [(r["id"], r["input"]) for _, r in rows],
            budget,
            method,  # type: ignore[arg-type]
            embedder=_embedder(embedder, embed_cache),
            seed=seed,
        )
        _write(out, [by_id[i] for i in chosen])
    typer.echo(f"selected {len(chosen)} of {len(rows)} inputs by {method}; wrote {out}")


@app.command("retrieve")
def retrieve(
    pool: Path = typer.Option(
        ..., "--pool", help='JSONL of examples: {"id", "input", "output", "label"?} per line.'
    ),
    queries: Path = typer.Option(..., "--queries", help='JSONL of {"id", "query"} per line.'),
    k: int = typer.Option(8, "-k", help="Demonstrations per query."),
    method: str = typer.Option("knn", "--method", help="knn, mmr or balanced."),
    out: Path = typer.Option(
        ..., "--out", help='Output JSONL: {"id", "ranked": \\[example ids, best first]}.'
    ),
    similarity: str = typer.Option(
        "hybrid", "--similarity", help="hybrid (embedder + word n-gram TF-IDF cosines) or dense."
    ),
    db: Path | None = typer.Option(
        None,
        "--db",
        help="Keep the pool's LanceDB table in this folder (reused while unchanged); default: a temporary one.",
    ),
    embedder: str = EMBEDDER,
    embed_cache: Path | None = EMBED_CACHE,
) -> None:
    """Retrieve K demonstrations of POOL for each query of QUERIES into OUT."""
    from contextos.demos import (
        BalancedRetriever,
        DemoPool,
        KnnRetriever,
        MmrRetriever,
        read_demonstrations,
    )
    from contextos.errors import DemoError

    retrievers = {"knn": KnnRetriever, "mmr": MmrRetriever, "balanced": BalancedRetriever}
    with reported_errors():
        if method not in retrievers:
            raise DemoError(f"--method must be knn, mmr or balanced, not {method!r}")
        if k < 1:
            raise DemoError(f"-k must be at least 1, got {k}")
        demos = read_demonstrations(pool)
        if not demos:
            raise DemoError(f"{pool} holds no examples: the pool is empty")
        rows = _rows(queries, "queries", ("id", "query"))
        with tempfile.TemporaryDirectory(prefix="contextos-demos-") as tmp:
            store = DemoPool(
                db if db is not None else Path(tmp), embedder=_embedder(embedder, embed_cache)
            )
            stale = {d.id for d in store.all()} - {d.id for d in demos}
            if stale:
                store.remove(sorted(stale))
            store.add(demos, replace=True)
            ranked = retrievers[method](store, k=k, similarity=similarity).retrieve_many(
                [r["query"] for _, r in rows]
            )
        _write(
            out,
            [
                {"id": r["id"], "ranked": [s.demo.id for s in hits]}
                for (_, r), hits in zip(rows, ranked)
            ],
        )
    typer.echo(
        f"retrieved {k} demonstrations by {method} for {len(rows)} queries from {len(demos)} examples; wrote {out}"
    )
