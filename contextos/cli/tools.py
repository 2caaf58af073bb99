"""``contextos tools``: index a tool catalog into LanceDB and search it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from contextos.cli.errors import check_output, reported_errors

if TYPE_CHECKING:
    from contextos.tools.query import ToolQueryWriter, ToolRetrieval
    from contextos.tools.retrieve import ToolRetriever

app = typer.Typer(
    help="Index a tool catalog into LanceDB and find the tools a request needs.",
    no_args_is_help=True,
)

MODES = ("dense", "fts", "hybrid")


@app.command("index")
def index(
    catalog: Path = typer.Argument(
        ...,
        help="JSONL rows {id, name, description, parameters}, an OpenAI tools JSON array, or an MCP tools/list JSON.",
    ),
    db: Path = typer.Option(
        ..., "--db", help="The LanceDB folder to keep the catalog in (created if missing)."
    ),
) -> None:
    """Index CATALOG into the store at DB (tools with the same id are replaced; unchanged ones are not re-embedded)."""
    from contextos.cli.progress import index_progress
    from contextos.tools import ToolCatalog, load_tools

    with reported_errors():
        tools = load_tools(catalog)  # every row validated before the store is touched
        store = ToolCatalog.open(db)
        with index_progress("indexing") as progress:
            progress.start(len(tools))
            store.upsert(tools, on_progress=progress.advance)
        typer.echo(
            f"indexed {len(tools)} tools from {catalog} into {db} ({len(store)} in the catalog)"
        )


@app.command("search")
def search(
    request: str | None = typer.Argument(None, help="The request text (omit with --queries)."),
    db: Path = typer.Option(..., "--db", help="The LanceDB folder holding the catalog."),
    k: int = typer.Option(5, "-k", "--k", min=1, help="How many tools to return."),
    mode: str = typer.Option("hybrid", "--mode", help="dense | fts | hybrid."),
    queries: Path | None = typer.Option(
        None, "--queries", help='Batch mode: JSONL rows {"id", "query"}.'
    ),
    out: Path | None = typer.Option(
        None, "--out", help='Batch mode: write rows {"id", "ranked": \\[tool ids]} here.'
    ),
    query_model: str | None = typer.Option(
        None,
        "--query-model",
        help="A model that writes the retrieval queries (e.g. hosted_vllm/...).",
    ),
    api_base: str | None = typer.Option(
        None, "--api-base", help="The query model's server URL (ending in /v1)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Find the K tools that best serve REQUEST (or every query in --queries)."""
    import asyncio

    from contextos.errors import ConfigError
    from contextos.tools import ToolCatalog, find_tools

    with reported_errors():
        if mode not in MODES:
            raise ConfigError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
        if (request is None) == (queries is None):
            raise ConfigError(
                "give either a REQUEST text or --queries FILE (with --out), not both or neither"
            )
        if queries is not None and out is None:
            raise ConfigError("--queries needs --out, the file to write the rankings to")
        if out is not None:
            check_output(out, ConfigError)
        rows = _read_queries(queries) if queries is not None else []
        writer = _writer(query_model, api_base)
        catalog = ToolCatalog.open(db, create=False)
        if len(catalog) == 0:
            raise ConfigError(
                f"the catalog at {db} holds no tools: index one with `contextos tools index CATALOG --db {db}`"
            )
        retriever = catalog.retriever(mode)  # type: ignore[arg-type]
        if queries is not None and out is not None:
            found = asyncio.run(_batch(rows, retriever, k, writer))
            with out.open("w", encoding="utf-8") as f:
                for row, result in zip(rows, found):
                    f.write(
                        json.dumps(
                            {"id": row["id"], "ranked": [h.tool.id for h in result.hits]},
                            ensure_ascii=False,
                        )
                        + "\n"
                    )
            fallbacks = sum(not r.queries.written_by_model for r in found)
            note = (
                f"; request text used for {fallbacks} ({found[0].queries.fallback_reason})"
                if writer.client and fallbacks
                else ""
            )
            typer.echo(f"wrote {len(found)} rankings to {out}{note}")
            return
        result = asyncio.run(find_tools(request or "", retriever, k, writer=writer))
    if as_json:
        typer.echo(
            json.dumps(
                result.model_dump(mode="json", exclude={"hits": {"__all__": {"tool": {"fn"}}}}),
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    _print_table(result)


def _writer(model: str | None, api_base: str | None) -> ToolQueryWriter:
    from contextos.tools import ToolQueryWriter

    if model is None:
        return ToolQueryWriter()
    from contextos.llm import ModelClient

    return ToolQueryWriter(ModelClient(model, api_base=api_base))


def _read_queries(path: Path) -> list[dict[str, Any]]:
    from contextos._jsonl import jsonl_rows, read_text
    from contextos.errors import ConfigError

    rows = []
    for n, row in jsonl_rows(
        path, ConfigError, text=read_text(path, ConfigError, what="queries file")
    ):
        if not isinstance(row, dict) or not isinstance(row.get("query"), str) or "id" not in row:
            raise ConfigError(f'{path} line {n}: each row needs "id" and a text "query"')
        rows.append(row)
    return rows


async def _batch(
    rows: list[dict[str, Any]], retriever: ToolRetriever, k: int, writer: ToolQueryWriter
) -> list[ToolRetrieval]:
    import asyncio

    from contextos.tools import find_tools

    limit = asyncio.Semaphore(8)  # model calls in flight; retrieval itself is local

    async def one(row: dict[str, Any]) -> ToolRetrieval:
        async with limit:
            return await find_tools(row["query"], retriever, k, writer=writer)

    return await asyncio.gather(*(one(r) for r in rows))


def _print_table(result: ToolRetrieval) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    origin = (
        "written by " + (result.queries.model or "the model")
        if result.queries.written_by_model
        else f"the request text ({result.queries.fallback_reason})"
    )
    console.print(f"queries, {origin}:")
    for q in result.queries.queries:
        console.print(f"  • {q}", markup=False, highlight=False)
    table = Table("rank", "score", "id", "name", "description")
    for rank, hit in enumerate(result.hits, 1):
        description = (
            hit.tool.description
            if len(hit.tool.description) <= 90
            else hit.tool.description[:87] + "..."
        )
        table.add_row(
            str(rank),
            f"{hit.score:.3f}",
            Text(hit.tool.id),
            Text(hit.tool.label),
            Text(description),
        )
    console.print(table)
