"""``contextos compress``: compress each question's passages to a ratio of their tokens (JSONL in, JSONL out)."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import typer

from contextos.cli.errors import reported_errors


def compress(
    input: Path = typer.Option(
        ...,
        "--input",
        help='JSONL (or .jsonl.gz): {"id", "question", "passages": [{"title", "text"}]} per line.',
    ),
    ratio: float = typer.Option(..., "--ratio", help="Target output/input tokens, e.g. 0.25."),
    out: Path = typer.Option(
        ..., "--out", help='Write {"id", "context", "input_tokens", "output_tokens"} per line here.'
    ),
    method: str | None = typer.Option(
        None,
        "--method",
        help="extractive (the default), extractive-dense, cutoff, cluster, structure, history.",
    ),
    model: str | None = typer.Option(
        None, "--model", help="Count tokens with this model's encoding."
    ),
) -> None:
    """Compress every row's passages for its question to at most RATIO of their tokens."""
    import asyncio

    from contextos._jsonl import jsonl_rows
    from contextos.compress import compressor_named
    from contextos.compress._passages import compress_passages
    from contextos.context import TiktokenCounter
    from contextos.errors import CompressionError

    with reported_errors():
        counter = TiktokenCounter(model)
        compressor = compressor_named(method, counter)
        if not input.is_file():
            raise CompressionError(
                f"{input} does not exist; give a JSONL file of questions and passages"
            )
        text = gzip.open(input, "rt", encoding="utf-8").read() if input.suffix == ".gz" else None
        rows = jsonl_rows(input, CompressionError, text=text)

        async def run() -> list[dict[str, Any]]:
            done = []
            for n, row in rows:
                if (
                    not isinstance(row, dict)
                    or not isinstance(row.get("question", ""), str)
                    or not isinstance(row.get("passages"), list)
                ):
                    raise CompressionError(
                        f'{input}:{n} needs "question" (text) and "passages" (a list of {{"title", "text"}})'
                    )
                try:
                    result = await compress_passages(
                        compressor, row.get("question", ""), row["passages"], ratio, counter=counter
                    )
                except CompressionError as exc:
                    raise CompressionError(f"{input}:{n}: {exc}") from None
                done.append(
                    {
                        "id": row.get("id", str(n)),
                        "context": result.context,
                        "input_tokens": result.input_tokens,
                        "output_tokens": result.output_tokens,
                    }
                )
            return done

        results = asyncio.run(run())
        _write_jsonl(out, results)
    total_in = sum(r["input_tokens"] for r in results)
    total_out = sum(r["output_tokens"] for r in results)
    typer.echo(
        f"{len(results)} rows -> {out}: {total_out}/{total_in} tokens (ratio {total_out / max(total_in, 1):.3f}, "
        f"method {compressor.name})"
    )


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """All rows or nothing: written to a temporary file beside ``path``, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
