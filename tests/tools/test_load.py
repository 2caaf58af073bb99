"""Reading catalog files: the three formats, and errors that name the row or tool."""

from __future__ import annotations

import json

import pytest

from contextos import DuplicateToolError, InvalidToolError
from contextos.tools import load_tools

from .conftest import write_jsonl


def test_jsonl_rows(catalog_file, rows):
    tools = load_tools(catalog_file)
    assert [t.id for t in tools] == [r["id"] for r in rows]
    weather = tools[0]
    assert weather.label == "Weather API: current" and weather.name.startswith(
        "Weather_API_current_"
    )
    assert weather.group == "Weather API"
    assert tools[4].name == "convert_currency" and tools[4].original_name is None


def test_toolbench_rows_take_their_family_from_metadata(tmp_path):
    row = {
        "id": "tb-1",
        "name": "Pattern Monster: Get Pattern",
        "description": "SVG patterns",
        "parameters": {"type": "object", "properties": {}},
        "source": "toolbench",
        "metadata": {"tool_name": "Pattern Monster", "category": "Design"},
    }
    (tool,) = load_tools(write_jsonl(tmp_path / "c.jsonl", [row]))
    assert (
        tool.group == "Pattern Monster"
        and tool.metadata["category"] == "Design"
        and tool.metadata["source"] == "toolbench"
    )


def test_openai_array_and_mcp_result(tmp_path):
    openai = tmp_path / "openai.json"
    openai.write_text(
        json.dumps(
            [
                {
                    "type": "function",
                    "function": {"name": "a", "description": "A", "parameters": {"type": "object"}},
                },
                {"type": "function", "function": {"name": "b"}},
            ]
        )
    )
    assert [t.name for t in load_tools(openai)] == ["a", "b"]
    mcp = tmp_path / "mcp.json"
    mcp.write_text(
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "result": {"tools": [{"name": "git.status", "inputSchema": {"type": "object"}}]},
            }
        )
    )
    assert [t.label for t in load_tools(mcp)] == ["git.status"]


def test_malformed_row_names_its_line(tmp_path, rows):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(rows[0]) + "\n" + "{not json\n")
    with pytest.raises(InvalidToolError, match=r"bad.jsonl:2 is not valid JSON"):
        load_tools(path)
    write_jsonl(path, [rows[0], {"id": "x", "description": "no name"}])
    with pytest.raises(InvalidToolError, match=r"line 2: missing or empty 'name'"):
        load_tools(path)


def test_invalid_schema_names_row_and_tool(tmp_path, rows):
    rows[2]["parameters"] = {"type": "object", "properties": {"origin": {"type": "text"}}}
    with pytest.raises(InvalidToolError) as info:
        load_tools(write_jsonl(tmp_path / "c.jsonl", rows))
    assert (
        "line 3" in str(info.value)
        and "Flights: searchFlights" in str(info.value)
        and "JSON Schema" in str(info.value)
    )


def test_duplicate_name_and_id(tmp_path, rows):
    dup = dict(rows[4], id="c2")
    with pytest.raises(DuplicateToolError, match="'c1' and 'c2' are both named 'convert_currency'"):
        load_tools(write_jsonl(tmp_path / "c.jsonl", [*rows, dup]))
    with pytest.raises(DuplicateToolError, match="id 'c1'"):
        load_tools(write_jsonl(tmp_path / "d.jsonl", [*rows, dict(rows[4], name="other")]))


def test_empty_and_missing_catalog(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(InvalidToolError, match="holds no tools"):
        load_tools(empty)
    with pytest.raises(InvalidToolError, match="no catalog file"):
        load_tools(tmp_path / "missing.jsonl")


def test_real_toolret_catalog_loads_with_distinct_names(shared_data):
    tools = load_tools(shared_data / "toolret" / "tools.jsonl")
    assert len(tools) == 2490
    assert len({t.name for t in tools}) == 2490  # its 8 repeated "tool: api" names map apart
    assert sum(t.original_name is not None for t in tools) > 2000
