"""History compaction: old tool results become short digests that point to the full result.

A long agent run re-sends every tool result at every step. Results the model has already read are
replaced, oldest first, by a digest that keeps what later steps refer back to (the identifiers,
numbers and error lines in the result, and its opening words) and says where the full result
is: a memory record, when a ``MemoryStore`` is given, or the conversation item. The newest group of
results is never compacted (shortening it, when it cannot fit whole, is selection's job). A digest
is made of the result's own words, never generated.
"""

from __future__ import annotations

import re
from typing import Any

from contextos.compress.base import CompressorBase, dropped, unchanged
from contextos.context.items import ContextItem
from contextos.context.sources import Compressed
from contextos.context.tokens import TokenCounter

_ID = re.compile(
    r"\b(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z][\w.]*[-_#:]\w*\d\w*|[A-Z]{2,}\d+\w*)\b"
)
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?%?(?![\w])")
_ERROR = re.compile(
    r"^.*\b(?:error|exception|failed|failure|traceback|denied|timed out|not found)\b.*$",
    re.IGNORECASE | re.MULTILINE,
)


class HistoryCompactor(CompressorBase):
    """Replaces old ``tool`` results with digests, oldest first, until the items fit the target.

    ```python
    HistoryCompactor(memory=VectorMemory(folder)).compress_sync(conversation_items, "", target_tokens=1500)
    ```

    ``digest_tokens``: the most a digest may take. Other turns are left as they are; if the target
    cannot be met with every old result digested, the oldest items are left out (the orchestrator
    then keeps them as they were and lets selection decide).
    """

    name = "history"

    def __init__(
        self,
        *,
        memory: Any | None = None,
        counter: TokenCounter | None = None,
        digest_tokens: int = 80,
    ) -> None:
        super().__init__(counter=counter)
        self.memory = memory
        self.digest_tokens = digest_tokens
        # results already in memory (the same old result recurs every step)
        self._stored: set[str] = set()

    async def _shorten(
        self, items: list[ContextItem], query: str, target: int, before: list[int]
    ) -> list[Compressed]:
        order = sorted(range(len(items)), key=lambda i: (_position(items[i]), i))
        tools = [i for i in order if items[i].role == "tool"]
        newest = items[tools[-1]].group if tools else None
        old = [i for i in tools if newest is None or items[i].group != newest][
            : -1 if newest is None and tools else None
        ]
        results = [unchanged(item, n, f"{self.name}: kept") for item, n in zip(items, before)]
        total = sum(before)
        for i in old:
            if total <= target:
                break
            digest = self.digest(items[i])
            cost = self.counter.count(digest)
            if cost < before[i]:
                results[i] = self._result(
                    items[i], before[i], digest, "an old tool result replaced by its digest"
                )
                total += cost - before[i]
        for i in order:  # still over: leave out the oldest, whatever they are
            if total <= target:
                break
            total -= results[i].decision.tokens_after
            results[i] = dropped(
                items[i],
                before[i],
                f"{self.name}: the oldest items did not fit the target even with old results digested",
            )
        return [results[i] for i in order]

    def digest(self, item: ContextItem) -> str:
        """A short digest of a tool result: its ids, numbers, error lines and opening, and where the whole is."""
        text = item.content
        where = self._store(item)
        name = (item.payload or {}).get("name") or item.metadata.get("tool") or "tool"
        parts = [f"[{name} result, digested; full result: {where}]"]
        errors = list(dict.fromkeys(m.strip()[:120] for m in _ERROR.findall(text)))[:3]
        if errors:
            parts.append("errors: " + " | ".join(errors))
        ids = list(dict.fromkeys(_ID.findall(text)))[:12]
        if ids:
            parts.append("ids: " + ", ".join(ids))
        numbers = [n for n in dict.fromkeys(_NUMBER.findall(text)) if n not in " ".join(ids)][:12]
        if numbers:
            parts.append("numbers: " + ", ".join(numbers))
        parts.append("begins: " + " ".join(text.split()[:40]))
        out = ""
        for part in parts:  # whole parts while they fit the digest's size, the pointer always
            candidate = f"{out}\n{part}" if out else part
            if out and self.counter.count(candidate) > self.digest_tokens:
                break
            out = candidate
        return out

    def _store(self, item: ContextItem) -> str:
        """Keep the full result where it can be found again; say where."""
        if self.memory is None:
            return f"conversation item {item.id}"
        from contextos.memory.records import MemoryRecord

        record_id = f"tool-result-{item.id}"
        if record_id in self._stored:
            return f"memory record {record_id}"
        self._stored.add(record_id)
        self.memory.add(
            MemoryRecord(id=record_id, kind="tool_result", content=item.content or "(empty)")
        )
        return f"memory record {record_id}"


def _position(item: ContextItem) -> int:
    return item.position if item.position is not None else 1 << 30
