"""Small builders for context tests."""

from __future__ import annotations

import asyncio
import json

from contextos import Budget, ContextItem, Orchestrator, TiktokenCounter

COUNTER = TiktokenCounter(encoding="o200k_base")


def item(id: str, source: str = "documents", content: str | None = None, **fields) -> ContextItem:
    return ContextItem(
        id=id, source=source, content=content if content is not None else f"text of {id}", **fields
    )


def assemble(items, budget: Budget, **kwargs):
    return asyncio.run(Orchestrator([], budget, counter=COUNTER, **kwargs).assemble(items))


def status(result, item_id: str) -> str:
    return result.decision(item_id).status.value


_TINY: list = []


def tiny_tokenizer_dir():
    """The tiny test model's tokenizer files (tokenizer.json, config with its chat template), written once."""
    if not _TINY:
        import tempfile
        from pathlib import Path

        from contextos.testing.tiny_model import write_tokenizer_files

        _TINY.append(
            write_tokenizer_files(
                Path(tempfile.mkdtemp(prefix="contextos-tiny-tok-")) / "tiny-llama"
            )
        )
    return _TINY[0]


def openai_count(encoding, messages, tools) -> int:
    """A request's tokens counted from scratch with a tiktoken ``encoding`` and OpenAI's published
    accounting (3 tokens a message, 3 to prime the reply, the tools block): no contextos cache or helper."""

    def n(text):
        return len(encoding.encode(text, disallowed_special=()))

    def dump(value):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    total = 3
    for m in messages:
        total += 3
        if isinstance(m.get("content"), str):
            total += n(m["content"])
        if m.get("tool_calls"):
            total += n(dump(m["tool_calls"]))
        if m.get("tool_call_id"):
            total += n(m["tool_call_id"])
    if tools:
        total += 6 + sum(4 + n(dump(t)) for t in tools)
    return total
