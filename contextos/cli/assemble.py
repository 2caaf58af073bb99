"""``contextos assemble``: assemble a JSONL file of items under a budget and show what was kept."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from contextos.cli.errors import reported_errors


def assemble(
    items: Path = typer.Option(..., "--items", help="JSONL file, one ContextItem per line."),
    budget: int = typer.Option(..., "--budget", help="The model's context window in tokens."),
    reserve_output: int = typer.Option(
        0, "--reserve-output", help="Tokens kept free for the answer."
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help="Count tokens as this model does (docs/tokens.md); without it, an estimate.",
    ),
    section: list[str] = typer.Option(
        [],
        "--section",
        help="Per-source limits, SOURCE=FLOOR:CAP[:WEIGHT] (empty CAP: none). Repeatable.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Assemble ITEMS under a token budget and print the messages and every decision."""
    from contextos.context import Budget, Orchestrator
    from contextos.context._itemsfile import parse_sections, read_items

    with reported_errors():
        candidates = read_items(items)
        the_budget = Budget(
            context_window=budget, reserve_output=reserve_output, sections=parse_sections(section)
        )
        the_budget.check_sections({c.source for c in candidates})
        orchestrator = Orchestrator([], the_budget, model=model)
        import asyncio

        result = asyncio.run(orchestrator.assemble(candidates))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "messages": result.messages,
                    "tools": result.tools,
                    "decisions": [
                        {
                            "id": d.id,
                            "source": d.source,
                            "status": d.status.value,
                            "tokens_before": d.tokens_before,
                            "tokens_after": d.tokens_after,
                            "score": d.score,
                            "reason": d.reason,
                        }
                        for d in result.decisions
                    ],
                    "usage": result.usage.model_dump(),
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    from contextos.cli.render_table import print_assembly

    print_assembly(result)
