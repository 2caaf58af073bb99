"""Tools that ignore their timeout: the wait ends, the run ends, the next model call is not held."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator

import pytest

from contextos import Agent, ConfigError, ModelClient, RetryPolicy, ToolExecutor
from contextos.llm import ToolCall
from contextos.llm._runtime import load_litellm
from contextos.testing import FakeModelServer, FakeToolCall, Reply

RELEASE = threading.Event()
"""Set at the end of each test: the stuck tools' threads then end."""


def stuck(seconds: int = 0) -> str:
    """A tool that ignores every timeout.

    Args:
        seconds: Ignored.
    """
    RELEASE.wait(60)
    return "finally"


@pytest.fixture(autouse=True)
def _release() -> Iterator[None]:
    load_litellm()
    RELEASE.clear()
    yield
    RELEASE.set()


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    with FakeModelServer() as fake:
        yield fake


def _agent(server: FakeModelServer, timeout_s: float) -> Agent:
    client = ModelClient(
        "hosted_vllm/fake-model", api_base=server.api_base, timeout=10, retry=RetryPolicy.none()
    )
    return Agent(client, tools=[stuck], executor=ToolExecutor(timeout_s=timeout_s))


def test_a_run_with_a_stuck_sync_tool_ends_soon_after_the_tool_timeout(
    server: FakeModelServer,
) -> None:
    server.enqueue(Reply.tool_call("stuck", {}), Reply.text("done without it"))
    started = time.monotonic()
    result = _agent(server, timeout_s=0.5).run("go")
    took = time.monotonic() - started
    assert result.answer == "done without it"
    assert result.steps[0].tool_results[0].failure == "timeout"
    assert took < 5  # before: run() joined the tool's thread, 60 s here


def test_stuck_tools_do_not_hold_the_next_model_call(server: FakeModelServer) -> None:
    # Twelve stuck calls at once: more than asyncio's default thread pool holds on a small machine.
    calls = tuple(FakeToolCall(name="stuck", arguments="{}", id=f"c{i}") for i in range(12))
    server.enqueue(Reply(tool_calls=calls), Reply.text("still here"))
    result = _agent(server, timeout_s=0.3).run("go")
    assert result.answer == "still here"
    assert all(r.failure == "timeout" for r in result.steps[0].tool_results)
    assert result.steps[1].model_s < 3  # before: the model call waited for a pool thread


async def test_a_stuck_tool_does_not_block_other_tools_or_the_loop() -> None:
    executor = ToolExecutor([stuck], timeout_s=0.3)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        import asyncio

        while ticks < 5:
            await asyncio.sleep(0.02)
            ticks += 1

    import asyncio

    started = time.monotonic()
    results, _ = await asyncio.gather(
        executor.execute_all([ToolCall.parse(f"c{i}", "stuck", "{}") for i in range(8)]), tick()
    )
    assert [r.failure for r in results] == ["timeout"] * 8
    assert ticks == 5 and time.monotonic() - started < 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeout_s": 0},
        {"timeout_s": -1},
        {"timeout_s": float("nan")},
        {"timeouts": {"stuck": 0}},
        {"max_result_chars": 5},
        {"timeout_s": "10"},
    ],
)
def test_executor_settings_are_config_errors(kwargs) -> None:
    with pytest.raises(ConfigError):
        ToolExecutor(**kwargs)


async def test_an_isolated_tool_is_killed_at_its_timeout(tmp_path) -> None:
    import multiprocessing
    import os

    from contextos import Tool

    from .tool_bodies import add, fail, spin

    tools = [Tool.from_function(f).model_copy(update={"isolated": True}) for f in (spin, add, fail)]
    executor = ToolExecutor(tools, timeout_s=60, timeouts={"spin": 3})
    pid_file = tmp_path / "pid"
    result = await executor.execute(
        ToolCall.parse("c1", "spin", json.dumps({"pid_file": str(pid_file)}))
    )
    assert result.failure == "timeout"
    deadline = time.monotonic() + 5
    # killed, then reaped
    while any(p.name == "contextos-isolated-tool" for p in multiprocessing.active_children()):
        assert time.monotonic() < deadline, "the isolated tool's process is still running"
        await asyncio.sleep(0.05)
    if pid_file.exists():  # the child got as far as the loop (on a busy machine it may not in 3 s)
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid_file.read_text()), 0)
    assert (await executor.execute(ToolCall.parse("c2", "add", '{"a": 2, "b": 3}'))).content == "5"
    failed = await executor.execute(ToolCall.parse("c3", "fail", '{"message": "no"}'))
    assert failed.failure == "exception" and "ValueError: no" in failed.content
