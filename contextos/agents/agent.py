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
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypedDict, Unpack, runtime_checkable

from contextos.agents._structured import OutputSpec
from contextos.agents._tools_source import RunTools, latest_turns
from contextos.agents.conversation import Conversation, ConversationStore
from contextos.agents.handoff import handoff_tool, handoff_tools
from contextos.agents.hooks import AgentHooks
from contextos.agents.limits import Cancellation, RunLimits
from contextos.agents.result import RunResult, StepRecord, StopReason, add_usage
from contextos.agents.step import StepRunner
from contextos.agents.stream import AgentEvent, iterate_in_thread, stream_events
from contextos.blocking import run_blocking
from contextos.compress.default import agent_compressors
from contextos.context.budget import Budget
from contextos.context.counters import counter_for_client
from contextos.context.items import ContextItem, Step
from contextos.context.orchestrator import Orchestrator
from contextos.context.source_names import AGENT_SOURCES, CONVERSATION
from contextos.context.sources import Compressor, ContextSource, InstructionsSource
from contextos.context.tokens import TokenCounter
from contextos.errors import BudgetError, ConfigError, ContextOSError
from contextos.llm.protocol import ChatModel
from contextos.tools.catalog import ToolCatalog
from contextos.tools.executor import ToolExecutor
from contextos.tools.query import ToolQueryWriter
from contextos.tools.retrieve import ToolRetriever
from contextos.tools.source import LATEST_TURNS, ToolSource
from contextos.tools.tool import Tool
from contextos.tracing.conventions import agent_span
from contextos.tracing.spans import span as tracing_span

DEFAULT_INSTRUCTIONS = (
    "You are a helpful assistant. Use the tools offered when they help; when you have what you need, "
    "answer the user directly and concisely."
)
WARMUP_SPAN = "contextos.warmup"


class RunOptions(TypedDict, total=False):
    """The options of a run, ``arun``'s keyword parameters: its twins (``run``, ``astream``,
    ``stream``) take them as ``**options`` (``tests/test_sync_twins.py`` keeps the two the same)."""

    conversation: ConversationStore | None
    """Continue an earlier conversation (it is appended to)."""
    cancel: Cancellation | None
    """Checked before every step."""
    max_steps: int | None
    """Overrides the limits' step count."""
    handoffs: Mapping[str, str] | None
    """Agent names (with descriptions) this run may hand over to."""
    deps: Any
    """What tools that ask for a ``RunContext`` receive as ``ctx.deps``."""


@runtime_checkable
class WarmsUp(Protocol):
    """A model or retriever that can load ahead what its first call would load (``warmup()``)."""

    def warmup(self) -> None: ...


class Agent:
    """A tool-calling agent whose context is assembled by an ``Orchestrator`` at every step.

    ``model``: any ``ChatModel`` (``ModelClient`` in production, ``contextos.testing.ScriptedModel``
    in tests). ``tools``: tools (or plain functions) the agent always offers. ``catalog``: a
    ``ToolRetriever`` (or a ``ToolCatalog``, retrieved from with its default retriever) to retrieve
    ``tool_k`` more tools from at every step, with queries written by ``query_writer`` (default: the
    agent's own model; see ``RunTools``). ``sources``: any other ``ContextSource`` (memory, documents,
    demonstrations). ``executor``: runs the calls (default: one over ``tools``).
    ``output_type``: a pydantic model (or any type pydantic validates) the final answer must be: it is parsed
    and validated into ``RunResult.output``, and the model is asked again with the validation errors and
    the JSON-schema response format, up to ``output_retries`` times (``agents/_structured.py``).
    ``compressors``: what shortens candidates that do not fit (default: ``agent_compressors``).
    ``counter``: how tokens are counted (default: ``counter_for_client(model, tokenizer=tokenizer)``, the
    model's own tokenizer where known; ``tokenizer``: the served model's folder or ``tokenizer.json``).
    """

    def __init__(
        self,
        model: ChatModel,
        *,
        name: str = "agent",
        instructions: str = DEFAULT_INSTRUCTIONS,
        description: str = "",
        tools: Sequence[Tool | Callable[..., Any]] = (),
        catalog: ToolRetriever | ToolCatalog | None = None,
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
        if not isinstance(model, ChatModel):
            raise ConfigError(
                f"model must be a ChatModel (ModelClient(...), ScriptedModel(...)), got {type(model).__name__}"
            )
        if limits is not None and not isinstance(limits, RunLimits):
            raise ConfigError(f"limits must be RunLimits(...), got {type(limits).__name__}")
        clash = {s.name for s in sources} & AGENT_SOURCES
        if clash:
            raise ConfigError(
                f"sources named {sorted(clash)} are the agent's own; give yours other names"
            )
        self.model = model
        self.name = name
        self.instructions = instructions
        self.description = description or instructions.split(".")[0]
        """What the agent does, in a line (offered to other agents as the handoff tool's description)."""
        self.executor = executor or ToolExecutor()
        self.tools = [self.executor.add(t) for t in tools]
        """The tools offered at every step."""
        self.catalog = _retriever(catalog)
        """Where the tools offered beyond ``tools`` are retrieved from (None: nowhere)."""
        self.tool_k = tool_k
        self.query_writer = query_writer if query_writer is not None else ToolQueryWriter(model)
        self.sources = list(sources)
        self.budget = budget or Budget(context_window=8192, reserve_output=1024)
        self.limits = limits or RunLimits()
        self.hooks = list(hooks)
        # Counted as the model counts: its tokenizer (``tokenizer``: the served model's folder or
        # tokenizer.json), tiktoken for OpenAI models, vLLM's /tokenize as the check (docs/tokens.md).
        self.counter = counter or counter_for_client(model, tokenizer=tokenizer)
        self.model_params = dict(model_params or {})
        self.output = OutputSpec(output_type, output_retries) if output_type is not None else None
        """With ``output_type``: what the final answer must be (``agents/_structured.py``)."""
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
        for part in (self.model, self.catalog):
            if isinstance(part, WarmsUp):
                part.warmup()
        self._warm = True

    def run(self, task: str, **options: Unpack[RunOptions]) -> RunResult:
        """``arun`` for code that is not async (inside a running event loop, ``await agent.arun(...)``)."""
        return run_blocking(
            lambda: self.arun(task, **options), "Agent.run()", "await agent.arun(...)"
        )

    async def astream(self, task: str, **options: Unpack[RunOptions]) -> AsyncIterator[AgentEvent]:
        """``arun`` as an async iterator of typed events (``agents/stream.py``), ``RunFinished`` (with the
        ``RunResult``) last. The options are ``arun``'s."""
        async for event in stream_events(lambda: self.arun(task, **options)):
            yield event

    arun_stream = astream
    """The name ``astream`` had before (docs and code written against it keep working)."""

    def stream(self, task: str, **options: Unpack[RunOptions]) -> Iterator[AgentEvent]:
        """``astream`` for code that is not async: the events as a plain iterator."""
        return iterate_in_thread(lambda: self.astream(task, **options))

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
                source=CONVERSATION,
                role="user",
                content=task,
                pinned=True,
                compressible=False,
            )
        )
        runner = self._runner(conversation, handoff_tools(handoffs), deps)
        steps: list[StepRecord] = []
        stop: StopReason = "max_steps"
        handoff: str | None = None
        answer: str | None = None
        output: Any = None
        repairs = 0
        stop_message: str | None = None
        with agent_span(self.name, model=self.model.model) as span:
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
                spent = self.limits.spent(add_usage(s.usage for s in steps))
                if spent is not None:
                    stop = spent
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
                response_format = (
                    self.output.response_format() if self.output is not None and repairs else None
                )
                try:
                    async with asyncio.timeout_at(deadline) as window:
                        record, handoff = await runner.step(step, response_format=response_format)
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

    # -- one run's parts ----------------------------------------------------------------------
    def _runner(
        self,
        conversation: ConversationStore,
        handoffs: Mapping[str, tuple[str, str]],
        deps: Any,
    ) -> StepRunner:
        """The steps of one run: its tools (the agent's, its handoffs', the catalog's) and orchestrator."""
        retrieval = (
            ToolSource(self.catalog, k=self.tool_k, writer=self.query_writer)
            if self.catalog is not None
            else None
        )
        run_tools = RunTools(
            [*self.tools, *(handoff_tool(t, n, d) for t, (n, d) in handoffs.items())], retrieval
        )
        orchestrator = Orchestrator(
            [InstructionsSource(self._instructions()), run_tools, *self.sources, conversation],
            self.budget,
            counter=self.counter,
            compressors=self.compressors,
        )
        return StepRunner(
            agent=self.name,
            model=self.model,
            model_params=self.model_params,
            max_output_tokens=self.budget.reserve_output,
            hooks=self.hooks,
            executor=self.executor,
            orchestrator=orchestrator,
            run_tools=run_tools,
            conversation=conversation,
            handoff_tools=handoffs,
            deps=deps,
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


def _retriever(catalog: ToolRetriever | ToolCatalog | None) -> ToolRetriever | None:
    """The retriever an agent takes tools from: ``catalog`` itself, or a ``ToolCatalog``'s default one."""
    if catalog is None or isinstance(catalog, ToolRetriever):
        return catalog
    if isinstance(catalog, ToolCatalog):
        return catalog.retriever()
    raise ConfigError(
        f"catalog must be a ToolCatalog or a ToolRetriever (with retrieve(queries, k)), "
        f"got {type(catalog).__name__}"
    )
