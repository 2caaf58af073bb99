"""``ToolExecutor``: runs the tool calls a model makes; every failure becomes a result the model reads.

An agent must not crash because a model called a tool badly or a tool broke. An unknown tool name,
arguments that are not JSON (``ToolCall.error``), arguments that fail the tool's JSON Schema, an
exception inside the tool (``SystemExit`` too: a wrapped command line may call ``sys.exit``), a tool
with no implementation, and a timeout each come back as a
``ToolResult`` with ``ok=False`` whose ``content`` says what went wrong and how to retry, so the
model can correct itself on the next step.

```python
executor = ToolExecutor([Tool.from_function(get_weather)], timeout_s=10)
results = await executor.execute_all(completion.tool_calls)
messages += [r.message() for r in results]
```

Sync callables run in a daemon thread of their own (``contextos._deadline``), async ones natively.
A timeout ends the *wait*: the model reads that the tool did not finish and the run goes on. A sync
tool that ignores its timeout cannot be killed; its thread runs on in the background (holding
whatever it holds) until it returns, but it never blocks the event loop, the next model call, other
tools or the end of ``Agent.run()`` (no shared pool to fill, nothing joins it). docs/tools.md says more.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from contextos._deadline import in_daemon_thread
from contextos.errors import ConfigError, DuplicateToolError, InvalidToolError
from contextos.llm.types import ToolCall
from contextos.tools._schema import argument_problem
from contextos.tools.tool import Tool

ToolFailure = Literal[
    "unknown_tool",
    "invalid_json",
    "invalid_arguments",
    "exception",
    "timeout",
    "no_implementation",
    "denied",
]

Fallback = Callable[[Tool, dict[str, Any]], Any | Awaitable[Any]]
"""Runs tools that have no callable of their own (e.g. catalog entries): ``fallback(tool, arguments)``."""


class ToolResult(BaseModel):
    """The outcome of one tool call, as the model will read it."""

    model_config = ConfigDict(frozen=True)

    call_id: str
    """The id of the call this answers."""
    name: str
    """The tool name the model called."""
    content: str
    """The text the model reads: the result serialised (JSON for non-strings), or the error."""
    ok: bool = True
    """False when the call failed; ``failure`` says how."""
    failure: ToolFailure | None = None
    """How it failed: unknown_tool, invalid_json, invalid_arguments, exception, timeout, no_implementation, denied."""
    arguments: dict[str, Any] = {}
    """The arguments the tool ran with (after any hook edited them)."""
    truncated: bool = False
    """True when ``content`` was cut at the executor's size limit."""
    latency_s: float = 0.0
    """Seconds the call took."""

    def message(self) -> dict[str, Any]:
        """The ``tool`` chat message that answers the call."""
        return {
            "role": "tool",
            "tool_call_id": self.call_id,
            "name": self.name,
            "content": self.content,
        }


def error_result(
    call: ToolCall, failure: ToolFailure, text: str, *, latency_s: float = 0.0
) -> ToolResult:
    """A failed call's result: ``Error: <text>`` as the content the model reads."""
    return ToolResult(
        call_id=call.id,
        name=call.name,
        content=f"Error: {text}",
        ok=False,
        failure=failure,
        arguments=call.arguments,
        latency_s=latency_s,
    )


def serialise(value: Any) -> str:
    """A tool's return value as text: strings as they are, anything else as JSON (pydantic models dumped)."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


class ToolExecutor:
    """Runs tool calls with per-tool timeouts and a result size limit.

    ``tools``: tools it can run by name (with a ``fn``). Tools offered for one step only (retrieved
    from a catalog) are passed to ``execute`` as ``offered``; those without a callable run through
    ``fallback`` when one is given, else come back as a ``no_implementation`` error.
    """

    def __init__(
        self,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        *,
        timeout_s: float = 30.0,
        timeouts: Mapping[str, float] | None = None,
        max_result_chars: int = 8_000,
        fallback: Fallback | None = None,
        validate: bool = True,
    ) -> None:
        if not _positive(timeout_s) or not all(_positive(t) for t in (timeouts or {}).values()):
            raise ConfigError(
                f"tool timeouts must be positive numbers of seconds, got {timeout_s!r} and {dict(timeouts or {})!r}"
            )
        if (
            isinstance(max_result_chars, bool)
            or not isinstance(max_result_chars, int)
            or max_result_chars < 100
        ):
            raise ConfigError(
                f"max_result_chars must be a whole number of at least 100, got {max_result_chars!r}"
            )
        self.tools: dict[str, Tool] = {}
        """The tools it runs by name."""
        self.timeout_s = timeout_s
        """Seconds a call may take unless ``timeouts`` names its tool."""
        self.timeouts = dict(timeouts or {})
        """Per-tool timeouts in seconds, by tool name."""
        self.max_result_chars = max_result_chars
        """Results longer than this are cut, with a note saying so."""
        self.fallback = fallback
        """Runs tools without a callable of their own."""
        self.validate = validate
        """Check arguments against each tool's JSON Schema before running it."""
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool | Callable[..., Any]) -> Tool:
        """Register a tool (a plain function is wrapped with ``Tool.from_function``)."""
        if not isinstance(tool, Tool) and not callable(tool):
            raise InvalidToolError(
                f"a tool must be a Tool or a function, got {type(tool).__name__}"
            )
        tool = tool if isinstance(tool, Tool) else Tool.from_function(tool)
        if tool.name in self.tools and self.tools[tool.name] is not tool:
            raise DuplicateToolError(
                f"the executor already has a tool named {tool.name!r}; tool names must be unique"
            )
        self.tools[tool.name] = tool
        return tool

    def lookup(self, name: str, offered: Mapping[str, Tool] | None = None) -> Tool | None:
        """The tool a call names: a registered one first, then one offered this step."""
        return self.tools.get(name) or (offered or {}).get(name)

    async def execute(
        self, call: ToolCall, *, offered: Mapping[str, Tool] | None = None
    ) -> ToolResult:
        """Run one call; never raises for anything the model or the tool did wrong."""
        started = time.perf_counter()
        if call.error is not None:
            return error_result(
                call,
                "invalid_json",
                f"{call.error}. Call {call.name} again with a JSON object as arguments.",
            )
        tool = self.lookup(call.name, offered)
        if tool is None:
            known = sorted({*self.tools, *(offered or {})})
            shown = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
            return error_result(
                call,
                "unknown_tool",
                f"there is no tool named {call.name!r}. Available tools: {shown or 'none'}.",
            )
        timeout = self.timeouts.get(tool.name, self.timeout_s)
        if self.validate:
            problem = await _schema_problem(tool, call.arguments, timeout)
            if problem:
                return error_result(
                    call,
                    "invalid_arguments",
                    f"invalid arguments for {call.name}: {problem}. Fix them and call it again.",
                )
        if tool.fn is None and self.fallback is None:
            return error_result(
                call,
                "no_implementation",
                f"the tool {call.name!r} has no implementation here; answer without it.",
            )
        try:
            value = await asyncio.wait_for(self._run(tool, call.arguments), timeout)
        except TimeoutError:
            return error_result(
                call,
                "timeout",
                f"{call.name} did not finish within {timeout:g} s.",
                latency_s=time.perf_counter() - started,
            )
        except asyncio.CancelledError:
            raise
        except _Exited as exc:
            return error_result(
                call,
                "exception",
                f"{call.name} called sys.exit({exc.code!r}); it did not finish.",
                latency_s=time.perf_counter() - started,
            )
        except Exception as exc:  # the tool's own failure is the model's information, not our crash
            return error_result(
                call,
                "exception",
                f"{call.name} raised {type(exc).__name__}: {exc}",
                latency_s=time.perf_counter() - started,
            )
        text = serialise(value)
        truncated = len(text) > self.max_result_chars
        if truncated:
            text = (
                text[: self.max_result_chars]
                + f"\n[truncated: the result had {len(text):,} characters; showing the first {self.max_result_chars:,}]"
            )
        return ToolResult(
            call_id=call.id,
            name=call.name,
            content=text,
            arguments=call.arguments,
            truncated=truncated,
            latency_s=time.perf_counter() - started,
        )

    async def execute_all(
        self, calls: Iterable[ToolCall], *, offered: Mapping[str, Tool] | None = None
    ) -> list[ToolResult]:
        """Run calls concurrently; results in the order of the calls."""
        return list(await asyncio.gather(*(self.execute(c, offered=offered) for c in calls)))

    async def _run(self, tool: Tool, arguments: dict[str, Any]) -> Any:
        try:
            return await self._call(tool, arguments)
        except SystemExit as exc:  # caught here, inside the task wait_for makes: asyncio re-raises it out of the loop
            raise _Exited(exc.code) from None

    async def _call(self, tool: Tool, arguments: dict[str, Any]) -> Any:
        if tool.fn is not None:
            if inspect.iscoroutinefunction(tool.fn):
                return await tool.fn(**arguments)
            fn = tool.fn
            if tool.isolated:
                from contextos.tools._isolated import run_isolated

                # your function: it must pickle
                return await run_isolated(getattr(fn, "__wrapped__", fn), arguments)
            value = await in_daemon_thread(
                lambda: fn(**arguments), name=f"contextos-tool-{tool.name}"
            )
        else:
            assert self.fallback is not None
            if inspect.iscoroutinefunction(self.fallback):
                return await self.fallback(tool, arguments)
            fallback = self.fallback
            value = await in_daemon_thread(
                lambda: fallback(tool, arguments), name=f"contextos-tool-{tool.name}"
            )
        if inspect.isawaitable(value):
            value = await value
        return value


class _Exited(Exception):
    """A tool called ``sys.exit``; raised instead of ``SystemExit``, which would end the event loop."""

    def __init__(self, code: Any) -> None:
        super().__init__(code)
        self.code = code


def _positive(seconds: Any) -> bool:
    return (
        isinstance(seconds, (int, float))
        and not isinstance(seconds, bool)
        and 0 < seconds < float("inf")
    )


async def _schema_problem(tool: Tool, arguments: dict[str, Any], timeout: float) -> str | None:
    """The first way ``arguments`` break the tool's schema, in words; None when they fit.

    Checked in a thread under the tool's own timeout: a schema from an untrusted catalog must not
    hold the event loop, and no failure of the validator escapes as anything but a problem.
    """
    try:
        return await asyncio.wait_for(
            in_daemon_thread(lambda: argument_problem(tool.parameters, arguments)), timeout
        )
    except TimeoutError:
        return f"checking them against the schema took longer than {timeout:g} s"
    except Exception as exc:  # a schema the validator cannot apply: the call cannot be checked
        return f"the tool's schema could not be applied ({type(exc).__name__}: {str(exc)[:200]})"
