"""Question + passages -> one compressed context string: what ``contextos compress`` and the benchmark run.

Passages render as in the Lost-in-the-Middle QA prompt, ``Document [i](Title: t) text`` one per line;
each line's ``Document [i](Title: t)`` heading stays with whatever is kept of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contextos.compress.extractive import HEADING
from contextos.context.items import ContextItem
from contextos.context.source_names import DOCUMENTS
from contextos.context.sources import Compressor, run_compressor
from contextos.context.tokens import TokenCounter
from contextos.errors import CompressionError


@dataclass(frozen=True, slots=True)
class CompressedContext:
    """One question's compressed context."""

    context: str
    """The kept passages (their kept parts), one per line, in the compressor's order."""
    input_tokens: int
    """Tokens of the whole context, rendered the same way."""
    output_tokens: int
    """Tokens of ``context``: at most the target."""


def passage_items(passages: Sequence[Mapping[str, Any]]) -> list[ContextItem]:
    """One ``documents`` item per ``{"title", "text"}`` passage, its heading marked for the compressors."""
    items = []
    for n, passage in enumerate(passages, 1):
        if not isinstance(passage, Mapping) or not isinstance(passage.get("text"), str):
            raise CompressionError(
                f'passage {n} must be an object with a text "text" (and an optional "title"), got {passage!r:.80}'
            )
        title = passage.get("title") or ""
        if not isinstance(title, str):
            raise CompressionError(f"passage {n} has a title that is not text: {title!r:.80}")
        heading = f"Document [{n}](Title: {title}) " if title else f"Document [{n}] "
        items.append(
            ContextItem(
                id=str(n),
                source=DOCUMENTS,
                content=heading + passage["text"],
                metadata={HEADING: heading, "title": title},
            )
        )
    return items


async def compress_passages(
    compressor: Compressor,
    question: str,
    passages: Sequence[Mapping[str, Any]],
    ratio: float,
    *,
    counter: TokenCounter,
) -> CompressedContext:
    """Compress ``passages`` for ``question`` to at most ``ratio`` of their tokens (0 < ratio <= 1)."""
    if not 0.0 < ratio <= 1.0:
        raise CompressionError(
            f"the ratio is output over input tokens, between 0 (exclusive) and 1; got {ratio}"
        )
    if not passages:
        raise CompressionError(
            'there are no passages to compress; give at least one {"title", "text"} passage'
        )
    items = passage_items(passages)
    whole = "\n".join(i.content for i in items)
    input_tokens = counter.count(whole)
    target = int(input_tokens * ratio)
    if target >= input_tokens:
        return CompressedContext(whole, input_tokens, input_tokens)
    if target < 1:
        raise CompressionError(
            f"a ratio of {ratio} leaves no token of the {input_tokens}; raise the ratio"
        )
    budget = target
    while True:  # the line breaks between kept passages count too: shrink the budget by any excess
        results = await run_compressor(
            compressor, items, question, budget, counter=counter, source=DOCUMENTS
        )
        context = "\n".join(r.item.content for r in results if r.item is not None)
        used = counter.count(context)
        if used <= target or budget <= 1:
            break
        budget = max(1, budget - (used - target))
    if used > target:
        context, used = "", 0
    return CompressedContext(context, input_tokens, used)
