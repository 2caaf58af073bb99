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
from contextos.tools.catalog import ToolCatalog, index_text
from contextos.tools.executor import ToolExecutor, ToolResult
from contextos.tools.load import load_tools, tool_from_row
from contextos.tools.query import (
    PROGRESS_NOTE,
    QUERY_PROMPT,
    ToolQueries,
    ToolQueryWriter,
    ToolRetrieval,
    find_tools,
    parse_queries,
)
from contextos.tools.retrieve import (
    BaseToolRetriever,
    CatalogRetriever,
    RerankedRetriever,
    ToolHit,
    ToolRetriever,
)
from contextos.tools.run_context import RunContext
from contextos.tools.source import LATEST_TURNS, ToolSource, tool_item
from contextos.tools.tool import Tool, tools_from_mcp, valid_tool_name

__all__ = [
    "LATEST_TURNS",
    "PROGRESS_NOTE",
    "QUERY_PROMPT",
    "BaseToolRetriever",
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
    "index_text",
    "load_tools",
    "parse_queries",
    "tool_from_row",
    "tool_item",
    "tools_from_mcp",
    "valid_tool_name",
]
