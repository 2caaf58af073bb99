"""A running summary of the turns that left the working window, written by a model, bounded in tokens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from contextos.context.counters import counter_for_client
from contextos.context.items import ContextItem, Step
from contextos.context.tokens import TokenCounter
from contextos.errors import MemoryStoreError, ModelResponseError
from contextos.memory.index_text import IndexText, RecordText, turn_record
from contextos.tracing.spans import span

if TYPE_CHECKING:
    from contextos.llm.protocol import ChatModel

PROMPT = """You maintain the running summary of a conversation whose older turns no longer fit in the model's context.
Fold the new turns into the summary. Keep facts, decisions, names, numbers, dates, open questions and
tool results that may matter later; drop pleasantries. Write plain prose or short bullet points, at most
{words} words. Answer with the updated summary only."""


class Summary(BaseModel):
    """The running summary and the turns it covers."""

    model_config = ConfigDict(frozen=True)

    text: str = ""
    """The summary the model wrote (cut to the token bound if the model ran over)."""
    positions: list[int] = Field(default_factory=list)
    """Turn indexes (``ContextItem.position``) folded in, ascending."""
    ids: list[str] = Field(default_factory=list)
    """Item ids folded in, in the order they were folded."""

    def covers(self) -> str:
        """The covered turns as ranges, e.g. ``"0-11, 14"``."""
        return _ranges(self.positions)


class SummaryMemory:
    """Folds turns leaving a ``WorkingMemory`` into a running summary (a sink and a ``ContextSource``).

    ```python
    summary = SummaryMemory(ModelClient("hosted_vllm/qwen", api_base=...), max_tokens=300)
    window = WorkingMemory(2_000, sinks=[summary])
    orchestrator = Orchestrator([InstructionsSource("..."), summary, window, InputSource()], budget)
    ```

    The rendered item starts with the turns it covers (``Summary of turns 0-11:``) so that a reader,
    or a later model, can tell what it stands for; ``summary.positions`` / ``summary.ids`` hold them exactly.
    """

    def __init__(
        self,
        model: ChatModel,
        *,
        max_tokens: int = 300,
        counter: TokenCounter | None = None,
        name: str = "summary",
        index_text: IndexText | None = None,
    ) -> None:
        if max_tokens < 16:
            raise MemoryStoreError(
                f"max_tokens must be at least 16 for a useful summary, got {max_tokens}"
            )
        self.model = model
        """The model that writes the summary (``ModelClient``, or ``contextos.testing.ScriptedModel`` in tests)."""
        self.max_tokens = max_tokens
        # the summary is bounded in the model's own tokens
        self.counter = counter or counter_for_client(model)
        self.name = name
        self.index_text: IndexText = index_text or RecordText()
        """How each turn reads in the model's prompt: the same policy ``VectorMemory`` indexes turns by
        (when it was said and who said it; no reply pointer: the turns stand in order)."""
        self.summary = Summary()

    @property
    def text(self) -> str:
        """The summary as it is shown to the model, with the turns it covers; empty before any turn left."""
        if not self.summary.positions and not self.summary.ids:
            return ""
        return f"Summary of turns {self.summary.covers()}:\n{self.summary.text}"

    async def absorb(self, items: Sequence[ContextItem]) -> Summary:
        """Fold ``items`` into the summary with one model call; returns the new summary."""
        done = set(self.summary.ids)
        items = [
            i
            for i in items
            if i.id not in done and (i.content.strip() or (i.payload or {}).get("tool_calls"))
        ]
        if not items:
            return self.summary
        turns = "\n".join(self._line(i) for i in items)
        previous = self.summary.text or "(empty: these are the first turns to leave the window)"
        # Words run ~1.3 tokens; ask for fewer words than the bound so that the cut below is rare.
        messages = [
            {"role": "system", "content": PROMPT.format(words=max(10, int(self.max_tokens / 1.6)))},
            {"role": "user", "content": f"Summary so far:\n{previous}\n\nNew turns:\n{turns}"},
        ]
        with span("contextos.memory.summarise", {"contextos.memory.turns": len(items)}):
            completion = await self.model.acomplete(messages, max_tokens=self.max_tokens)
        text = (completion.content or "").strip()
        if not text:
            raise ModelResponseError(
                "the model returned an empty summary", model=getattr(completion, "model", None)
            )
        positions = sorted(
            set(self.summary.positions) | {i.position for i in items if i.position is not None}
        )
        self.summary = Summary(
            text=self._bounded(text, positions),
            positions=positions,
            ids=[*self.summary.ids, *(i.id for i in items)],
        )
        return self.summary

    def _bounded(self, text: str, positions: list[int]) -> str:
        """``text`` cut at a word so that the rendered summary (header included) fits ``max_tokens``."""
        header = self.counter.count(f"Summary of turns {_ranges(positions)}:\n")
        room = self.max_tokens - header
        if self.counter.count(text) <= room:
            return text
        words = text.split(" ")
        lo, hi = 0, len(words)
        while lo < hi:  # longest prefix of words that fits
            mid = (lo + hi + 1) // 2
            if self.counter.count(" ".join(words[:mid]) + " …") <= room:
                lo = mid
            else:
                hi = mid - 1
        return " ".join(words[:lo]) + " …"

    def _line(self, item: ContextItem) -> str:
        text = self.index_text(turn_record(item), None) if item.content.strip() else f"{item.role}:"
        calls = (item.payload or {}).get("tool_calls")
        if calls:
            names = ", ".join(
                str((c.get("function") or {}).get("name")) for c in calls if isinstance(c, dict)
            )
            text = f"{text} [calls {names}]"
        return f"[turn {item.position}] {text}"

    async def candidates(self, step: Step) -> list[ContextItem]:
        """The summary as one item (none before any turn left the window)."""
        if not self.text:
            return []
        return [
            ContextItem(
                id=f"{self.name}-summary",
                source=self.name,
                content=self.text,
                score=1.0,
                metadata={
                    "covers_positions": self.summary.positions,
                    "covers_ids": self.summary.ids,
                },
            )
        ]


def _ranges(positions: list[int]) -> str:
    if not positions:
        return "none"
    out = []
    start = prev = positions[0]
    for p in positions[1:]:
        if p == prev + 1:
            prev = p
            continue
        out.append(f"{start}-{prev}" if prev > start else str(start))
        start = prev = p
    out.append(f"{start}-{prev}" if prev > start else str(start))
    return ", ".join(out)
