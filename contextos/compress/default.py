"""The default compressor, the compressors by name (for the command line), and compressors per source."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from contextos.compress.base import check_request, dropped, unchanged
from contextos.compress.cluster import ClusterCompressor
from contextos.compress.cutoff import DynamicCutoff
from contextos.compress.extractive import ExtractivePruner
from contextos.compress.history import HistoryCompactor
from contextos.compress.structure import Structurizer
from contextos.context.items import ContextItem
from contextos.context.source_names import CONVERSATION
from contextos.context.sources import Compressed, Compressor
from contextos.context.tokens import TiktokenCounter, TokenCounter
from contextos.errors import CompressionError


def default_compressor(counter: TokenCounter | None = None) -> ExtractivePruner:
    """The compressor contextos uses when none is named: lexical extractive pruning, no model.

    It keeps more answers than BM25 passage reranking then truncation at every ratio measured, and is
    fast enough for an agent's step (numbers and their commands: docs/performance.md, Compression).
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
        raise CompressionError(
            f"unknown compression method {name!r}; choose one of {sorted(METHODS)}"
        )
    return make(counter)


class PerSource:
    """A compressor per source name; items of other sources pass unchanged.

    ```python
    Orchestrator(sources, budget, compressors=[PerSource({"documents": default_compressor(), "conversation": HistoryCompactor()})])
    ```

    The orchestrator hands a compressor one source's items at a time; given several sources at
    once, each one's compressor gets a share of the target in proportion to its tokens.
    """

    def __init__(
        self, compressors: Mapping[str, Compressor], *, counter: TokenCounter | None = None
    ) -> None:
        self.compressors = dict(compressors)
        self.counter = counter or TiktokenCounter()
        self.name = (
            "per-source("
            + ", ".join(f"{s}: {c.name}" for s, c in sorted(self.compressors.items()))
            + ")"
        )

    async def compress(
        self, items: Sequence[ContextItem], query: str, target_tokens: int
    ) -> list[Compressed]:
        items = check_request(items, target_tokens)
        sizes = {i.id: self.counter.count(i.content) for i in items}
        out = [
            unchanged(i, sizes[i.id], "no compressor for its source")
            for i in items
            if i.source not in self.compressors
        ]
        room = target_tokens - sum(r.decision.tokens_before for r in out)
        groups: dict[str, list[ContextItem]] = {}
        for i in items:
            if i.source in self.compressors:
                groups.setdefault(i.source, []).append(i)
        total = sum(sizes[i.id] for group in groups.values() for i in group)
        for source, group in groups.items():
            share = room * sum(sizes[i.id] for i in group) // max(total, 1)
            if share < 1:
                out += [dropped(i, sizes[i.id], "no room left for its source") for i in group]
            else:
                out += await self.compressors[source].compress(group, query, share)
        return out


def agent_compressors(
    sources: Iterable[str],
    *,
    counter: TokenCounter | None = None,
    conversation: str = CONVERSATION,
) -> list[Compressor]:
    """What ``Agent`` compresses with unless told otherwise: the default compressor on ``sources``
    (documents, memory), history compaction of old tool results on the conversation."""
    chosen: dict[str, Compressor] = {name: default_compressor(counter) for name in sources}
    chosen[conversation] = HistoryCompactor(counter=counter)
    return [PerSource(chosen, counter=counter)]
