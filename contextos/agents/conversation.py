"""The conversation an agent keeps between steps (and, when reused, between runs).

A minimal working memory: turns appended in order, offered to the orchestrator as ``conversation``
items. An assistant message that calls tools and the tool results answering it share one
``ContextItem.group``, so selection keeps or drops them together: a call is never separated from
its result. The user's requests are pinned. When the ``memory`` part's ``WorkingMemory`` is used
instead, anything with ``append`` and ``candidates`` (``ConversationStore``) fits.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from contextos.context.items import ContextItem, Step


@runtime_checkable
class ConversationStore(Protocol):
    """What an agent needs from its conversation memory: append turns, propose them as context."""

    name: str

    def append(self, message: dict[str, Any], *, group: str | None = None, pinned: bool = False) -> None:
        """Add one chat message (OpenAI shape); messages sharing ``group`` are kept or dropped together."""
        ...

    async def candidates(self, step: Step) -> Sequence[ContextItem]:
        """The turns, as ``conversation`` items."""
        ...


class Conversation:
    """Chat turns in order, proposed as ``conversation`` items (the latest scored highest).

    ```python
    chat = Conversation()
    agent.run("My name is Ana.", conversation=chat)
    agent.run("What is my name?", conversation=chat)   # sees the first exchange
    ```
    """

    name = "conversation"

    def __init__(self, messages: Sequence[dict[str, Any]] = ()) -> None:
        self._items: list[ContextItem] = []
        self._lock = threading.Lock()
        for message in messages:
            self.append(message)

    def append(self, message: dict[str, Any], *, group: str | None = None, pinned: bool = False) -> None:
        role = message.get("role")
        if role not in ("system", "user", "assistant", "tool"):
            raise ValueError(f"a conversation message needs a role of system/user/assistant/tool, got {role!r}")
        content = message.get("content")
        text = content if isinstance(content, str) else "" if content is None else json.dumps(content)
        payload = {k: message[k] for k in ("tool_calls", "tool_call_id", "name") if message.get(k)}
        with self._lock:
            n = len(self._items)
            self._items.append(
                ContextItem(
                    id=f"turn-{n}", source=self.name, role=role, content=text, payload=payload or None,
                    position=n, group=group, pinned=pinned, compressible=role != "tool" and not pinned,
                )
            )

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every turn as a chat message."""
        from contextos.context.render import Renderer

        return Renderer().render(self.items)[0]

    @property
    def items(self) -> list[ContextItem]:
        """Every turn as a context item."""
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    async def candidates(self, step: Step) -> list[ContextItem]:
        items = self.items
        n = max(len(items), 1)
        # Recency as relevance: when the budget is short, the oldest unpinned turns go first.
        return [item.model_copy(update={"score": ((item.position or 0) + 1) / n}) for item in items]
