"""The conversation an agent keeps between steps (and, when reused, between runs).

``Conversation`` keeps every turn (the orchestrator's budget decides what goes in); the ``memory``
part's ``WorkingMemory`` (a token-bounded window that hands old turns to summary or long-term
memory) fits the same seam, ``ConversationStore``. Either way an assistant message that calls tools
and the results answering it share one ``ContextItem.group``, so selection keeps or drops them
together: a call is never separated from its result.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from contextos.context.items import ContextItem, Step
from contextos.context.source_names import CONVERSATION
from contextos.errors import MemoryStoreError


@runtime_checkable
class ConversationStore(Protocol):
    """What an agent needs from its conversation memory (``WorkingMemory`` and ``Conversation`` have it)."""

    name: str

    async def add(self, *messages: dict[str, Any] | ContextItem) -> Any:
        """Append chat messages (OpenAI shape) or ``conversation`` items, in order."""
        ...

    async def candidates(self, step: Step) -> Sequence[ContextItem]:
        """The turns, as ``conversation`` items."""
        ...


class Conversation:
    """Every chat turn in order, proposed as ``conversation`` items.

    ```python
    chat = Conversation()
    agent.run("My name is Ana.", conversation=chat)
    agent.run("What is my name?", conversation=chat)   # sees the first exchange
    ```
    """

    name = CONVERSATION

    def __init__(self, messages: Sequence[dict[str, Any]] = ()) -> None:
        self._items: list[ContextItem] = []
        self._call_groups: dict[str, str] = {}
        self._lock = threading.Lock()
        self.add_nowait(*messages)

    async def add(self, *messages: dict[str, Any] | ContextItem) -> None:
        """Append messages (dicts in OpenAI chat shape, or ``conversation`` items, e.g. pinned ones)."""
        self.add_nowait(*messages)

    def add_nowait(self, *messages: dict[str, Any] | ContextItem) -> None:
        """``add`` for code that is not async."""
        with self._lock:
            for message in messages:
                self._items.append(self._item(message, len(self._items)))

    def _item(self, message: dict[str, Any] | ContextItem, n: int) -> ContextItem:
        if isinstance(message, ContextItem):
            item = message.model_copy(
                update={"id": f"turn-{n}", "source": self.name, "position": n}
            )
        else:
            role = message.get("role") if isinstance(message, dict) else None
            if role not in ("system", "user", "assistant", "tool"):
                raise MemoryStoreError(
                    f"a message needs a role of system, user, assistant or tool, got {message!r:.120}"
                )
            content = message.get("content") or ""
            if not isinstance(content, str):
                raise MemoryStoreError(
                    "message content must be text (or None for a bare tool call)"
                )
            payload = {
                k: message[k] for k in ("tool_calls", "tool_call_id", "name") if message.get(k)
            }
            # Tool results may be shortened (with a note; the full text stays in the trace), so that the
            # newest one fits where it would not whole.
            item = ContextItem(
                id=f"turn-{n}",
                source=self.name,
                role=role,
                content=content,
                payload=payload or None,
                position=n,
            )
        payload = item.payload or {}
        if payload.get("tool_calls"):
            group = item.group or f"calls-{n}"
            self._call_groups.update({c["id"]: group for c in payload["tool_calls"] if c.get("id")})
            item = item.model_copy(update={"group": group})
        elif item.role == "tool":
            call_group = self._call_groups.get(payload.get("tool_call_id", ""))
            if call_group is None:
                raise MemoryStoreError(
                    f"tool result for unknown call {payload.get('tool_call_id')!r}: add the call first"
                )
            item = item.model_copy(update={"group": call_group})
        return item

    @property
    def items(self) -> list[ContextItem]:
        """Every turn as a context item."""
        with self._lock:
            return list(self._items)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every turn as a chat message."""
        from contextos.context.render import Renderer

        return Renderer().render(self.items)[0]

    def __len__(self) -> int:
        return len(self._items)

    async def candidates(self, step: Step) -> list[ContextItem]:
        """Every turn, as stored: selection keeps the newest that fit, walking back from the last, so a
        step costs what it keeps, not the length of the conversation (no copy is made per turn)."""
        return self.items
