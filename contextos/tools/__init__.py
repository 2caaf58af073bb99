"""tools: tool definitions, a LanceDB tool catalog, retrieval with LLM-written queries, and the
``ToolSource`` that loads only the tools a step needs.

- :class:`Tool` (``from_function``, ``from_openai``, :func:`tools_from_mcp`), :func:`load_tools`
- :class:`ToolCatalog`: add / update / upsert / remove, persisted in LanceDB
- :class:`ToolRetriever` (protocol), :class:`CatalogRetriever`, ``retriever.reranked(fn)``
- :class:`ToolQueryWriter` (one query per capability, by a model), :func:`find_tools`
- :class:`ToolSource`: a ``ContextSource`` proposing tool schemas per step
- :class:`ToolExecutor`: runs tool calls; failures become :class:`ToolResult` s the model reads
- :func:`implementations`: your functions bound to catalog tools by name (the executor's fallback)
"""

from __future__ import annotations

from contextos.tools.bind import implementations
from contextos.tools.catalog import ToolCatalog
from contextos.tools.executor import ToolExecutor, ToolResult
from contextos.tools.load import load_tools
from contextos.tools.query import (
    ToolQueries,
    ToolQueryWriter,
    ToolRetrieval,
    find_tools,
)
from contextos.tools.retrieve import (
    CatalogRetriever,
    RerankedRetriever,
    ToolHit,
    ToolRetriever,
)
from contextos.tools.run_context import RunContext
from contextos.tools.source import ToolSource
from contextos.tools.tool import Tool, tools_from_mcp

__all__ = [
    "CatalogRetriever",
    "RerankedRetriever",
    "RunContext",
    "Tool",
    "ToolCatalog",
    "ToolExecutor",
    "ToolHit",
    "ToolQueries",
    "ToolQueryWriter",
    "ToolResult",
    "ToolRetrieval",
    "ToolRetriever",
    "ToolSource",
    "find_tools",
    "implementations",
    "load_tools",
    "tools_from_mcp",
]
