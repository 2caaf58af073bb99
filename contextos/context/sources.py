"""The seams of assembly: sources propose candidates, compressors shorten them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from contextos.context.items import ContextItem, Step


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


@runtime_checkable
class Compressor(Protocol):
    """Shortens compressible items before selection (the compressors issue fills this in)."""

    name: str

    async def compress(self, items: Sequence[ContextItem], step: Step) -> Sequence[ContextItem]:
        """Return the items, each either unchanged or a shorter copy with the same id."""
        ...


class StaticSource:
    """A source that offers the same items at every step (instructions, fixed documents).

    ```python
    StaticSource("documents", [ContextItem(id="faq", source="documents", content="...")])
    ```
    """

    def __init__(self, name: str, items: Iterable[ContextItem]) -> None:
        self.name = name
        self.items = [item if item.source == name else item.model_copy(update={"source": name}) for item in items]

    async def candidates(self, step: Step) -> list[ContextItem]:
        return list(self.items)


class InstructionsSource(StaticSource):
    """The system instructions, pinned: they always go in, first."""

    def __init__(self, text: str, *, id: str = "instructions") -> None:
        super().__init__("instructions", [ContextItem(id=id, source="instructions", role="system", content=text, pinned=True, compressible=False)])


class InputSource:
    """The step's current request (``step.input``) as the last user message, pinned."""

    name = "input"

    async def candidates(self, step: Step) -> list[ContextItem]:
        if not step.input:
            return []
        return [ContextItem(id=f"input-{step.index}", source="input", role="user", content=step.input, pinned=True, compressible=False)]
