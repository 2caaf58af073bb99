"""``contextos demo``: index a catalog of thousands of tools and run an agent over it, step by step."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from contextos.cli.errors import reported_errors
from contextos.context.source_names import TOOLS

OFFLINE_MODEL = "offline/demo"


def demo(
    model: str | None = typer.Option(
        None,
        "--model",
        help="A litellm model string, e.g. hosted_vllm/Qwen/Qwen2.5-7B-Instruct (default: $CONTEXTOS_MODEL, else the offline backend).",
    ),
    api_base: str | None = typer.Option(
        None,
        "--api-base",
        help="The model server's URL ending in /v1 (default: $CONTEXTOS_API_BASE).",
    ),
    db: Path | None = typer.Option(
        None,
        "--db",
        help="Where to keep the LanceDB index of the demo catalog (default: the user cache dir).",
    ),
    trace_dir: Path | None = typer.Option(
        None,
        "--trace-dir",
        help="The trace store folder (default: $CONTEXTOS_TRACE_DIR or the user data dir).",
    ),
    catalog_file: Path | None = typer.Option(
        None,
        "--catalog",
        help="Index this tool catalog (JSONL, OpenAI or MCP JSON) instead of the built-in one.",
    ),
    request: list[str] | None = typer.Option(
        None, "--request", help="Run this request instead of the built-in ones (repeatable)."
    ),
) -> None:
    """Index the built-in catalog of 2,490 ToolBench APIs and run an agent on a few requests, showing
    at every step which tools were retrieved and kept, what the model did, and where the trace is."""
    import asyncio

    from rich.console import Console

    from contextos.agents._demo import DEMO_REQUESTS, default_demo_db, demo_agent, demo_catalog_path
    from contextos.llm import ModelClient
    from contextos.tracing import configure_tracing
    from contextos.tracing.redact import redact_text

    console = Console(highlight=False, soft_wrap=True)
    with reported_errors():
        model = model or os.environ.get("CONTEXTOS_MODEL")
        api_base = api_base or os.environ.get("CONTEXTOS_API_BASE")
        if model:
            client = ModelClient.from_config(model, api_base=api_base)
            console.print(
                f"model: [bold]{client.model}[/bold]"
                + (f" at {redact_text(api_base)}" if api_base else "")
            )
        else:
            client = ModelClient(OFFLINE_MODEL)
            console.print(
                "[bold yellow]No model configured: using the OFFLINE backend[/bold yellow] (offline/demo). It is not a "
                "language model: it picks a tool by word overlap and quotes results. Set --model/CONTEXTOS_MODEL and "
                "--api-base/CONTEXTOS_API_BASE to use a real model (e.g. a vLLM server)."
            )
        db = db or default_demo_db()
        catalog = _index(console, db, catalog_file)
        tracing = configure_tracing(trace_dir=trace_dir) if trace_dir else configure_tracing()
        agent = demo_agent(client, catalog)
        origin = (
            f"{catalog_file}"
            if catalog_file
            else f"{demo_catalog_path().name} (ToolBench, Apache-2.0)"
        )
        console.print(f"catalog: {len(catalog):,} tools from {origin}, indexed at {db}\n")
        run_ids = []
        for n, text in enumerate(request or DEMO_REQUESTS, 1):
            console.rule(f"request {n}")
            console.print(f"[bold]user:[/bold] {text}", markup=True)
            result = asyncio.run(agent.arun(text))
            _print_run(console, result)
            run_ids.append(result.run_id)
        tracing.force_flush()
    store = tracing.store
    console.rule("traces")
    folder = store.folder if store is not None else None
    for run_id in run_ids:
        console.print(f"trace: {folder / (run_id + '.jsonl') if folder else run_id}")
    where = f" --trace-dir {trace_dir}" if trace_dir else ""
    console.print(f"show one with:  contextos trace show {run_ids[-1]}{where}")
    console.print(f"one step's context:  contextos trace show {run_ids[-1]} --step 0{where}")


def _index(console: Any, db: Path, source: Path | None) -> Any:
    from contextos.agents._demo import open_demo_catalog
    from contextos.cli.progress import index_progress

    with index_progress("indexing the demo catalog", console) as progress:
        catalog, built = open_demo_catalog(
            db, source=source, on_start=progress.start, on_progress=progress.advance
        )
    if not built:
        console.print(f"reusing the index at {db}")
    return catalog


def _print_run(console: Any, result: Any) -> None:
    from rich.markup import escape

    labels: dict[str, str] = {}
    offered_before: set[str] = set()
    for step in result.steps:
        console.print(f"\n[bold]step {step.index}[/bold]")
        found = step.tool_retrieval
        if found is not None:
            _print_retrieval(console, found)
            labels.update((h.tool.name, h.tool.label) for h in found.hits)
        tools = [d for d in step.context.decisions if d.source == TOOLS]
        kept = [d for d in tools if d.status.value != "dropped"]
        new = {d.id for d in tools} - offered_before
        console.print(
            f"  tools: offered {len(tools)} ({len(new)} new at this step), kept {len(kept)} within the budget "
            f"({step.context.usage.request_tokens}/{step.context.usage.budget} tokens in the request)"
        )
        for d in tools:
            mark = "kept   " if d.status.value != "dropped" else "dropped"
            tag = "new  " if d.id in new and step.index > 0 else ""
            console.print(
                f"    {mark} {tag}{escape(labels.get(d.id, d.id))}  ({d.tokens_before} tokens; {escape(d.reason)})"
            )
        offered_before |= new
        for call, res in zip(step.tool_calls, step.tool_results):
            console.print(
                f"  model called [bold]{escape(labels.get(call.name, call.name))}[/bold]({escape(call.raw_arguments or '{}')})"
            )
            shown = res.content if len(res.content) <= 240 else res.content[:240] + " …"
            console.print(f"    → {'ok' if res.ok else 'error'}: {escape(shown)}")
        if not step.tool_calls and step.completion.content:
            console.print("  model answered.")
    steps = f"{len(result.steps)} step" + ("" if len(result.steps) == 1 else "s")
    console.print(
        f"\n[bold]answer[/bold] ({result.stop_reason}, {steps}): {escape(result.answer or '(none)')}"
    )


def _print_retrieval(console: Any, found: Any) -> None:
    """The queries a step retrieved with, or that it reused an earlier step's hits."""
    from rich.markup import escape

    if found.reused:
        console.print(
            f"  retrieval: same queries as step {found.searched_at_step}: {len(found.hits)} tools reused (no new search)"
        )
        return
    origin = (
        f"written by {found.queries.model}"
        if found.queries.written_by_model
        else f"the request itself ({found.queries.fallback_reason})"
    )
    console.print(f"  retrieval queries, {escape(origin)}:")
    for q in found.queries.queries:
        console.print(f"    • {escape(q)}")
    console.print(f"  found {len(found.hits)} tools")
