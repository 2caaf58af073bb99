"""What every contextos compressor shares: input checks, the no-op, decisions, and the target guarantee.

Users implement the ``Compressor`` protocol (``contextos.context.sources``); contextos's own
compressors subclass ``CompressorBase``, which checks the request, answers "already within the
target" without work, and verifies that the kept texts never exceed the target.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from contextos.blocking import run_blocking
from contextos.context.items import ContextDecision, ContextItem, DecisionStatus
from contextos.context.sources import Compressed
from contextos.context.tokens import TiktokenCounter, TokenCounter
from contextos.errors import CompressionError

COMPRESSION = "compression"
"""``ContextItem.metadata`` key on a compressed item: what its compressor removed, in words."""


class CompressorBase(ABC):
    """The shared part of contextos's compressors (intended for internal use; implement ``Compressor``).

    Subclasses implement ``_shorten`` for a request that is valid and over its target.
    """

    name: str = "compressor"

    def __init__(self, *, counter: TokenCounter | None = None) -> None:
        self.counter = counter or TiktokenCounter()

    async def compress(
        self, items: Sequence[ContextItem], query: str, target_tokens: int
    ) -> list[Compressed]:
        """Shorten ``items`` to at most ``target_tokens`` tokens of text, keeping what ``query`` needs."""
        items = check_request(items, target_tokens)
        before = [self.counter.count(i.content) for i in items]
        if sum(before) <= target_tokens:
            return [unchanged(i, n, "already within the target") for i, n in zip(items, before)]
        results = await self._shorten(items, query or "", target_tokens, before)
        total = sum(r.decision.tokens_after for r in results if r.item is not None)
        if total > target_tokens:  # a bug in a compressor, never the caller's fault: say so loudly
            raise AssertionError(
                f"compressor {self.name!r} kept {total} tokens for a target of {target_tokens}"
            )
        return results

    def compress_sync(
        self, items: Sequence[ContextItem], query: str, target_tokens: int
    ) -> list[Compressed]:
        """``compress`` for code that is not async (inside a running event loop, ``await compressor.compress(...)``)."""
        return run_blocking(
            lambda: self.compress(items, query, target_tokens),
            f"{type(self).__name__}.compress_sync()",
            "await compressor.compress(...)",
        )

    @abstractmethod
    async def _shorten(
        self, items: list[ContextItem], query: str, target: int, before: list[int]
    ) -> list[Compressed]:
        """Results for ``items`` (whose texts count ``before`` tokens, more than ``target`` together)."""

    def _result(
        self,
        item: ContextItem,
        before: int,
        content: str | None,
        removed: str,
        *,
        metadata: dict[str, Any] | None = None,
    ) -> Compressed:
        """The result for ``item`` given its new text (None: dropped), with ``removed`` saying what went;
        ``metadata`` adds to the item's (generated text names its model there)."""
        if content is None:
            return dropped(item, before, f"{self.name}: {removed}")
        if content == item.content and not metadata:
            return unchanged(item, before, f"{self.name}: nothing removed")
        after = self.counter.count(content)
        reason = f"{self.name}: {before} -> {after} tokens; {removed}"
        new = item.with_content(
            content, metadata={**item.metadata, **(metadata or {}), COMPRESSION: reason}
        )
        return Compressed(
            new,
            ContextDecision(
                item.id, item.source, DecisionStatus.COMPRESSED, before, after, item.score, reason
            ),
        )


def check_request(items: Sequence[ContextItem], target_tokens: int) -> list[ContextItem]:
    """``items`` as a list, or ``CompressionError`` for a target below one token or a non-item."""
    if isinstance(target_tokens, bool) or not isinstance(target_tokens, int):
        raise CompressionError(
            f"the target must be a whole number of tokens, got {target_tokens!r}"
        )
    if target_tokens < 1:
        raise CompressionError(
            f"the target must be at least 1 token, got {target_tokens}; drop the items instead"
        )
    out = list(items)
    for n, item in enumerate(out):
        if not isinstance(item, ContextItem):
            raise CompressionError(
                f"item {n} is a {type(item).__name__}, not a ContextItem; wrap text in ContextItem(id=..., source=..., content=...)"
            )
    ids = [i.id for i in out]
    if len(set(ids)) != len(ids):
        raise CompressionError(
            "two items share an id; ids must be unique so that decisions can name them"
        )
    return out


def unchanged(item: ContextItem, tokens: int, reason: str) -> Compressed:
    """``item`` kept as it is."""
    return Compressed(
        item,
        ContextDecision(
            item.id, item.source, DecisionStatus.INCLUDED, tokens, tokens, item.score, reason
        ),
    )


def dropped(item: ContextItem, tokens: int, reason: str) -> Compressed:
    """``item`` left out."""
    return Compressed(
        None,
        ContextDecision(
            item.id, item.source, DecisionStatus.DROPPED, tokens, 0, item.score, reason
        ),
    )


def kept_items(results: Sequence[Compressed]) -> list[ContextItem]:
    """The items that remain, in the order the compressor gave them."""
    return [r.item for r in results if r.item is not None]
