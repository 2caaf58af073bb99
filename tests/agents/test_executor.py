"""ToolExecutor: every failure mode becomes a result the model reads, never an exception."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import pytest

from contextos.llm import ToolCall
from contextos.tools import Tool
from contextos.tools.executor import ToolExecutor


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def slow_async(seconds: float) -> str:
    """Sleep, then answer."""
    await asyncio.sleep(seconds)
    return "done"


def slow_sync(seconds: float) -> str:
    """Block, then answer."""
    time.sleep(seconds)
    return "done"


def broken(x: str) -> str:
    """Always fails."""
    raise RuntimeError(f"database unreachable for {x}")


def exits(code: int) -> str:
    """Ends the process, as a wrapped command-line tool may."""
    sys.exit(code)


async def exits_async() -> str:
    """Ends the process from a coroutine."""
    sys.exit("bye")


def call(name: str, arguments: dict | str) -> ToolCall:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCall.parse("call_1", name, raw)


@pytest.fixture
def executor() -> ToolExecutor:
    return ToolExecutor([add, slow_async, slow_sync, broken, exits, exits_async], timeout_s=0.3)


async def test_sync_tool_result_is_serialised_as_json(executor):
    result = await executor.execute(call("add", {"a": 2, "b": 3}))
    assert result.ok and result.content == "5" and result.arguments == {"a": 2, "b": 3}
    assert result.message() == {
        "role": "tool",
        "tool_call_id": "call_1",
        "name": "add",
        "content": "5",
    }


async def test_async_tool_runs_natively(executor):
    result = await executor.execute(call("slow_async", {"seconds": 0.01}))
    assert result.ok and result.content == "done"


@pytest.mark.parametrize(
    "the_call, failure, words",
    [
        (call("nope", {}), "unknown_tool", ["no tool named 'nope'", "add"]),
        (call("add", '{"a": 2, "b'), "invalid_json", ["not valid JSON", "again"]),
        (call("add", "[1, 2]"), "invalid_json", ["must be a JSON object"]),
        (
            call("add", {"a": "two", "b": 3}),
            "invalid_arguments",
            ["a: 'two' is not of type 'integer'"],
        ),
        (call("add", {"a": 1}), "invalid_arguments", ["'b' is a required property"]),
        (call("broken", {"x": "q"}), "exception", ["RuntimeError", "database unreachable for q"]),
        (call("exits", {"code": 2}), "exception", ["exits called sys.exit(2)"]),
        (call("exits_async", {}), "exception", ["exits_async called sys.exit('bye')"]),
        (call("slow_async", {"seconds": 5}), "timeout", ["did not finish within 0.3 s"]),
        (call("slow_sync", {"seconds": 1}), "timeout", ["did not finish within 0.3 s"]),
    ],
)
async def test_failures_become_error_results(executor, the_call, failure, words):
    started = time.perf_counter()
    result = await executor.execute(the_call)
    assert not result.ok and result.failure == failure
    assert result.content.startswith("Error: ")
    for word in words:
        assert word in result.content
    assert time.perf_counter() - started < 2  # a timeout does not wait for the tool


async def test_per_tool_timeout_overrides_the_default():
    executor = ToolExecutor([slow_async], timeout_s=0.05, timeouts={"slow_async": 2})
    assert (await executor.execute(call("slow_async", {"seconds": 0.2}))).ok


async def test_catalog_tool_without_callable_needs_a_fallback():
    listed = Tool(name="lookup", description="Look something up.", metadata={"kind": "catalog"})
    bare = await ToolExecutor().execute(call("lookup", {}), offered={"lookup": listed})
    assert bare.failure == "no_implementation"
    seen = []
    with_fallback = ToolExecutor(
        fallback=lambda tool, args: seen.append(tool.metadata) or {"simulated": True}
    )
    result = await with_fallback.execute(call("lookup", {}), offered={"lookup": listed})
    assert (
        result.ok
        and json.loads(result.content) == {"simulated": True}
        and seen == [{"kind": "catalog"}]
    )


async def test_long_results_are_truncated_with_a_note():
    executor = ToolExecutor(
        [Tool.from_function(lambda: "x" * 5000, name="big")], max_result_chars=1000
    )
    result = await executor.execute(call("big", {}))
    assert result.truncated and result.content.startswith("x" * 1000)
    assert "5,000 characters" in result.content and len(result.content) < 1200


async def test_execute_all_runs_calls_concurrently_in_order(executor):
    calls = [ToolCall.parse(f"c{i}", "slow_async", json.dumps({"seconds": 0.2})) for i in range(5)]
    started = time.perf_counter()
    results = await executor.execute_all(calls)
    assert [r.call_id for r in results] == [f"c{i}" for i in range(5)]
    assert time.perf_counter() - started < 0.8
