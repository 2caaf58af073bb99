"""Small builders for context tests."""

from __future__ import annotations

import asyncio

from contextos import Budget, ContextItem, Orchestrator, TiktokenCounter

COUNTER = TiktokenCounter(encoding="o200k_base")


def item(id: str, source: str = "documents", content: str | None = None, **fields) -> ContextItem:
    return ContextItem(id=id, source=source, content=content if content is not None else f"text of {id}", **fields)


def assemble(items, budget: Budget, **kwargs):
    return asyncio.run(Orchestrator([], budget, counter=COUNTER, **kwargs).assemble(items))


def status(result, item_id: str) -> str:
    return result.decision(item_id).status.value
