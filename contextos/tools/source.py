"""``ToolSource``: per step, the tools the step needs, proposed to the orchestrator as context items.

Each proposed tool is an item of source ``"tools"`` whose payload is its OpenAI schema, so the
orchestrator counts the schema's tokens, selects under the budget like any other item, and the
renderer offers the model exactly the tool items selected.

```python
orchestrator = Orchestrator(
    [InstructionsSource("..."), ToolSource(catalog.retriever(), k=5), InputSource()],
    Budget(context_window=8192, sections={"tools": Section(cap=1500)}),
)
assembled = await orchestrator.build(Step(input="Will it rain in Oslo tomorrow?"))
assembled.tools   # the schemas of the selected tools only
```

A step's ``metadata[LATEST_TURNS]`` (text: the newest turns of the conversation, e.g. the last tool
call and its result) goes to the query writer, so that at a later step of a request it can ask for
the tool the last result shows is needed next. An agent sets it from the second step of a request on.
"""

from __future__ import annotations

from contextos.context.items import ContextItem, Step
from contextos.context.source_names import TOOLS
from contextos.errors import ConfigError
from contextos.tools.query import ToolQueryWriter, ToolRetrieval, find_tools
from contextos.tools.retrieve import ToolRetriever
from contextos.tools.tool import Tool

LATEST_TURNS = "latest_turns"
"""The ``Step.metadata`` key of the newest turns (text) shown to the query writer."""


def tool_item(
    tool: Tool,
    *,
    score: float = 1.0,
    priority: int = 0,
    position: int | None = None,
    **metadata: object,
) -> ContextItem:
    """``tool`` as a ``tools`` context item: its description is the text, its OpenAI schema the
    payload; never compressible (a cut schema is not a schema)."""
    return ContextItem(
        id=tool.name,
        source=TOOLS,
        content=tool.description,
        payload=tool.schema(),
        score=score,
        priority=priority,
        compressible=False,
        position=position,
        metadata={"tool_id": tool.id, **metadata},
    )


class ToolSource:
    """Proposes the top ``k`` tools for each step's input (queries written by ``writer`` when given).

    Its name is ``"tools"``: the renderer offers items of that source as the request's tools.
    """

    name = TOOLS

    def __init__(
        self, retriever: ToolRetriever, *, k: int = 5, writer: ToolQueryWriter | None = None
    ) -> None:
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k}")
        if not isinstance(retriever, ToolRetriever):
            raise ConfigError(
                f"ToolSource needs a ToolRetriever (retrieve(queries, k)), got {type(retriever).__name__}; "
                "for a ToolCatalog pass catalog.retriever()"
            )
        self.retriever = retriever
        self.k = k
        self.writer = writer
        self.last: ToolRetrieval | None = None
        """The latest retrieval (queries and hits), for inspection."""

    async def candidates(self, step: Step) -> list[ContextItem]:
        found = await self.retrieve(step)
        if found is None:
            return []
        return [
            tool_item(hit.tool, score=hit.score, rank=rank)
            for rank, hit in enumerate(found.hits, 1)
        ]

    async def retrieve(
        self, step: Step, *, previous: ToolRetrieval | None = None
    ) -> ToolRetrieval | None:
        """The retrieval for ``step`` (None for an empty input), also kept as ``last``. With
        ``previous`` (the retrieval of an earlier step of the same request), its hits are reused
        when the queries written now are the same as its queries."""
        if not step.input.strip():
            return None
        latest = str(step.metadata.get(LATEST_TURNS) or "")
        found = await find_tools(
            step.input, self.retriever, self.k, writer=self.writer, latest=latest, previous=previous
        )
        self.last = (
            found if found.reused else found.model_copy(update={"searched_at_step": step.index})
        )
        return self.last
