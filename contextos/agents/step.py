"""One step of an agent run: assemble the context, call the model with exactly it, run the tools it
calls, and put the call with its results into the conversation as one group."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contextos.agents._tools_source import RunTools
from contextos.agents.conversation import ConversationStore
from contextos.agents.hooks import AgentHooks, call_hook
from contextos.agents.result import StepRecord, cited_ids
from contextos.agents.stream import (
    EMIT,
    ContextAssembled,
    ModelToken,
    StepFinished,
    StepStarted,
    emit,
)
from contextos.agents.tool_calls import run_tool_calls
from contextos.context.items import Step
from contextos.context.orchestrator import Orchestrator
from contextos.llm.affinity import default_session
from contextos.llm.protocol import ChatModel
from contextos.llm.types import Completion
from contextos.tools.executor import ToolExecutor, ToolResult
from contextos.tracing._attributes import STEP_CITED
from contextos.tracing.conventions import chat_span, record_completion, step_span


@dataclass
class StepRunner:
    """What the steps of one run share: the agent's model, hooks and executor, and the run's
    orchestrator, tools, conversation, handoffs and ``deps``."""

    agent: str
    model: ChatModel
    model_params: Mapping[str, Any]
    max_output_tokens: int
    hooks: Sequence[AgentHooks]
    executor: ToolExecutor
    orchestrator: Orchestrator
    run_tools: RunTools
    conversation: ConversationStore
    handoff_tools: Mapping[str, tuple[str, str]]
    deps: Any = None

    async def step(
        self, step: Step, *, response_format: dict[str, Any] | None = None
    ) -> tuple[StepRecord, str | None]:
        """Run ``step``: its record, and the agent a handoff call named (or None)."""
        started = time.perf_counter()
        # the run id keeps every model call of the run on one replica (ModelClient.replicas)
        with (
            step_span(step.index, {"gen_ai.agent.name": self.agent}) as span,
            default_session(step.run_id),
        ):
            emit(StepStarted, step=step.index)
            for hook in self.hooks:
                await call_hook(hook.before_step, step)
            assembled = await self.orchestrator.build(step)
            for hook in self.hooks:
                edited = await call_hook(hook.on_context, step, assembled)
                if edited is not None:
                    assembled = edited
            emit(
                ContextAssembled,
                step=step.index,
                request_tokens=assembled.usage.request_tokens,
                budget=assembled.usage.budget,
                decisions=assembled.decisions,
            )
            completion, model_s = await self._call_model(
                step, assembled.messages, assembled.tools, response_format
            )
            results: list[ToolResult] = []
            handoff = None
            if completion.tool_calls:
                results, handoff = await run_tool_calls(
                    step,
                    completion.tool_calls,
                    agent=self.agent,
                    executor=self.executor,
                    offered=self.run_tools.offered,
                    hooks=self.hooks,
                    handoff_tools=self.handoff_tools,
                    deps=self.deps,
                )
                # The call and its results go in together: the store groups them, never to be split.
                await self.conversation.add(completion.message(), *(r.message() for r in results))
            elif completion.content is not None:
                await self.conversation.add(completion.message())
            record = StepRecord(
                index=step.index,
                context=assembled,
                completion=completion,
                tool_calls=completion.tool_calls,
                tool_results=results,
                usage=completion.usage,
                tool_retrieval=self.run_tools.last,
                duration_s=time.perf_counter() - started,
                model_s=model_s,
                cited=cited_ids(assembled, completion.content),
            )
            if record.cited:
                span.set_attribute(STEP_CITED, record.cited)
            for hook in self.hooks:
                await call_hook(hook.after_step, record)
            emit(StepFinished, step=step.index, record=record)
        return record, handoff

    async def _call_model(
        self,
        step: Step,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        response_format: dict[str, Any] | None,
    ) -> tuple[Completion, float]:
        params = dict(self.model_params)
        if response_format is not None:
            params["response_format"] = response_format
        if self.max_output_tokens and "max_tokens" not in params:
            params["max_tokens"] = self.max_output_tokens
        with chat_span(
            self.model.model, messages=messages, tools=tools, params=params, step=step.index
        ) as span:
            t0 = time.perf_counter()
            if EMIT.get() is None:
                completion = await self.model.acomplete(messages, tools=tools or None, **params)
            else:  # a streamed run: the answer token by token
                stream = self.model.astream(messages, tools=tools or None, **params)
                async for text in stream:
                    emit(ModelToken, step=step.index, text=text)
                completion = stream.completion
            model_s = time.perf_counter() - t0
            record_completion(span, completion)
        return completion, model_s
