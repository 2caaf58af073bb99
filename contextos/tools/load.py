"""Reading tool catalogs from files: JSONL rows, an OpenAI tools array, or an MCP ``tools/list`` result.

Every tool is validated before any is returned, so a caller that writes only after loading never
writes half a catalog.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from contextos._jsonl import jsonl_rows, read_text
from contextos.errors import DuplicateToolError, InvalidToolError
from contextos.tools.tool import Tool, tools_from_mcp

_ROW_KEYS = {"id", "name", "description", "parameters", "group", "source", "metadata"}


def tool_from_row(row: Any, *, where: str) -> Tool:
    """A tool from one catalog row ``{"id", "name", "description", "parameters"}`` (``group``,
    ``metadata`` optional). ``where`` names the row in errors, e.g. ``"tools.jsonl line 3"``.

    A name that is not a valid function name (ToolBench's ``"tool: api"``) is mapped, keyed by the
    row's id. The group defaults to ``metadata.tool_name`` (ToolBench's API a row is an endpoint of).
    """
    if not isinstance(row, dict):
        raise InvalidToolError(
            f"{where}: a catalog row must be a JSON object, got {type(row).__name__}"
        )
    missing = [k for k in ("id", "name") if not isinstance(row.get(k), str) or not row.get(k)]
    if missing:
        raise InvalidToolError(
            f"{where}: missing or empty {', '.join(repr(m) for m in missing)}; each row needs "
            '{"id": ..., "name": ..., "description": ..., "parameters": {...}}'
        )
    unknown = sorted(set(row) - _ROW_KEYS)
    if unknown:
        raise InvalidToolError(
            f"{where} (tool {row['name']!r}): unknown fields {unknown}; allowed: {sorted(_ROW_KEYS)}"
        )
    metadata = row.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise InvalidToolError(f"{where} (tool {row['name']!r}): metadata must be an object")
    if row.get("source") is not None:
        metadata = {**metadata, "source": row["source"]}
    description = row.get("description") or ""
    if not isinstance(description, str):
        raise InvalidToolError(f"{where} (tool {row['name']!r}): description must be text")
    group = row.get("group") or metadata.get("tool_name")
    try:
        return Tool.named(
            row["name"],
            id=row["id"],
            description=description,
            parameters=row.get("parameters") or {"type": "object", "properties": {}},
            group=group if isinstance(group, str) and group else None,
            metadata=metadata,
        )
    except InvalidToolError as exc:
        raise InvalidToolError(f"{where}: {exc}") from None


def check_unique(tools: Iterable[Tool], *, where: str = "catalog") -> list[Tool]:
    """``tools`` as a list; ``DuplicateToolError`` naming both if two share a name or an id."""
    by_name: dict[str, Tool] = {}
    by_id: dict[str, Tool] = {}
    out = []
    for tool in tools:
        if not isinstance(tool, Tool):
            raise InvalidToolError(
                f"{where}: expected Tool objects, got {type(tool).__name__}; make them with Tool(...), "
                "Tool.from_openai(...) or tool_from_row(...)"
            )
        if tool.name in by_name:
            raise DuplicateToolError(
                f"{where}: tools {by_name[tool.name].id!r} and {tool.id!r} are both named {tool.label!r}; "
                "tool names must be unique within a catalog"
            )
        if tool.id in by_id:
            raise DuplicateToolError(
                f"{where}: two tools have the id {tool.id!r}; ids must be unique within a catalog"
            )
        by_name[tool.name] = by_id[tool.id] = tool
        out.append(tool)
    return out


def load_tools(path: str | Path) -> list[Tool]:
    """Every tool in the catalog file at ``path``, validated, names and ids unique.

    The format is recognised from the content: a JSON array of OpenAI tool definitions, a JSON
    object with ``"tools"`` (an MCP ``tools/list`` result, bare or inside a JSON-RPC response), or
    JSONL rows ``{"id", "name", "description", "parameters"}``.
    """
    path = Path(path)
    text = read_text(path, InvalidToolError, what="catalog file")
    stripped = text.lstrip()
    tools: list[Tool]
    if stripped.startswith("["):
        data = _json(text, path)
        tools = []
        for n, definition in enumerate(data):
            try:
                tools.append(Tool.from_openai(definition))
            except InvalidToolError as exc:
                raise InvalidToolError(f"{path} entry {n}: {exc}") from None
    elif _is_mcp_result(stripped):
        try:
            tools = tools_from_mcp(_json(text, path))
        except InvalidToolError as exc:
            raise InvalidToolError(f"{path}: {exc}") from None
    else:
        tools = [
            tool_from_row(row, where=f"{path} line {n}")
            for n, row in jsonl_rows(path, InvalidToolError, text=text)
        ]
    if not tools:
        raise InvalidToolError(f"{path} holds no tools: a catalog needs at least one")
    return check_unique(tools, where=str(path))


def _json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidToolError(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}") from None


def _is_mcp_result(text: str) -> bool:
    """Whether ``text`` is one JSON object holding ``tools`` or ``result`` (not a JSONL row)."""
    if not text.startswith("{"):
        return False
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(data, dict) and ("tools" in data or "result" in data)
