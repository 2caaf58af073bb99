"""Turning selected items into chat messages, most stable first, and measuring shared prefixes.

vLLM's automatic prefix caching reuses the KV cache of the longest prompt prefix two requests share,
in whole blocks. So the order is fixed and goes from what changes least to what changes most:
instructions, tool schemas, demonstrations, memory, documents, conversation, the current input.
Within a source, items keep their ``position`` (then id), never their score, so an unchanged set
renders identically at every step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Any

from contextos.context.items import ContextItem
from contextos.context.source_names import (
    CONVERSATION,
    DEMONSTRATIONS,
    DOCUMENTS,
    INSTRUCTIONS,
    KNOWN_SOURCES,
    MEMORY,
    MESSAGE_SOURCES,
    TOOLS,
)
from contextos.context.tokens import REPLY_PRIMER, TokenCounter, accounting, canonical_json

SEPARATOR = "\n\n"
DEFAULT_ORDER = KNOWN_SOURCES
DEFAULT_HEADINGS = {
    DEMONSTRATIONS: "## Examples",
    MEMORY: "## Memory",
    DOCUMENTS: "## Documents",
}


def tool_schema(item: ContextItem) -> dict[str, Any]:
    """The OpenAI tool schema a tool item carries (its payload, or one built from its content)."""
    if item.payload and "function" in item.payload:
        return item.payload
    return {"type": "function", "function": {"name": item.id, "description": item.content}}


class Renderer:
    """Lays items out as messages and a tools list in a fixed, cache-friendly order.

    Sources not in ``order`` render after ``documents`` (sorted by name), under a heading of
    their name.
    """

    def __init__(
        self, order: Sequence[str] = DEFAULT_ORDER, headings: dict[str, str] | None = None
    ) -> None:
        self.order = tuple(order)
        self.headings = {**DEFAULT_HEADINGS, **(headings or {})}

    # Layout -------------------------------------------------------------------------------

    def rank(self, source: str) -> tuple[int, str]:
        """Sort key of a source: its place in ``order``; unknown sources just before the conversation."""
        if source in self.order:
            return (self.order.index(source) * 2, "")
        anchor = self.order.index(CONVERSATION) if CONVERSATION in self.order else len(self.order)
        return (anchor * 2 - 1, source)

    def heading(self, source: str) -> str | None:
        """The heading a system-message section starts with (instructions have none)."""
        if source == INSTRUCTIONS or source == TOOLS or source in MESSAGE_SOURCES:
            return None
        return self.headings.get(source, f"## {source.replace('_', ' ').capitalize()}")

    def render_order(self, items: Iterable[ContextItem]) -> list[ContextItem]:
        """``items`` sorted the way they render: by source rank, then position, then id."""
        by_source: dict[str, list[ContextItem]] = {}
        for item in items:
            group = by_source.get(item.source)
            if group is None:
                by_source[item.source] = [item]
            else:
                group.append(item)
        ordered: list[ContextItem] = []
        for source in sorted(by_source, key=lambda s: (*self.rank(s), s)):
            ordered.extend(_within_source(by_source[source]))
        return ordered

    def render(
        self, items: Iterable[ContextItem]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Messages and tools for ``items``, in render order."""
        return self.layout(self.render_order(items))

    def layout(
        self, ordered: Sequence[ContextItem]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Messages and tools for items already in render order (``render_order``)."""
        by_source: dict[str, list[ContextItem]] = {}
        for item in ordered:
            by_source.setdefault(item.source, []).append(item)
        system_parts: list[str] = []
        tools: list[dict[str, Any]] = []
        messages: list[dict[str, Any]] = []
        for source, group in by_source.items():
            if source == TOOLS:
                tools.extend(tool_schema(item) for item in group)
            elif source in MESSAGE_SOURCES:
                messages.extend(_message(item) for item in group)
            else:
                heading = self.heading(source)
                if heading:
                    system_parts.append(heading)
                system_parts.extend(item.content for item in group)
        if system_parts:
            messages.insert(0, {"role": "system", "content": SEPARATOR.join(system_parts)})
        return messages, tools

    # Costs used by selection: they add up to the rendered request's count, up to the small
    # merges tokenizers make across joins (which the orchestrator checks and repairs). -----

    def item_cost(self, item: ContextItem, counter: TokenCounter, content_tokens: int) -> int:
        """Tokens ``item`` adds to the request, given its content's token count."""
        if item.source == TOOLS:
            return accounting(counter).tool_cost(tool_schema(item))
        if item.source in MESSAGE_SOURCES:
            return accounting(counter).message_cost(_message(item))
        return content_tokens + counter.count(SEPARATOR)

    def section_cost(self, source: str, counter: TokenCounter) -> int:
        """Tokens a source's section adds once it holds at least one item (its heading or block)."""
        if source == TOOLS:
            return accounting(counter).tools_block_cost()
        if source in MESSAGE_SOURCES:
            return 0
        # A system-message section: its heading, and (counted once per section, so at worst
        # over-counted) the system message's own overhead.
        heading = self.heading(source)
        cost = accounting(counter).system_overhead()
        if heading is not None:
            cost += counter.count(heading) + counter.count(SEPARATOR)
        return cost

    def base_cost(self, counter: TokenCounter | None = None) -> int:
        """Tokens every request spends, even an empty one: the reply primer (and what ``counter``'s template adds)."""
        return REPLY_PRIMER if counter is None else accounting(counter).request_base_cost()


_BY_POSITION = attrgetter("position", "id")
_BY_ID = attrgetter("id")


def _within_source(items: list[ContextItem]) -> list[ContextItem]:
    """One source's items in render order: by position, then id; those without a position last, by id."""
    placed = [item for item in items if item.position is not None]
    if len(placed) == len(items):
        return sorted(items, key=_BY_POSITION)
    if not placed:
        return sorted(items, key=_BY_ID)
    return sorted(placed, key=_BY_POSITION) + sorted(
        (item for item in items if item.position is None), key=_BY_ID
    )


def _message(item: ContextItem) -> dict[str, Any]:
    message: dict[str, Any] = {"role": item.role, "content": item.content}
    payload = item.payload or {}
    for key in ("tool_calls", "tool_call_id", "name"):
        if payload.get(key):
            message[key] = payload[key]
    if message.get("tool_calls") and not item.content:
        message["content"] = None
    return message


def prompt_text(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> str:
    """A flat text of a request in the order a chat template lays it out (tools, then messages).

    Used to compare requests token by token; it is not any particular model's template.
    """
    parts = []
    if tools:
        parts.append("<tools>" + "\n".join(canonical_json(t) for t in tools) + "</tools>")
    for m in messages:
        content = m.get("content")
        text = (
            content
            if isinstance(content, str)
            else canonical_json(content)
            if content is not None
            else ""
        )
        extras = "".join(
            canonical_json(m[key])
            for key in ("tool_calls", "tool_call_id", "name")
            if m.get(key) is not None
        )
        parts.append(f"<|{m.get('role', 'user')}|>{text}{extras}<|end|>")
    return "\n".join(parts)


def shared_prefix_tokens(previous: dict[str, Any], current: dict[str, Any], counter: Any) -> int:
    """Tokens at the start of ``current`` that repeat ``previous`` exactly.

    Both are request bodies (``{"messages": [...], "tools": [...]}``, as ``AssembledContext.request()``
    gives). ``counter`` must be able to ``encode`` (``TiktokenCounter`` can). This is the part of
    the prompt a prefix cache can reuse, before rounding down to whole KV blocks.

    ```python
    >>> from contextos import TiktokenCounter
    >>> first = {"messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"}]}
    >>> second = {"messages": [*first["messages"], {"role": "assistant", "content": "Hello."}]}
    >>> shared_prefix_tokens(first, second, TiktokenCounter())
    23

    ```
    """
    a = counter.encode(prompt_text(previous["messages"], previous.get("tools")))
    b = counter.encode(prompt_text(current["messages"], current.get("tools")))
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
