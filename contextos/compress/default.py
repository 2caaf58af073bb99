"""The default compressor, the compressors by name (for the command line), and a source filter."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from contextos.compress.base import dropped, unchanged
from contextos.compress.cluster import ClusterCompressor
from contextos.compress.cutoff import DynamicCutoff
from contextos.compress.extractive import ExtractivePruner
from contextos.compress.history import HistoryCompactor
from contextos.compress.structure import Structurizer
from contextos.context.items import ContextItem
from contextos.context.sources import Compressed, Compressor
from contextos.context.tokens import TokenCounter
from contextos.errors import CompressionError


def default_compressor(counter: TokenCounter | None = None) -> ExtractivePruner:
    """The compressor contextos uses when none is named: lexical extractive pruning, ~10 ms a question.

    Chosen by measurement (docs/compression.md): it keeps more answers than BM25 passage reranking
    then truncation at every ratio measured, fast enough for an agent's step.
    """
    return ExtractivePruner(counter=counter)


def _dense(counter: TokenCounter | None) -> ExtractivePruner:
    from contextos.embed.default import default_embedder

    return ExtractivePruner(counter=counter, embedder=default_embedder())


METHODS: dict[str, Callable[[TokenCounter | None], Compressor]] = {
    "extractive": default_compressor,
    "extractive-dense": _dense,
    "cutoff": lambda counter: DynamicCutoff(counter=counter),
    "cluster": lambda counter: ClusterCompressor(counter=counter),
    "structure": lambda counter: Structurizer(counter=counter),
    "history": lambda counter: HistoryCompactor(counter=counter),
}
"""Compressors that need no model, by the name ``contextos compress --method`` takes."""


def compressor_named(name: str | None, counter: TokenCounter | None = None) -> Compressor:
    """The compressor called ``name`` (the default one for None), or ``CompressionError`` listing the names."""
    if name is None:
        return default_compressor(counter)
    make = METHODS.get(name)
    if make is None:
        raise CompressionError(f"unknown compression method {name!r}; choose one of {sorted(METHODS)}")
    return make(counter)


class OnlySources:
    """``compressor`` applied to items of the named sources only; others pass unchanged.

    ```python
    Orchestrator(sources, budget, compressors=[OnlySources(default_compressor(), ["documents", "memory"])])
    ```
    """

    def __init__(self, compressor: Compressor, sources: Iterable[str], *, counter: TokenCounter | None = None) -> None:
        self.compressor = compressor
        self.sources = frozenset(sources)
        self.name = compressor.name
        self._counter = counter or getattr(compressor, "counter", None)

    async def compress(self, items: Sequence[ContextItem], query: str, target_tokens: int) -> Sequence[Compressed]:
        mine = [i for i in items if i.source in self.sources]
        if len(mine) == len(items):
            return await self.compressor.compress(items, query, target_tokens)
        count = self._counter.count if self._counter is not None else (lambda text: 0)
        others = [unchanged(i, count(i.content), f"{self.name}: not applied to source {i.source!r}") for i in items if i.source not in self.sources]
        room = target_tokens - sum(r.decision.tokens_before for r in others)
        if not mine:
            return others
        if room < 1:
            return [dropped(i, count(i.content), f"{self.name}: no room left beside other sources") for i in mine] + others
        return [*await self.compressor.compress(mine, query, room), *others]
