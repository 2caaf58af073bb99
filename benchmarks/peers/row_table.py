"""How run.py prints its rows: one markdown table per row, cells made by each row's columns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Columns = list[tuple[str, Callable[[dict[str, Any]], str]]]


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def number(key: str, spec: str) -> Callable[[dict[str, Any]], str]:
    """A column's cell: the row's ``key`` formatted by ``spec``."""
    return lambda row: format(row[key], spec)


def ratio(row: dict[str, Any], key: str) -> str:
    """contextos's row is the unit; a peer's ratio, or a dash where there is none."""
    if row["system"] == "contextos":  # the first of contextos's rows in a table is the unit
        return "1"
    return f"{row[key]:.3g}×" if key in row else "—"


def table(rows: list[dict[str, Any]], columns: Columns) -> str:
    """A markdown table of rows: task, system, version, then ``columns`` (a peer that could not run
    says why in the version column)."""
    lines = [
        "| task | system | version | " + " | ".join(h for h, _ in columns) + " |",
        "|---" * (len(columns) + 3) + "|",
    ]
    for r in rows:
        cells = (
            [r["error"], *[""] * len(columns)]
            if "error" in r
            else [r["version"], *(cell(r) for _, cell in columns)]
        )
        lines.append("| " + " | ".join([r["task"], r["system"], *cells]) + " |")
    return "\n".join(lines)
