"""The seams of assembly: sources propose candidates, compressors shorten them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from contextos.context.items import ContextDecision, ContextItem, Step
from contextos.context.source_names import INPUT, INSTRUCTIONS
from contextos.context.tokens import TokenCounter
from contextos.errors import ConfigError
from contextos.tracing.conventions import compressor_span, record_compression


@runtime_checkable
class ContextSource(Protocol):
    """Proposes candidate items for a step. Implement ``name`` and ``candidates``.

    ```python
    class Clock:
        name = "clock"
        async def candidates(self, step: Step) -> list[ContextItem]:
            return [ContextItem(id="now", source="clock", content=f"It is {datetime.now():%H:%M}.")]
    ```
    """

    name: str

    async def candidates(self, step: Step) -> Sequence[ContextItem]:
        """Items this source offers for ``step``; the orchestrator decides which go in."""
        ...


@dataclass(frozen=True, slots=True)
class Compressed:
    """One item after a compressor: what to use instead of it, and why."""

    item: ContextItem | None
    """The item to use (the same object when unchanged, a shorter copy with the same id when
    compressed); None when the compressor left it out."""
    decision: ContextDecision
    """Tokens before and after, the status (included unchanged, compressed or dropped) and what was
    removed, in words."""


@runtime_checkable
class Compressor(Protocol):
    """Shortens items toward a token target, keeping what ``query`` needs.

    ```python
    class FirstSentence:
        name = "first-sentence"
        async def compress(self, items, query, target_tokens):
            return [Compressed(i.with_content(i.content.split(". ")[0]), ContextDecision(...)) for i in items]
    ```

    contextos's own compressors are in ``contextos.compress``; the orchestrator runs each one over
    a source's compressible items when they do not fit the room left for them.
    """

    name: str

    async def compress(
        self, items: Sequence[ContextItem], query: str, target_tokens: int
    ) -> Sequence[Compressed]:
        """One result per item, in the order they should be read (a compressor may rerank): together
        the kept items' texts count at most ``target_tokens`` tokens, unless they already did."""
        ...


class StaticSource:
    """A source that offers the same items at every step (instructions, fixed documents).

    ```python
    StaticSource("documents", [ContextItem(id="faq", source="documents", content="...")])
    ```
    """

    def __init__(self, name: str, items: Iterable[ContextItem]) -> None:
        self.name = name
        self.items = [
            item if item.source == name else item.model_copy(update={"source": name})
            for item in items
        ]

    async def candidates(self, step: Step) -> list[ContextItem]:
        return list(self.items)


class InstructionsSource(StaticSource):
    """The system instructions, pinned: they always go in, first."""

    def __init__(self, text: str, *, id: str = "instructions") -> None:
        super().__init__(
            INSTRUCTIONS,
            [
                ContextItem(
                    id=id,
                    source=INSTRUCTIONS,
                    role="system",
                    content=text,
                    pinned=True,
                    compressible=False,
                )
            ],
        )


class InputSource:
    """The step's current request (``step.input``) as the last user message, pinned."""

    name = INPUT

    async def candidates(self, step: Step) -> list[ContextItem]:
        if not step.input:
            return []
        return [
            ContextItem(
                id=f"input-{step.index}",
                source=INPUT,
                role="user",
                content=step.input,
                pinned=True,
                compressible=False,
            )
        ]


async def run_compressor(
    compressor: Compressor,
    items: Sequence[ContextItem],
    query: str,
    target_tokens: int,
    *,
    counter: TokenCounter,
    source: str | None = None,
) -> list[Compressed]:
    """Run ``compressor`` in a ``contextos.compress`` span (method, tokens before and after, target,
    ratio; the span's duration is the time) and check that it answered for exactly ``items``."""
    tokens_in = sum(counter.count(i.content) for i in items)
    with compressor_span(
        compressor.name,
        tokens_in=tokens_in,
        items_in=len(items),
        target_tokens=target_tokens,
        source=source,
    ) as span:
        results = list(await compressor.compress(items, query, target_tokens))
        kept = [r.item for r in results if r.item is not None]
        record_compression(
            span,
            tokens_out=sum(counter.count(i.content) for i in kept),
            items_out=len(kept),
            tokens_in=tokens_in,
        )
    given = {i.id for i in items}
    answered = [r.decision.id for r in results]
    if sorted(answered) != sorted(given) or any(
        r.item is not None and r.item.id != r.decision.id for r in results
    ):
        raise ConfigError(
            f"compressor {compressor.name!r} must return one result per item it was given, with the same ids; "
            f"given {sorted(given)}, returned {sorted(answered)}"
        )
    return results
