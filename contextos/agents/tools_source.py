"""The ``tools`` source of one agent run: the agent's own tools, handoff tools, and tools retrieved
from a catalog for the run's request.

Retrieval runs once per distinct step input (the request), not once per step: the query model is
not asked again at every step, and the tools offered stay the same from step to step, which keeps
the prompt prefix (tool schemas render right after the instructions) identical and cacheable.
"""

from __future__ import annotations

from collections.abc import Sequence

from contextos.context.items import ContextItem, Step
from contextos.tools.query import ToolRetrieval
from contextos.tools.source import ToolSource
from contextos.tools.tool import Tool


def tool_item(tool: Tool, *, score: float = 1.0, priority: int = 1, origin: str = "agent") -> ContextItem:
    """A tool as a ``tools`` context item (its schema is the payload)."""
    return ContextItem(
        id=tool.name, source="tools", content=tool.description, payload=tool.schema(), score=score,
        priority=priority, compressible=False, metadata={"tool_id": tool.id, "origin": origin},
    )


class RunTools:
    """Proposes the agent's own tools (considered first) and the retrieved ones, and remembers every
    tool it offered so the executor can run a call by name."""

    name = "tools"

    def __init__(self, own: Sequence[Tool], retrieval: ToolSource | None = None) -> None:
        self.own = list(own)
        self.retrieval = retrieval
        self.offered: dict[str, Tool] = {t.name: t for t in self.own}
        """Every tool proposed in this run, by name."""
        self.last: ToolRetrieval | None = None
        """The latest catalog retrieval (queries written, tools found)."""
        self._cache: tuple[str, list[ContextItem]] | None = None

    async def candidates(self, step: Step) -> list[ContextItem]:
        items = [tool_item(t) for t in self.own]
        if self.retrieval is None:
            return items
        if self._cache is None or self._cache[0] != step.input:
            retrieved = await self.retrieval.candidates(step)
            self.last = self.retrieval.last
            hits = {h.tool.name: h.tool for h in (self.last.hits if self.last else [])}
            self.offered.update({name: tool for name, tool in hits.items() if name not in self.offered})
            retrieved = [i.model_copy(update={"metadata": {**i.metadata, "origin": "catalog"}}) for i in retrieved
                         if all(i.id != t.name for t in self.own)]
            self._cache = (step.input, retrieved)
        return items + self._cache[1]
