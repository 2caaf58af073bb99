"""Tool: names, schemas and the builders (functions, OpenAI definitions, MCP tools/list)."""

from __future__ import annotations

import json

import pytest

from contextos import InvalidToolError
from contextos.tools import Tool, tools_from_mcp
from contextos.tools.tool import valid_tool_name


def get_weather(city: str, unit: str = "celsius", days: int = 1) -> str:
    """Current weather for a city.

    Args:
        city: The city name, e.g. "Paris".
            Case does not matter.
        unit: "celsius" or "fahrenheit".

    Returns:
        A sentence about the weather.
    """
    return f"sunny in {city}"


def test_from_function_builds_schema_from_signature_and_docstring():
    tool = Tool.from_function(get_weather)
    schema = tool.schema()
    assert schema["type"] == "function"
    function = schema["function"]
    assert function["name"] == "get_weather"
    assert function["description"] == "Current weather for a city."
    params = function["parameters"]
    assert params["required"] == ["city"]
    assert params["properties"]["city"] == {
        "type": "string",
        "description": 'The city name, e.g. "Paris". Case does not matter.',
    }
    assert params["properties"]["days"]["type"] == "integer"
    assert params["properties"]["unit"]["default"] == "celsius"
    assert "title" not in json.dumps(params)
    assert tool.fn.__wrapped__ is get_weather and tool.fn("Oslo") == "sunny in Oslo"
    assert tool.id == "get_weather"


def test_from_function_numpy_and_sphinx_docstrings():
    def numpy_style(x: int, tags: list[str]) -> None:
        """Do a thing.

        Parameters
        ----------
        x : int
            How many.
        tags : list of str
            Labels to attach.
        """

    def sphinx_style(path: str) -> None:
        """Read a file.

        :param path: Where the file is.
        """

    props = Tool.from_function(numpy_style).parameters["properties"]
    assert props["x"]["description"] == "How many."
    assert props["tags"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": "Labels to attach.",
    }
    sphinx = Tool.from_function(sphinx_style)
    assert sphinx.description == "Read a file."
    assert sphinx.parameters["properties"]["path"]["description"] == "Where the file is."


@pytest.mark.parametrize("name", ["get_weather", "a", "A-b_9", "x" * 64])
def test_valid_names_are_kept(name):
    assert valid_tool_name(name) == name
    assert Tool(name=name).name == name


@pytest.mark.parametrize("name", ["", "has space", "dots.are.out", "x" * 65, "émoji👋"])
def test_invalid_names_are_rejected_with_a_mapping_hint(name):
    with pytest.raises(InvalidToolError) as info:
        Tool(name=name)
    assert "name" in str(info.value)


def test_toolbench_names_map_deterministically_and_keep_the_original():
    a = Tool.named("PetstoreRateLimit: getOrderById", id="tb-0002")
    again = Tool.named("PetstoreRateLimit: getOrderById", id="tb-0002")
    other_row = Tool.named("PetstoreRateLimit: getOrderById", id="tb-9999")
    assert a.name == again.name
    assert a.name.startswith("PetstoreRateLimit_getOrderById_")
    assert a.original_name == "PetstoreRateLimit: getOrderById" and a.label == a.original_name
    assert other_row.name != a.name  # same text in two rows (ToolBench has 8) stays distinct
    long = Tool.named("x" * 200 + ": y", id="1")
    assert len(long.name) <= 64 and Tool(name=long.name).name == long.name


def test_parameters_must_be_a_valid_object_schema():
    with pytest.raises(InvalidToolError, match="not valid JSON Schema"):
        Tool(name="t", parameters={"type": "object", "properties": {"a": {"type": "strng"}}})
    with pytest.raises(InvalidToolError, match="object"):
        Tool(name="t", parameters={"type": "string"})
    with pytest.raises(InvalidToolError, match="'t'"):
        Tool(name="t", parameters={"type": "object", "required": "a"})


def test_from_openai_accepts_wrapped_and_bare_definitions():
    wrapped = {
        "type": "function",
        "function": {
            "name": "f",
            "description": "d",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        },
    }
    assert Tool.from_openai(wrapped).schema() == wrapped
    assert Tool.from_openai({"name": "g"}).parameters == {"type": "object", "properties": {}}
    with pytest.raises(InvalidToolError, match="not an OpenAI function tool"):
        Tool.from_openai({"type": "retrieval"})


def test_tools_from_mcp_result_text_and_jsonrpc_envelope():
    result = {
        "tools": [
            {
                "name": "fs.read_file",
                "description": "Read a file",
                "inputSchema": {
                    "type": "object",
                    "properties": {"path": {"type": "string"}},
                    "required": ["path"],
                },
            },
            {"name": "search", "title": "Web search", "inputSchema": {"type": "object"}},
        ]
    }
    tools = tools_from_mcp(json.dumps({"jsonrpc": "2.0", "id": 1, "result": result}))
    assert [t.label for t in tools] == ["fs.read_file", "search"]
    assert tools[0].name.startswith("fs_read_file_") and tools[0].parameters["required"] == ["path"]
    assert tools[1].name == "search" and tools[1].metadata == {"title": "Web search"}
    with pytest.raises(InvalidToolError, match="tools"):
        tools_from_mcp({"result": {}})
    with pytest.raises(InvalidToolError, match="#1"):
        tools_from_mcp({"tools": [{"name": "ok"}, {"description": "no name"}]})
    with pytest.raises(InvalidToolError, match="not JSON"):
        tools_from_mcp("{nope")
