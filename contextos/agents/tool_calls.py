"""The tool calls of one step: handoffs answered, hooks asked (approve, edit, deny), the rest run
concurrently, each in an ``execute_tool`` span; every call gets a result the model will read."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

from contextos.agents.hooks import AgentHooks, ToolDecision, call_hook
from contextos.agents.stream import ToolCalled, ToolReturned, emit
from contextos.context.items import Step
from contextos.llm.types import ToolCall
from contextos.tools.executor import ToolExecutor, ToolResult, error_result
from contextos.tools.run_context import RunContext, using_run_context
from contextos.tools.tool import Tool
from contextos.tracing.conventions import record_tool_result, tool_span


async def run_tool_calls(
    step: Step,
    calls: Sequence[ToolCall],
    *,
    agent: str,
    executor: ToolExecutor,
    offered: Mapping[str, Tool],
    hooks: Sequence[AgentHooks],
    handoff_tools: Mapping[str, tuple[str, str]],
    deps: Any = None,
) -> tuple[list[ToolResult], str | None]:
    """The results of ``calls``, in order, and the agent the first handoff call named (or None)."""
    handoff: str | None = None
    planned: list[ToolCall | ToolResult] = []
    for call in calls:
        if call.name in handoff_tools and handoff is None:
            handoff = handoff_tools[call.name][0]
            planned.append(
                ToolResult(
                    call_id=call.id,
                    name=call.name,
                    content=f"Transferred to {handoff}.",
                    arguments=call.arguments,
                )
            )
            continue
        decision = await _decide(hooks, step, call)
        if decision.action == "deny":
            planned.append(
                error_result(
                    call, "denied", f"the call was denied: {decision.reason or 'no reason given'}"
                )
            )
        elif decision.action == "edit" and decision.arguments is not None:
            planned.append(_edited(call, decision.arguments))
        else:
            planned.append(call)

    async def run(item: ToolCall | ToolResult) -> ToolResult:
        if isinstance(item, ToolResult):
            emit(ToolReturned, step=step.index, result=item)
            return item
        emit(ToolCalled, step=step.index, call=item)
        tool = executor.lookup(item.name, offered)
        with tool_span(
            item.name,
            call_id=item.id,
            arguments=item.arguments,
            description=tool.description if tool else None,
        ) as span:
            with using_run_context(
                RunContext(deps=deps, run_id=step.run_id, step=step.index, agent=agent)
            ):
                result = await executor.execute(item, offered=offered)
            record_tool_result(span, result.content)
            if not result.ok:
                span.set_attribute("error.type", f"tool.{result.failure}")
        emit(ToolReturned, step=step.index, result=result)
        return result

    return list(await asyncio.gather(*(run(p) for p in planned))), handoff


async def _decide(hooks: Sequence[AgentHooks], step: Step, call: ToolCall) -> ToolDecision:
    """What the hooks say about ``call``: the first denial, else the last edit, else approval."""
    decision = ToolDecision.approve()
    for hook in hooks:
        verdict: ToolDecision | None = await call_hook(hook.on_tool_call, step, call)
        if verdict is None or verdict.action == "approve":
            continue
        if verdict.action == "deny":
            return verdict
        decision = verdict
        call = _edited(call, verdict.arguments or {})
    return decision


def _edited(call: ToolCall, arguments: dict[str, Any]) -> ToolCall:
    """``call`` with the arguments a hook gave it: valid JSON now, even where the model's were not."""
    return call.model_copy(
        update={"arguments": arguments, "raw_arguments": json.dumps(arguments), "error": None}
    )
