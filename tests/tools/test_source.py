"""ToolSource through the Orchestrator: the tools offered are exactly the tool items selected."""

from __future__ import annotations

from contextos import Budget, InputSource, InstructionsSource, Orchestrator, Step
from contextos.context.budget import Section
from contextos.embed import HashingEmbedder
from contextos.tools import ToolCatalog, ToolSource, load_tools


def _catalog(tmp_path, catalog_file) -> ToolCatalog:
    c = ToolCatalog.open(tmp_path / "db", embedder=HashingEmbedder())
    c.upsert(load_tools(catalog_file))
    return c


async def test_source_proposes_top_k_schemas_with_scores(tmp_path, catalog_file):
    catalog = _catalog(tmp_path, catalog_file)
    source = ToolSource(catalog.retriever(), k=3)
    items = await source.candidates(Step(input="what is the weather forecast in Oslo"))
    assert len(items) == 3 and all(i.source == "tools" and not i.compressible for i in items)
    top = items[0]
    assert top.metadata["tool_id"] in {"w1", "w2"}
    tool = catalog.get(top.metadata["tool_id"])
    assert top.id == tool.name and top.payload == tool.schema() and top.content == tool.description
    assert [i.score for i in items] == sorted((i.score for i in items), reverse=True)
    assert await source.candidates(Step(input="  ")) == []


async def test_offered_tools_are_exactly_the_selected_tool_items(tmp_path, catalog_file):
    catalog = _catalog(tmp_path, catalog_file)
    step = Step(input="book a flight from Oslo to Rome and check the weather forecast there")
    sources = [
        InstructionsSource("Use the tools."),
        ToolSource(catalog.retriever(), k=6),
        InputSource(),
    ]

    roomy = await Orchestrator(sources, Budget(context_window=8000)).build(step)
    assert len(roomy.tools) == 6

    # A cap on the tools section that fits only some of the six schemas.
    tight = await Orchestrator(
        sources, Budget(context_window=8000, sections={"tools": Section(cap=150)})
    ).build(step)
    selected = [
        d.id for d in tight.decisions if d.source == "tools" and d.status.value == "included"
    ]
    dropped = [d.id for d in tight.decisions if d.source == "tools" and d.status.value == "dropped"]
    assert selected and dropped
    assert sorted(t["function"]["name"] for t in tight.tools) == sorted(selected)
    assert tight.usage.per_source["tools"].kept_tokens <= 150
    schemas = {i.id: i.payload for i in tight.items if i.source == "tools"}
    assert all(t == schemas[t["function"]["name"]] for t in tight.tools)
