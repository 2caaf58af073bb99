"""Reading context items from JSONL files and budget sections from ``SOURCE=FLOOR:CAP[:WEIGHT]``."""

from __future__ import annotations

from pathlib import Path

from contextos._jsonl import jsonl_rows
from contextos.context.budget import Section
from contextos.context.items import ContextItem
from contextos.errors import BudgetError, InvalidItemError


def read_items(path: Path) -> list[ContextItem]:
    """Items from a JSONL file, one per line; a bad line raises ``InvalidItemError`` naming it."""
    return [
        ContextItem.parse(data, where=f"{path}:{n}")
        for n, data in jsonl_rows(path, InvalidItemError)
    ]


def parse_sections(specs: list[str]) -> dict[str, Section]:
    """``["tools=0:2000", "memory=200::1.5"]`` → sections; a malformed spec raises ``BudgetError``."""
    sections = {}
    for spec in specs:
        name, _, limits = spec.partition("=")
        parts = limits.split(":")
        if not name or not limits or len(parts) > 3:
            raise BudgetError(
                f"bad section {spec!r}; write SOURCE=FLOOR:CAP[:WEIGHT], e.g. tools=0:2000 or memory=200::1.5"
            )
        try:
            floor = int(parts[0]) if parts[0] else 0
            cap = int(parts[1]) if len(parts) > 1 and parts[1] else None
            weight = float(parts[2]) if len(parts) > 2 and parts[2] else 1.0
        except ValueError:
            raise BudgetError(
                f"bad section {spec!r}: FLOOR and CAP must be integers, WEIGHT a number"
            ) from None
        sections[name] = Section(floor=floor, cap=cap, weight=weight)
    return sections
