"""``Agent``: a tool-calling loop on the Orchestrator.

Each step: the orchestrator assembles what the model sees (instructions, conversation, any other
sources such as memory or documents, and the tools: the agent's own and those retrieved from a
catalog with model-written queries), under the budget; the model is called with exactly those
messages and tools; the tools it calls run (``ToolExecutor``: failures become results); the
assistant's tool-call message and its results go into the conversation as one group. The run stops
on a final answer, the step limit, the token or cost limit, or cancellation.

```python
agent = Agent(ModelClient("offline/demo"), instructions="You help with the weather.", tools=[get_weather])
result = agent.run("Will it rain in Oslo?")
result.answer, result.stop_reason, len(result.steps)
```
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from pydantic import ConfigDict, Field

from contextos.agents.conversation import Conversation, ConversationStore
from contextos.agents.hooks import AgentHooks, ToolDecision, call_hook
from contextos.agents.result import RunResult, StepRecord, StopReason, add_usage, cited_ids
from contextos.agents.stream import (
    EMIT,
    AgentEvent,
    ContextAssembled,
    ModelToken,
    StepFinished,
    StepStarted,
    ToolCalled,
    ToolReturned,
    emit,
    iterate_in_thread,
    stream_events,
)
from contextos.agents.structured import OutputSpec
from contextos.agents.tools_source import RunTools, latest_turns
from contextos.checked import CheckedModel
from contextos.compress.default import agent_compressors
from contextos.context.budget import Budget
from contextos.context.counters import counter_for_client
from contextos.context.items import ContextItem, Step
from contextos.context.orchestrator import Orchestrator
from contextos.context.sources import Compressor, ContextSource, InstructionsSource
from contextos.context.tokens import TokenCounter
from contextos.errors import AgentError, BudgetError, ConfigError, ContextOSError
from contextos.llm.affinity import default_session
from contextos.llm.types import Completion, ToolCall, Usage
from contextos.tools.executor import ToolExecutor, ToolResult, error_result
from contextos.tools.query import ToolQueryWriter
from contextos.tools.run_context import RunContext, using_run_context
from contextos.tools.source import LATEST_TURNS, ToolSource
from contextos.tools.tool import Tool, valid_tool_name
from contextos.tracing.attributes import STEP_CITED
from contextos.tracing.conventions import (
    agent_span,
    chat_span,
    record_chat_response,
    record_tool_result,
    step_span,
    tool_span,
)
from contextos.tracing.spans import span as tracing_span

if TYPE_CHECKING:
    from contextos.llm.client import ModelClient
    from contextos.tools.retrieve import ToolRetriever

DEFAULT_INSTRUCTIONS = (
    "You are a helpful assistant. Use the tools offered when they help; when you have what you need, "
    "answer the user directly and concisely."
)
HANDOFF_PREFIX = "transfer_to_"
WARMUP_SPAN = "contextos.warmup"
T = TypeVar("T")


class Cancellation(Protocol):
    """Anything with ``is_set()``: a ``threading.Event`` or an ``asyncio.Event``."""

    def is_set(self) -> bool: ...


class RunLimits(CheckedModel):
    """When a run stops even without a final answer."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    _error: ClassVar[type[ContextOSError]] = ConfigError
    _what: ClassVar[str] = "run limits"

    max_steps: int = Field(default=10, ge=1)
    """Model calls at most."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Stop once the run's prompt plus completion tokens reach this many."""
    max_cost_usd: float | None = Field(default=None, gt=0)
    """Stop once the estimated cost reaches this (needs the prices below)."""
    usd_per_million_input: float = Field(default=0.0, ge=0)
    """Price of a million prompt tokens, for the cost estimate."""
    usd_per_million_output: float = Field(default=0.0, ge=0)
    """Price of a million completion tokens, for the cost estimate."""
    max_seconds: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Stop once the run has taken this long; a step under way then is cut short (and not recorded)."""

    def cost(self, usage: Usage) -> float:
        """The estimated cost of ``usage`` in USD."""
        return (
            usage.prompt_tokens * self.usd_per_million_input
            + usage.completion_tokens * self.usd_per_million_output
        ) / 1e6


class Agent:
    """A tool-calling agent whose context is assembled by an ``Orchestrator`` at every step.

    ``tools``: tools (or plain functions) the agent always offers. ``catalog``: a ``ToolRetriever``
    (or a ``ToolCatalog``) to retrieve ``tool_k`` more tools from at every step, with queries written by
    ``query_writer`` (default: the agent's own model; see ``RunTools``). ``sources``: any other ``ContextSource``
    (memory, documents, demonstrations). ``executor``: runs the calls (default: one over ``tools``).
    ``output_type``: a pydantic model (or any type pydantic validates) the final answer must be: it is parsed
    and validated into ``RunResult.output``, and the model is asked again with the validation errors and
    the JSON-schema response format, up to ``output_retries`` times (``agents/structured.py``).
    ``compressors``: what shortens candidates that do not fit (default: ``agent_compressors``).
    ``counter``: how tokens are counted (default: ``counter_for_client(client, tokenizer=tokenizer)``, the
    model's own tokenizer where known; ``tokenizer``: the served model's folder or ``tokenizer.json``).
    """

    def __init__(
        self,
        client: ModelClient,
        *,
        name: str = "agent",
        instructions: str = DEFAULT_INSTRUCTIONS,
        description: str = "",
        tools: Sequence[Tool | Callable[..., Any]] = (),
        catalog: ToolRetriever | Any | None = None,
        tool_k: int = 5,
        query_writer: ToolQueryWriter | None = None,
        sources: Sequence[ContextSource] = (),
        budget: Budget | None = None,
        executor: ToolExecutor | None = None,
        limits: RunLimits | None = None,
        hooks: Sequence[AgentHooks] = (),
        counter: TokenCounter | None = None,
        tokenizer: str | Path | None = None,
        model_params: Mapping[str, Any] | None = None,
        output_type: type[Any] | None = None,
        output_retries: int = 2,
        compressors: Sequence[Compressor] | None = None,
    ) -> None:
        if limits is not None and not isinstance(limits, RunLimits):
            raise ConfigError(f"limits must be RunLimits(...), got {type(limits).__name__}")
        names = {s.name for s in sources}
        clash = names & {"instructions", "tools", "conversation"}
        if clash:
            raise ConfigError(
                f"sources named {sorted(clash)} are the agent's own; give yours other names"
            )
        self.client = client
        self.name = name
        self.instructions = instructions
        self.description = description or instructions.split(".")[0]
        """What the agent does, in a line (offered to other agents as the handoff tool's description)."""
        self.executor = executor or ToolExecutor()
        self.tools = [self.executor.add(t) for t in tools]
        """The tools offered at every step."""
        if catalog is not None and not hasattr(catalog, "retrieve"):
            catalog = catalog.retriever()  # a ToolCatalog
        self.catalog = catalog
        self.tool_k = tool_k
        self.query_writer = query_writer if query_writer is not None else ToolQueryWriter(client)
        self.sources = list(sources)
        self.budget = budget or Budget(context_window=8192, reserve_output=1024)
        self.limits = limits or RunLimits()
        self.hooks = list(hooks)
        # Counted as the client's model counts: its tokenizer (``tokenizer``: the served model's folder
        # or tokenizer.json), tiktoken for OpenAI models, vLLM's /tokenize as the check (docs/tokens.md).
        self.counter = counter or counter_for_client(client, tokenizer=tokenizer)
        self.model_params = dict(model_params or {})
        self.output = OutputSpec(output_type, output_retries) if output_type is not None else None
        """With ``output_type``: what the final answer must be (``agents/structured.py``)."""
        # By default, where they do not fit: the default compressor on the other sources (documents,
        # memory), digests of old tool results in the conversation. ``[]`` turns compression off.
        self.compressors = (
            list(compressors)
            if compressors is not None
            else agent_compressors([s.name for s in self.sources], counter=self.counter)
        )
        self._warm = False

    # -- public API ---------------------------------------------------------------------------
    def warmup(self) -> None:
        """Load what the first run would otherwise load inside its first spans: the model client's
        library (litellm), the tool catalog's embedder and index. The first run calls it by itself, in a
        ``contextos.warmup`` span of its own, so no step's or model call's latency carries it."""
        client_warmup = getattr(self.client, "warmup", None)
        if callable(client_warmup):
            client_warmup()
        catalog_warmup = getattr(self.catalog, "warmup", None)
        if callable(catalog_warmup):
            catalog_warmup()
        self._warm = True

    def run(self, task: str, **options: Any) -> RunResult:
        """``arun`` for code that is not async (inside a running event loop, ``await agent.arun(...)``)."""
        return run_blocking(
            lambda: self.arun(task, **options), "Agent.run()", "await agent.arun(...)"
        )

    async def arun_stream(self, task: str, **options: Any) -> AsyncIterator[AgentEvent]:
        """``arun`` as an async iterator of typed events (``agents/stream.py``), ``RunFinished`` (with the
        ``RunResult``) last. ``options`` are ``arun``'s."""
        async for event in stream_events(lambda: self.arun(task, **options)):
            yield event

    def stream(self, task: str, **options: Any) -> Iterator[AgentEvent]:
        """``arun_stream`` for code that is not async: the events as a plain iterator."""
        return iterate_in_thread(lambda: self.arun_stream(task, **options))

    async def arun(
        self,
        task: str,
        *,
        conversation: ConversationStore | None = None,
        cancel: Cancellation | None = None,
        max_steps: int | None = None,
        handoffs: Mapping[str, str] | None = None,
        deps: Any = None,
    ) -> RunResult:
        """Run the agent on ``task`` until it answers or a limit stops it.

        ``conversation``: continue an earlier conversation (it is appended to). ``cancel``: checked
        before every step. ``max_steps`` overrides the limits' step count. ``handoffs``: agent names
        (with descriptions) this run may hand over to, offered as ``transfer_to_<name>`` tools. ``deps``: what
        tools that ask for a ``RunContext`` receive as ``ctx.deps`` (a database, a client, a user).
        """
        conversation = conversation if conversation is not None else Conversation()
        await conversation.add(
            ContextItem(
                id=f"task-{uuid.uuid4().hex[:12]}",
                source="conversation",
                role="user",
                content=task,
                pinned=True,
                compressible=False,
            )
        )
        handoff_tools = {_handoff_name(n): (n, d) for n, d in (handoffs or {}).items()}
        retrieval = (
            ToolSource(self.catalog, k=self.tool_k, writer=self.query_writer)
            if self.catalog is not None
            else None
        )
        run_tools = RunTools(
            [*self.tools, *(_handoff_tool(t, n, d) for t, (n, d) in handoff_tools.items())],
            retrieval,
        )
        orchestrator = Orchestrator(
            [InstructionsSource(self._instructions()), run_tools, *self.sources, conversation],
            self.budget,
            counter=self.counter,
            compressors=self.compressors,
        )
        steps: list[StepRecord] = []
        stop: StopReason = "max_steps"
        handoff: str | None = None
        answer: str | None = None
        output: Any = None
        repairs = 0
        stop_message: str | None = None
        with agent_span(self.name, model=self.client.model) as span:
            context = span.get_span_context()
            traced = span.is_recording() and context.is_valid
            run_id = format(context.trace_id, "032x") if traced else uuid.uuid4().hex
            if not self._warm:
                with tracing_span(WARMUP_SPAN):
                    await asyncio.to_thread(self.warmup)
            deadline = (
                None
                if self.limits.max_seconds is None
                else asyncio.get_running_loop().time() + self.limits.max_seconds
            )
            for index in range(max_steps or self.limits.max_steps):
                if cancel is not None and cancel.is_set():
                    stop = "cancelled"
                    break
                usage = add_usage(s.usage for s in steps)
                if (
                    self.limits.max_tokens is not None
                    and usage.total_tokens >= self.limits.max_tokens
                ):
                    stop = "max_tokens"
                    break
                if (
                    self.limits.max_cost_usd is not None
                    and self.limits.cost(usage) >= self.limits.max_cost_usd
                ):
                    stop = "max_cost"
                    break
                step = Step(
                    input=task,
                    index=index,
                    run_id=run_id,
                    metadata={
                        "agent": self.name,
                        LATEST_TURNS: latest_turns(steps[-1] if steps else None),
                    },
                )
                try:
                    async with asyncio.timeout_at(deadline) as window:
                        record, handoff = await self._step(
                            step,
                            orchestrator,
                            run_tools,
                            conversation,
                            handoff_tools,
                            response_format=self.output.response_format() if repairs else None,
                            deps=deps,
                        )
                except TimeoutError:
                    if not window.expired():
                        raise
                    stop = "max_seconds"
                    break
                except (
                    BudgetError
                ) as exc:  # what every request must hold (instructions, task) does not fit
                    stop, stop_message = "context_overflow", str(exc)
                    break
                except ContextOSError as error:  # the caller gets the steps completed before it
                    error.partial = self._partial(steps, run_id, traced)
                    raise
                steps.append(record)
                if record.completion.content:
                    answer = record.completion.content
                if handoff is not None:
                    stop = "handoff"
                    break
                if not record.completion.tool_calls:
                    # Cut at the output limit before writing anything is no answer.
                    if (
                        record.completion.finish_reason == "length"
                        and not record.completion.content
                    ):
                        stop = "output_limit"
                        break
                    stop = "final_answer"
                    if self.output is None:
                        break
                    output, problem = self.output.parse(record.completion.content)
                    if problem is None:
                        break
                    if repairs >= self.output.retries:
                        stop = "invalid_output"
                        break
                    repairs += 1
                    await conversation.add(self.output.repair_message(problem))
                    stop = "max_steps"
            span.set_attributes(
                {"contextos.agent.stop_reason": stop, "contextos.agent.steps": len(steps)}
            )
        usage = add_usage(s.usage for s in steps)
        return RunResult(
            agent=self.name,
            answer=answer,
            output=output,
            steps=steps,
            usage=usage,
            cost_usd=self.limits.cost(usage),
            stop_reason=stop,
            handoff=handoff,
            run_id=run_id,
            traced=traced,
            stop_message=stop_message,
        )

    def _instructions(self) -> str:
        return (
            self.instructions
            if self.output is None
            else f"{self.instructions}\n\n{self.output.instructions()}"
        )

    def _partial(self, steps: list[StepRecord], run_id: str, traced: bool) -> RunResult:
        """What a run that failed had done: its completed steps, stop reason ``error``."""
        usage = add_usage(s.usage for s in steps)
        answer = next((s.completion.content for s in reversed(steps) if s.completion.content), None)
        return RunResult(
            agent=self.name,
            answer=answer,
            steps=list(steps),
            usage=usage,
            cost_usd=self.limits.cost(usage),
            stop_reason="error",
            run_id=run_id,
            traced=traced,
        )

    # -- one step -----------------------------------------------------------------------------
    async def _step(
        self,
        step: Step,
        orchestrator: Orchestrator,
        run_tools: RunTools,
        conversation: ConversationStore,
        handoff_tools: Mapping[str, tuple[str, str]],
        *,
        response_format: dict[str, Any] | None = None,
        deps: Any = None,
    ) -> tuple[StepRecord, str | None]:
        started = time.perf_counter()
        # the run id keeps every model call of the run on one replica (ModelClient.replicas)
        with (
            step_span(step.index, {"gen_ai.agent.name": self.name}) as span,
            default_session(step.run_id),
        ):
            emit(StepStarted, step=step.index)
            for hook in self.hooks:
                await call_hook(hook.before_step, step)
            assembled = await orchestrator.build(step)
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
                results, handoff = await self._run_tools(
                    step, completion.tool_calls, run_tools, handoff_tools, deps
                )
                # The call and its results go in together: the store groups them, never to be split.
                await conversation.add(completion.message(), *(r.message() for r in results))
            elif completion.content is not None:
                await conversation.add(completion.message())
            record = StepRecord(
                index=step.index,
                context=assembled,
                completion=completion,
                tool_calls=completion.tool_calls,
                tool_results=results,
                usage=completion.usage,
                tool_retrieval=run_tools.last,
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
        response_format: dict[str, Any] | None = None,
    ) -> tuple[Completion, float]:
        params = dict(self.model_params)
        if response_format is not None:
            params["response_format"] = response_format
        if self.budget.reserve_output and "max_tokens" not in params:
            params["max_tokens"] = self.budget.reserve_output
        with chat_span(
            self.client.model, messages=messages, tools=tools, params=params, step=step.index
        ) as span:
            t0 = time.perf_counter()
            if EMIT.get() is None:
                completion = await self.client.acomplete(messages, tools=tools or None, **params)
            else:  # a streamed run: the answer token by token
                stream = self.client.astream(messages, tools=tools or None, **params)
                async for text in stream:
                    emit(ModelToken, step=step.index, text=text)
                completion = stream.completion
            model_s = time.perf_counter() - t0
            record_chat_response(
                span,
                response_model=completion.model,
                input_tokens=completion.usage.prompt_tokens,
                output_tokens=completion.usage.completion_tokens,
                finish_reasons=[completion.finish_reason] if completion.finish_reason else (),
                output_messages=[completion.message()],
            )
        return completion, model_s

    async def _run_tools(
        self,
        step: Step,
        calls: Sequence[ToolCall],
        run_tools: RunTools,
        handoff_tools: Mapping[str, tuple[str, str]],
        deps: Any = None,
    ) -> tuple[list[ToolResult], str | None]:
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
            decision = await self._decide(step, call)
            if decision.action == "deny":
                planned.append(
                    error_result(
                        call,
                        "denied",
                        f"the call was denied: {decision.reason or 'no reason given'}",
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
            tool = self.executor.lookup(item.name, run_tools.offered)
            with tool_span(
                item.name,
                call_id=item.id,
                arguments=item.arguments,
                description=tool.description if tool else None,
            ) as span:
                with using_run_context(
                    RunContext(deps=deps, run_id=step.run_id, step=step.index, agent=self.name)
                ):
                    result = await self.executor.execute(item, offered=run_tools.offered)
                record_tool_result(span, result.content)
                if not result.ok:
                    span.set_attribute("error.type", f"tool.{result.failure}")
            emit(ToolReturned, step=step.index, result=result)
            return result

        return list(await asyncio.gather(*(run(p) for p in planned))), handoff

    async def _decide(self, step: Step, call: ToolCall) -> ToolDecision:
        decision = ToolDecision.approve()
        for hook in self.hooks:
            verdict = await call_hook(hook.on_tool_call, step, call)
            if verdict is None or verdict.action == "approve":
                continue
            if verdict.action == "deny":
                return verdict
            decision = verdict
            call = _edited(call, verdict.arguments or {})
        return decision


def run_blocking(start: Callable[[], Coroutine[Any, Any, T]], called: str, instead: str) -> T:
    """Run the coroutine ``start()`` makes to the end, from code that is not async. Inside a running
    event loop that cannot be done; the ``AgentError`` says to use ``instead`` there."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(start())
    raise AgentError(f"{called} was called inside a running event loop; use `{instead}` there")


def _edited(call: ToolCall, arguments: dict[str, Any]) -> ToolCall:
    """``call`` with the arguments a hook gave it: valid JSON now, even where the model's were not."""
    return call.model_copy(
        update={"arguments": arguments, "raw_arguments": json.dumps(arguments), "error": None}
    )


def _handoff_name(agent: str) -> str:
    return valid_tool_name(HANDOFF_PREFIX + agent)


def _handoff_tool(tool_name: str, agent: str, description: str) -> Tool:
    text = f"Hand the conversation over to the agent {agent!r}" + (
        f": {description}" if description else "."
    )
    return Tool(name=tool_name, description=text)
