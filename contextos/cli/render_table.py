"""Readable terminal output of an assembled context."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from contextos.context.items import AssembledContext


def print_assembly(result: AssembledContext, console: Console | None = None) -> None:
    """A table per source of what was kept and dropped, then the totals."""
    console = console or Console()
    table = Table(title="context decisions", show_lines=False)
    for column in ("source", "id", "status", "tokens", "score", "reason"):
        table.add_column(column, overflow="fold")
    for d in sorted(result.decisions, key=lambda d: (d.source, d.status.value != "included", d.id)):
        tokens = (
            f"{d.tokens_before}"
            if d.tokens_before == d.tokens_after
            else f"{d.tokens_before} → {d.tokens_after}"
        )
        style = "dim" if d.status.value == "dropped" else None
        table.add_row(
            d.source, d.id, d.status.value, tokens, f"{d.score:.3g}", d.reason, style=style
        )
    console.print(table)
    per_source = Table(title="tokens per source")
    for column in ("source", "offered", "offered tokens", "kept", "kept tokens"):
        per_source.add_column(column, justify="right" if column != "source" else "left")
    for name, u in sorted(result.usage.per_source.items()):
        per_source.add_row(
            name, str(u.offered), str(u.offered_tokens), str(u.kept), str(u.kept_tokens)
        )
    console.print(per_source)
    console.print(
        f"request: {result.usage.request_tokens} of {result.usage.budget} tokens, {len(result.messages)} messages, {len(result.tools)} tools"
    )
