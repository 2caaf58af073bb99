"""The live conversation as a token-aware window: latest turns verbatim, older ones moved out.

The window is a list of *blocks*: a plain message, or an assistant message that calls tools together
with the results of those calls. Blocks leave whole, oldest first, so a tool call is never separated
from its result. What leaves is handed to sinks (``SummaryMemory``, ``VectorMemory``...) instead of
being lost. Two blocks never leave, because the model must always see them: the latest pinned one
(an agent's current task) and the newest one (the latest turn, or the call group it joined). Older
pinned blocks (the tasks of earlier runs in a long chat) leave like any other, or a long session
would fill the window with them.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from contextos.context.budget import Budget
from contextos.context.counters import counter_for_model
from contextos.context.items import ContextItem, Step
from contextos.context.render import Renderer
from contextos.context.source_names import CONVERSATION
from contextos.context.tokens import TokenCounter
from contextos.errors import BudgetError, MemoryStoreError


@runtime_checkable
class EvictionSink(Protocol):
    """Receives the turns that leave a working window (``absorb`` may be sync or async)."""

    def absorb(self, items: Sequence[ContextItem]) -> Any:
        """Keep ``items`` (oldest first); they are no longer in the window."""
        ...


class WorkingMemory:
    """The conversation window, at most ``budget_tokens`` as the renderer counts them.

    ```python
    window = WorkingMemory(2_000, sinks=[summary, long_term])
    await window.add({"role": "user", "content": "Book a table for two."})
    await window.add(completion.message())                 # an assistant message with tool_calls
    await window.add({"role": "tool", "tool_call_id": "call_1", "content": "booked"})
    orchestrator = Orchestrator([..., window], budget)       # a ContextSource named "conversation"
    ```

    Items are ``ContextItem(source="conversation")`` with ``position`` the turn index and, for a tool
    call and its results, a shared ``group``.

    The window stays within ``budget_tokens`` except for what it never moves out: the latest pinned
    block (an agent's task is a pinned ``ContextItem``; earlier runs' tasks leave like other turns),
    which counts against the budget so that older turns leave first, and the newest block (the
    latest turn, or the call group the latest result joined), which stays even when it alone is
    over the budget. A too-large newest block is left to the orchestrator's budgeted selection, as
    any other too-large item: truncated with a decision record, dropped with one, or, when pinned,
    refused with a ``BudgetError``.
    """

    name = CONVERSATION

    def __init__(
        self,
        budget_tokens: int,
        *,
        counter: TokenCounter | None = None,
        model: str | None = None,
        sinks: Sequence[EvictionSink | Callable[[list[ContextItem]], Any]] = (),
        session: str | None = None,
        renderer: Renderer | None = None,
    ) -> None:
        if budget_tokens < 1:
            raise BudgetError(
                f"a working memory needs a positive token budget, got {budget_tokens}"
            )
        self.budget_tokens = budget_tokens
        # Counted as the model the window is shown to counts (``counter_for_model``); with neither
        # a counter nor a model, an estimate, said once in a warning.
        self.counter = counter or counter_for_model(model)
        self.sinks = list(sinks)
        for sink in self.sinks:
            if not (isinstance(sink, EvictionSink) or callable(sink)):
                raise MemoryStoreError(
                    f"a sink needs absorb(items) or to be callable, got {type(sink).__name__}"
                )
        self.session = session
        self.renderer = renderer or Renderer()
        self._blocks: list[list[ContextItem]] = []
        self._costs: list[int] = []
        # the block the latest turn entered: it never moves out
        self._newest: list[ContextItem] | None = None
        self._next_position = 0
        self._call_groups: dict[
            str, str
        ] = {}  # tool_call_id -> group of the message that made the call
        # groups already moved out (late results follow them)
        self._evicted_groups: set[str] = set()
        self.evicted: list[ContextItem] = []
        """Items moved out and not yet handed to sinks (``add`` hands them over; ``add_nowait`` leaves them here)."""

    @classmethod
    def for_section(cls, budget: Budget, **kwargs: Any) -> WorkingMemory:
        """A window as large as ``budget``'s cap for the ``conversation`` section, so that turns over the
        section's budget move out to the sinks instead of being dropped by the selection.

        ```python
        budget = Budget(context_window=16_384, sections={"conversation": Section(cap=3_000)})
        window = WorkingMemory.for_section(budget, sinks=[summary, long_term])
        ```
        """
        cap = budget.section(cls.name).cap
        if cap is None:
            raise BudgetError(
                f"the budget has no cap for the {cls.name!r} section: give it one "
                f"(sections={{{cls.name!r}: Section(cap=N)}}) or size the window with WorkingMemory(N)"
            )
        return cls(cap, **kwargs)

    # ------------------------------------------------------------------ state
    @property
    def items(self) -> list[ContextItem]:
        """The window, oldest first."""
        return [item for block in self._blocks for item in block]

    @property
    def tokens(self) -> int:
        """Tokens the window costs when rendered as messages."""
        return sum(self._costs)

    def cost(self, item: ContextItem) -> int:
        """Tokens one item adds to a request (message overhead included)."""
        return self.renderer.item_cost(item, self.counter, self.counter.count(item.content))

    # ------------------------------------------------------------------ writing
    def add_nowait(self, *messages: dict[str, Any] | ContextItem) -> list[ContextItem]:
        """Append messages; returns the items this moved out (also kept in ``evicted`` for a later ``flush``)."""
        moved: list[ContextItem] = []
        for message in messages:
            item = self._item(message)
            moved.extend(self._append(item))
            moved.extend(self._fit())
        self.evicted.extend(moved)
        return moved

    async def add(self, *messages: dict[str, Any] | ContextItem) -> list[ContextItem]:
        """Append messages and hand what moved out to the sinks; returns the moved items."""
        moved = self.add_nowait(*messages)
        await self.flush()
        return moved

    async def flush(self) -> None:
        """Hand the items waiting in ``evicted`` to every sink, oldest first."""
        if not self.evicted:
            return
        batch, self.evicted = self.evicted, []
        try:
            for sink in self.sinks:
                absorb = sink.absorb if isinstance(sink, EvictionSink) else sink
                result = absorb(list(batch))
                if inspect.isawaitable(result):
                    await result
        except BaseException:
            # Keep them for the next flush: the built-in sinks take a batch twice without harm
            # (VectorMemory upserts by id, SummaryMemory skips turns it already covers).
            self.evicted = batch + self.evicted
            raise

    def _item(self, message: dict[str, Any] | ContextItem) -> ContextItem:
        position = self._next_position
        self._next_position += 1
        if isinstance(message, ContextItem):
            if message.source != CONVERSATION:
                raise MemoryStoreError(
                    f"working memory holds conversation items, got source {message.source!r}"
                )
            payload = message.payload or {}
            item = message.model_copy(update={"position": position})
        else:
            if not isinstance(message, dict) or message.get("role") not in (
                "system",
                "user",
                "assistant",
                "tool",
            ):
                raise MemoryStoreError(
                    f"a message needs a role of system, user, assistant or tool, got {message!r:.120}"
                )
            payload = {
                k: message[k] for k in ("tool_calls", "tool_call_id", "name") if message.get(k)
            }
            content = message.get("content") or ""
            if not isinstance(content, str):
                raise MemoryStoreError(
                    "message content must be text (or None for a bare tool call)"
                )
            # When it was said: long-term memory measures recency from here once the turn moves out.
            meta: dict[str, Any] = {"created_at": time.time()}
            if self.session:
                meta["session"] = self.session
            item = ContextItem(
                id=f"turn-{position}",
                source=CONVERSATION,
                role=message["role"],
                content=content,
                payload=payload or None,
                position=position,
                metadata=meta,
            )
        if item.role == "tool" and not payload.get("tool_call_id"):
            raise MemoryStoreError("a tool message needs the tool_call_id of the call it answers")
        if payload.get("tool_calls"):
            group = item.group or f"calls-{position}"
            for call in payload["tool_calls"]:
                call_id = call.get("id") if isinstance(call, dict) else getattr(call, "id", None)
                if call_id:
                    self._call_groups[call_id] = group
            item = item.model_copy(update={"group": group})
        elif item.role == "tool":
            call_group = self._call_groups.get(payload["tool_call_id"])
            if call_group is None:
                raise MemoryStoreError(
                    f"tool result for unknown call {payload['tool_call_id']!r}: add the assistant message "
                    "that made the call first"
                )
            item = item.model_copy(update={"group": call_group})
        return item

    def _append(self, item: ContextItem) -> list[ContextItem]:
        cost = self.cost(item)
        if item.group is not None and item.role == "tool":
            if item.group in self._evicted_groups:
                # its call already left: the result follows it out, never alone in the window
                return [item]
            for index, block in enumerate(self._blocks):
                if block[0].group == item.group:
                    block.append(item)
                    self._costs[index] += cost
                    self._newest = block
                    return []
        self._newest = [item]
        self._blocks.append(self._newest)
        self._costs.append(cost)
        return []

    def _fit(self) -> list[ContextItem]:
        """Move out the oldest blocks until the window fits, passing over the latest pinned and the newest one."""
        moved: list[ContextItem] = []
        task = next((b for b in reversed(self._blocks) if any(item.pinned for item in b)), None)
        index, total = 0, self.tokens
        while index < len(self._blocks) and total > self.budget_tokens:
            block = self._blocks[index]
            if block is self._newest or block is task:
                index += 1
                continue
            total -= self._costs[index]
            del self._blocks[index]
            del self._costs[index]
            moved.extend(block)
            group = block[0].group
            if group is not None:
                self._evicted_groups.add(group)
        return moved

    def clear(self) -> list[ContextItem]:
        """Move every turn out, pinned ones included (end of a session); returns them and keeps them for ``flush``."""
        moved = self.items
        for block in self._blocks:
            if block[0].group is not None:
                self._evicted_groups.add(block[0].group)
        self._blocks, self._costs, self._newest = [], [], None
        self.evicted.extend(moved)
        return moved

    # ------------------------------------------------------------------ as a source
    async def candidates(self, step: Step) -> list[ContextItem]:
        """The window's items, oldest first. The orchestrator keeps the newest whole blocks that fit (a
        contiguous suffix, walked from the newest back), so a tighter global budget drops the oldest first."""
        return [item for block in self._blocks for item in block]
