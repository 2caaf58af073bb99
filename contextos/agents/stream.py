"""Streaming an agent run: typed events as they happen (``Agent.astream`` / ``Agent.stream``).

```python
async for event in agent.astream("Weather in Oslo?"):
    if isinstance(event, ModelToken):
        print(event.text, end="", flush=True)
    elif isinstance(event, RunFinished):
        result = event.result
```

The run emits, in order: ``StepStarted``, ``ContextAssembled`` (with every decision), ``ModelToken``s
(the model's answer streamed), ``ToolCalled`` and ``ToolReturned`` per call, ``StepFinished``; and
``RunFinished`` with the ``RunResult`` last. Events travel through a context variable, so a run that is
not streamed pays one lookup per step and nothing else.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextvars import ContextVar
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from contextos.agents.result import RunResult, StepRecord
from contextos.context.items import ContextDecision
from contextos.llm.types import ToolCall
from contextos.tools.executor import ToolResult


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)


class _StepEvent(_Event):
    step: int
    """The step's index."""


class StepStarted(_StepEvent):
    """A step begins (before its context is assembled)."""

    kind: Literal["step_started"] = "step_started"


class ContextAssembled(_StepEvent):
    """The step's context is assembled: what goes to the model, and why."""

    kind: Literal["context_assembled"] = "context_assembled"
    request_tokens: int
    """Tokens of the assembled request."""
    budget: int
    """Tokens the request may use."""
    decisions: list[ContextDecision]
    """One decision per candidate item."""


class ModelToken(_StepEvent):
    """A piece of the model's answer text, as it streams."""

    kind: Literal["model_token"] = "model_token"
    text: str
    """The new text."""


class ToolCalled(_StepEvent):
    """The model called a tool (emitted before it runs)."""

    kind: Literal["tool_called"] = "tool_called"
    call: ToolCall
    """The call as the model made it."""


class ToolReturned(_StepEvent):
    """A tool call finished (its result, or the error the model will read)."""

    kind: Literal["tool_returned"] = "tool_returned"
    result: ToolResult
    """What the model will read."""


class StepFinished(_StepEvent):
    """A step is done."""

    kind: Literal["step_finished"] = "step_finished"
    record: StepRecord
    """Everything about the step."""


class RunFinished(_Event):
    """The run is done; always the last event."""

    kind: Literal["run_finished"] = "run_finished"
    result: RunResult
    """The run's result."""


AgentEvent = (
    StepStarted
    | ContextAssembled
    | ModelToken
    | ToolCalled
    | ToolReturned
    | StepFinished
    | RunFinished
)
"""Any event of a streamed run."""

EMIT: ContextVar[Callable[[AgentEvent], None] | None] = ContextVar(
    "contextos_agent_events", default=None
)
"""Where the running agent sends its events (None: the run is not streamed)."""


def emit(event_type: type[_Event], **fields: Any) -> None:
    """Send an event to the stream of the current run, if it is streamed."""
    send = EMIT.get()
    if send is not None:
        send(event_type(**fields))  # type: ignore[arg-type]


async def stream_events(
    run: Callable[[], Coroutine[Any, Any, RunResult]],
) -> AsyncIterator[AgentEvent]:
    """The events of ``run()`` as they happen, ``RunFinished`` last; its exception, if it fails, after
    the events before it."""
    queue: asyncio.Queue[AgentEvent | BaseException | None] = asyncio.Queue()

    async def produce() -> None:
        token = EMIT.set(queue.put_nowait)
        try:
            result = await run()
            queue.put_nowait(RunFinished(result=result))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            queue.put_nowait(exc)
        finally:
            EMIT.reset(token)
            queue.put_nowait(None)

    task = asyncio.create_task(produce())
    try:
        while True:
            item = await queue.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def iterate_in_thread(events: Callable[[], AsyncIterator[AgentEvent]]) -> Iterator[AgentEvent]:
    """The async iterator ``events()`` consumed on an event loop of its own thread, for code that is not async."""
    import queue as queues

    handoff: queues.Queue[AgentEvent | BaseException | None] = queues.Queue()

    def consume() -> None:
        async def drain() -> None:
            async for event in events():
                handoff.put(event)

        try:
            asyncio.run(drain())
        except BaseException as exc:  # re-raised in the caller's thread
            handoff.put(exc)
        finally:
            handoff.put(None)

    thread = threading.Thread(target=consume, name="contextos-agent-stream", daemon=True)
    thread.start()
    while True:
        item = handoff.get()
        if item is None:
            break
        if isinstance(item, BaseException):
            raise item
        yield item
    thread.join()
