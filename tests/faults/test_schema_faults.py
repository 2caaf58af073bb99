"""Untrusted tool schemas: refused when the tool is made, or validated in bounded time; never an
exception outside ``ContextOSError`` out of a run."""

from __future__ import annotations

import time

import pytest

from contextos import Agent, InvalidToolError, Tool, ToolExecutor
from contextos.llm import ToolCall
from contextos.testing import Reply, ScriptedModel
from contextos.tools import tools_from_mcp


def _nested(depth: int) -> dict:
    schema: dict = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


BAD = [
    pytest.param(
        {"type": "object", "properties": {"a": {"$ref": "https://example.com/schema.json"}}},
        "only local refs",
        id="remote-ref",
    ),
    pytest.param(
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}},
        "does not exist",
        id="missing-ref",
    ),
    pytest.param(
        {"type": "object", "properties": {"a": {"$ref": "#/properties/a"}}},
        "refer back to themselves",
        id="self-ref",
    ),
    pytest.param({"$ref": "#"}, "refer back to themselves", id="root-self-ref"),
    pytest.param(
        {
            "type": "object",
            "$defs": {
                "p": {"allOf": [{"$ref": "#/$defs/q"}]},
                "q": {"anyOf": [{"$ref": "#/$defs/p"}]},
            },
            "properties": {"a": {"$ref": "#/$defs/p"}},
        },
        "refer back to themselves",
        id="ref-loop-through-allOf",
    ),
    pytest.param(_nested(400), "deeper than", id="400-deep"),
]


@pytest.mark.parametrize("parameters, says", BAD)
def test_a_bad_schema_is_refused_when_the_tool_is_made(parameters, says) -> None:
    with pytest.raises(InvalidToolError, match=says):
        Tool(name="t", parameters=parameters)
    with pytest.raises(InvalidToolError, match=says):  # an MCP server's tools/list, the same way
        tools_from_mcp({"tools": [{"name": "t", "inputSchema": parameters}]})


def test_recursive_schemas_that_descend_are_fine() -> None:
    tree = {
        "type": "object",
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
            }
        },
        "properties": {"root": {"$ref": "#/$defs/node"}},
    }
    Tool(name="t", parameters=tree)


CATASTROPHIC = {"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a|aa)+$"}}}


async def test_a_catastrophic_pattern_is_bounded_in_time() -> None:
    executor = ToolExecutor([Tool(name="t", parameters=CATASTROPHIC, fn=lambda s: s)], timeout_s=5)
    started = time.monotonic()
    result = await executor.execute(ToolCall.parse("c1", "t", '{"s": "' + "a" * 60 + '!"}'))
    assert result.failure == "invalid_arguments"
    assert "took longer" in result.content
    # the backtracking alone would take longer than the universe
    assert time.monotonic() - started < 8
    ok = await executor.execute(ToolCall.parse("c2", "t", '{"s": "aaaa"}'))
    assert ok.ok and ok.content == "aaaa"


async def test_a_catastrophic_pattern_property_is_bounded_in_time() -> None:
    schema = {
        "type": "object",
        "patternProperties": {"^(a|aa)+$": {"type": "integer"}},
        "additionalProperties": False,
    }
    executor = ToolExecutor([Tool(name="t", parameters=schema, fn=lambda **kw: "ran")], timeout_s=5)
    result = await executor.execute(ToolCall.parse("c1", "t", '{"' + "a" * 60 + '!": 1}'))
    assert result.failure == "invalid_arguments"


def test_an_agent_run_with_a_catastrophic_pattern_goes_on() -> None:
    model = ScriptedModel([Reply.tool_call("t", {"s": "a" * 60 + "!"}), Reply.text("gave up on t")])
    agent = Agent(model, tools=[Tool(name="t", parameters=CATASTROPHIC, fn=lambda s: s)])
    result = agent.run("go")
    assert result.answer == "gave up on t"
    assert result.steps[0].tool_results[0].failure == "invalid_arguments"
