"""What ``contextos demo`` runs: the shipped ToolBench catalog, its LanceDB index, simulated tool
responses, and an agent over it. (The command itself, in ``contextos/cli/demo.py``, only prints.)

The catalog's 2,490 tools are real API descriptions (see ``demo_data/NOTICE.md``) without
implementations; a call to one is answered by ``simulated_response``, which says plainly that it is
simulated and builds a plausible body from the tool's ToolBench ``response_template``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contextos.context.budget import Budget, Section
from contextos.context.source_names import TOOLS
from contextos.errors import InvalidToolError
from contextos.tools.tool import Tool

if TYPE_CHECKING:
    from contextos.agents.agent import Agent
    from contextos.embed.cache import CachedEmbedder
    from contextos.llm.client import ModelClient
    from contextos.tools.catalog import ToolCatalog

DEMO_REQUESTS = (
    "I'm flying to Oslo next week. What's the weather forecast there, and how much is 500 USD in NOK?",
    "Find me a vegetarian pasta recipe and tell me its nutrition facts.",
    "What are the latest cryptocurrency news headlines about Bitcoin?",
)
"""The requests the demo runs, each needing tools from different corners of the catalog."""

DEMO_INSTRUCTIONS = (
    "You are a travel and everyday-life assistant with access to thousands of web APIs. Each turn you are offered "
    "the few tools that best match the request. Call the tools you need, then answer the user from their results. "
    "Say when a result is simulated."
)

DEMO_BUDGET = Budget(context_window=4096, reserve_output=512, sections={TOOLS: Section(cap=1800)})
"""A deliberately small budget: the tools section is capped, so selection has to choose."""


def demo_catalog_path() -> Path:
    """The shipped catalog file (JSONL, Apache-2.0, from ToolBench)."""
    return Path(str(resources.files("contextos.agents") / "demo_data" / "toolbench_tools.jsonl"))


def default_demo_db() -> Path:
    """Where ``contextos demo`` (and the examples) keep the demo catalog's index: the user cache dir."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("contextos", appauthor=False)) / "demo-catalog"


def demo_vectors_path() -> Path:
    """The shipped vectors of every text the demo catalog's index embeds (``scripts/build_demo_vectors.py``
    writes them; a test checks them against the shipped catalog and fresh embeddings)."""
    return Path(str(resources.files("contextos.agents") / "demo_data" / "toolbench_vectors.npz"))


def demo_embedder() -> CachedEmbedder:
    """The default embedder, holding the shipped catalog's vectors: indexing the shipped catalog embeds
    nothing, and any other text (a query, another catalog's tool) is embedded as usual."""
    import numpy as np

    from contextos.embed import default_embedder
    from contextos.embed.cache import CachedEmbedder

    embedder = CachedEmbedder(default_embedder())
    path = demo_vectors_path()
    if path.is_file():
        with np.load(path) as shipped:
            if str(shipped["model"]) == embedder.name:
                embedder.preload(shipped["keys"].tolist(), shipped["vectors"])
    return embedder


def open_demo_catalog(
    db: str | Path,
    *,
    source: str | Path | None = None,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[ToolCatalog, bool]:
    """The demo catalog indexed in the LanceDB folder ``db``, and whether it was (re)built now.

    ``source``: another catalog file to index instead of the shipped one. An index built from the
    same catalog file is reused as is (a marker file holds the file's hash). Otherwise the file is
    read and checked before the folder is touched (``InvalidToolError`` when it is missing or
    malformed), tools an earlier catalog left in the folder are removed, and the file's tools are
    indexed (``on_start(total)`` once, then ``on_progress(n)`` per chunk); the marker is written last.
    The shipped catalog's texts come with their vectors (``demo_embedder``): indexing it takes seconds, not minutes.
    """
    from contextos.tools import ToolCatalog, load_tools

    path = Path(source) if source is not None else demo_catalog_path()
    # other catalogs share many texts with it; the rest is embedded as usual
    embedder = demo_embedder()
    if not path.is_file():
        raise InvalidToolError(
            f"no tool catalog file at {path}: give a JSONL, OpenAI tools or MCP tools/list JSON file"
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    marker = Path(db) / "demo-catalog.sha256"
    if marker.is_file() and marker.read_text().strip() == digest:
        catalog = ToolCatalog.open(db)
        if len(catalog) > 0:
            return catalog, False
    tools = load_tools(path)
    catalog = ToolCatalog.open(db, embedder=embedder)
    marker.unlink(missing_ok=True)  # an interrupted rebuild must not pass for the old catalog
    wanted = {t.id for t in tools}
    stale = [row["id"] for row in catalog.table.scan(columns=["id"]) if row["id"] not in wanted]
    catalog.remove(stale)
    if on_start:
        on_start(len(tools))
    catalog.upsert(tools, on_progress=on_progress)
    marker.write_text(digest + "\n")
    return catalog, True


def simulated_response(tool: Tool, arguments: dict[str, Any]) -> dict[str, Any]:
    """A clearly labelled stand-in for calling ``tool``: no API is called. The body follows the
    tool's ToolBench ``response_template`` (field names and types) when it has one."""
    template = tool.metadata.get("response_template")
    body = _fill(template, tool.name) if template else {"status": "ok"}
    return {
        "simulated": True,
        "note": f"contextos demo: no real API was called; this is a made-up response shaped like {tool.label}'s",
        "arguments": arguments,
        "response": body,
    }


def _fill(template: Any, seed: str, key: str = "value") -> Any:
    """Values for a ToolBench template: type names (``"str"``, ``"int"``, ...) become sample values."""
    if isinstance(template, dict):
        return {k: _fill(v, seed, k) for k, v in list(template.items())[:12]}
    if isinstance(template, list):
        return [_fill(template[0], seed, key)] if template else []
    number = int(hashlib.sha1(f"{seed}:{key}".encode()).hexdigest()[:6], 16)
    kind = str(template).lower()
    if kind in ("int", "integer"):
        return number % 1000
    if kind in ("float", "number", "double"):
        return round((number % 100000) / 100, 2)
    if kind in ("bool", "boolean"):
        return number % 2 == 0
    if kind in ("nonetype", "null", "none"):
        return None
    return f"sample {key}"


def demo_agent(client: ModelClient, catalog: ToolCatalog, *, tool_k: int = 8) -> Agent:
    """The demo's agent: the catalog's tools retrieved at every step, simulated when called."""
    from contextos.agents.agent import Agent
    from contextos.agents.limits import RunLimits
    from contextos.tools.executor import ToolExecutor

    return Agent(
        client,
        name="demo",
        instructions=DEMO_INSTRUCTIONS,
        catalog=catalog,
        tool_k=tool_k,
        budget=DEMO_BUDGET,
        executor=ToolExecutor(fallback=simulated_response, timeout_s=10),
        limits=RunLimits(max_steps=4),
    )
