"""The ``tools`` source of one agent run: the agent's own tools, handoff tools, and tools retrieved
from a catalog at every step.

At every step the query model is asked again; from the second step of a request on it also sees the
newest turns (``latest_turns``: the last tool calls and their results, clipped), so it can ask for a
tool that the last result shows is needed next. When it writes the same queries as at the step
before (always so on the offline backend, which falls back to the request text), the previous hits
are reused: no query embedding, no search.

The offer only grows within a request: a tool offered at an earlier step stays offered, in its
place, and tools new at this step come after it (each tool's ``position`` is its order of first
offer, and the renderer orders a source's items by position). Tool schemas render right after the
instructions, so while retrieval brings nothing new the prompt prefix stays identical and
cacheable. A tool offered at an earlier step is in the agent's own tools' tier (priority 1): when
the budget tightens, old conversation turns are left out before it. The budget's tools cap still
decides which of the offered tools are sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from contextos.context.items import ContextItem, Step
from contextos.context.source_names import TOOLS
from contextos.tools.query import ToolRetrieval
from contextos.tools.source import ToolSource, tool_item
from contextos.tools.tool import Tool

if TYPE_CHECKING:
    from contextos.agents.result import StepRecord

TURN_CHARS = 300
"""Each tool call and each tool result shown to the query writer is clipped to this many characters."""


class RunTools:
    """Proposes the agent's own tools (considered first) and the retrieved ones, and remembers every
    tool it offered so the executor can run a call by name."""

    name = TOOLS

    def __init__(self, own: Sequence[Tool], retrieval: ToolSource | None = None) -> None:
        self.own = list(own)
        self.retrieval = retrieval
        self.offered: dict[str, Tool] = {t.name: t for t in self.own}
        """Every tool proposed in this run, by name."""
        self.last: ToolRetrieval | None = None
        """The latest catalog retrieval (queries written, tools found, whether it was reused)."""
        self._own_items = [
            tool_item(t, priority=1, position=n, origin="agent") for n, t in enumerate(self.own)
        ]
        self._own_names = {t.name for t in self.own}
        self._request: str | None = None
        self._retrieved: dict[str, ContextItem] = {}
        """The catalog tools offered for the current request, in order of first offer."""

    async def candidates(self, step: Step) -> list[ContextItem]:
        if self.retrieval is None:
            return list(self._own_items)
        if step.input != self._request:  # a new request starts a new offer
            self._request, self._retrieved, self.last = step.input, {}, None
        found = await self.retrieval.retrieve(step, previous=self.last)
        self.last = found
        for hit in found.hits if found is not None else []:
            name = hit.tool.name
            if name in self._own_names:
                continue  # one of the agent's own tools (or a handoff): offered already
            self.offered.setdefault(name, hit.tool)
            earlier = self._retrieved.get(name)
            if earlier is None:
                self._retrieved[name] = tool_item(
                    hit.tool,
                    score=hit.score,
                    position=len(self.own) + len(self._retrieved),
                    origin="catalog",
                    offered_at_step=step.index,
                )
            elif hit.score > earlier.score:
                self._retrieved[name] = earlier.model_copy(update={"score": hit.score})
        # Tools offered at an earlier step join the agent's own tools' tier, so under a tight budget
        # the oldest turns of the conversation go before them: a tool dropped from the middle of the
        # tools section changes every token after it, a dropped old turn only the turns after it.
        sticky = [
            item.model_copy(update={"priority": 1})
            if item.metadata["offered_at_step"] < step.index
            else item
            for item in self._retrieved.values()
        ]
        return [*self._own_items, *sticky]


def latest_turns(record: StepRecord | None) -> str:
    """What the query writer sees of the step before: its tool calls and their results (each
    clipped to ``TURN_CHARS``), or the text the model wrote; "" when there is no step before."""
    if record is None:
        return ""
    lines = [f"assistant: {_clip(record.completion.content)}"] if record.completion.content else []
    for call, result in zip(record.tool_calls, record.tool_results):
        lines.append(f"assistant called {call.name}({_clip(call.raw_arguments or '{}')})")
        lines.append(
            f"{call.name} returned{'' if result.ok else ' an error'}: {_clip(result.content)}"
        )
    return "\n".join(lines)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TURN_CHARS else text[:TURN_CHARS] + " …"
