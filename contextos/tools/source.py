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
"""

from __future__ import annotations

from contextos.context.items import ContextItem, Step
from contextos.tools.query import ToolQueryWriter, ToolRetrieval, find_tools
from contextos.tools.retrieve import ToolRetriever


class ToolSource:
    """Proposes the top ``k`` tools for each step's input (queries written by ``writer`` when given).

    Its name is ``"tools"``: the renderer offers items of that source as the request's tools.
    """

    name = "tools"

    def __init__(self, retriever: ToolRetriever, *, k: int = 5, writer: ToolQueryWriter | None = None) -> None:
        if k < 1:
            raise ValueError("k must be at least 1")
        self.retriever = retriever
        self.k = k
        self.writer = writer
        self.last: ToolRetrieval | None = None
        """The latest retrieval (queries and hits), for inspection."""

    async def candidates(self, step: Step) -> list[ContextItem]:
        if not step.input.strip():
            return []
        self.last = await find_tools(step.input, self.retriever, self.k, writer=self.writer)
        return [
            ContextItem(
                id=hit.tool.name, source=self.name, content=hit.tool.description, payload=hit.tool.schema(),
                score=hit.score, compressible=False,  # a cut schema is not a schema
                metadata={"tool_id": hit.tool.id, "rank": rank},
            )
            for rank, hit in enumerate(self.last.hits, 1)
        ]
