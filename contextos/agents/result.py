"""What an agent run returns: ``RunResult`` with one ``StepRecord`` per step."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field

from contextos.context.items import CITE_ID, AssembledContext
from contextos.llm.types import Completion, ToolCall, Usage
from contextos.tools.executor import ToolResult
from contextos.tools.query import ToolRetrieval

StopReason = Literal[
    "final_answer",
    "max_steps",
    "max_tokens",
    "max_cost",
    "cancelled",
    "handoff",
    "context_overflow",
    "invalid_output",
    "max_seconds",
    "output_limit",
    "error",
]
"""Why a run stopped. ``context_overflow``: what must go in every request (the instructions, the task, other
pinned items) does not fit the budget; ``RunResult.stop_message`` says by how much and what to do.
``invalid_output``: with ``output_type``, the last repair still did not validate. ``max_seconds``:
``RunLimits.max_seconds`` passed (a step under way was cut short); ``output_limit``: the model hit its
output limit (finish reason ``length``) before writing anything; ``error``: the run failed (the error's
``partial`` holds this result)."""


class StepRecord(BaseModel):
    """One step of a run: what the model saw, what it answered, which tools ran."""

    index: int
    """The step number within the run, from 0."""
    context: AssembledContext
    """What the model saw and why: messages, tools, one decision per candidate, token usage."""
    completion: Completion
    """The model's answer."""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    """The calls the model made (as made; a hook's edits show in ``tool_results[i].arguments``)."""
    tool_results: list[ToolResult] = Field(default_factory=list)
    """Their results, in the same order."""
    usage: Usage = Field(default_factory=Usage)
    """Tokens of this step's model call."""
    tool_retrieval: ToolRetrieval | None = None
    """The catalog retrieval at this step (queries written, tools found, or ``reused``: the queries repeated
    an earlier step's and its hits were reused); None without a catalog."""
    duration_s: float = 0.0
    """Seconds the whole step took."""
    model_s: float = 0.0
    """Seconds of it spent waiting for the model; the rest is contextos (assembly, tools, tracing)."""
    cited: list[str] = Field(default_factory=list)
    """Ids of the citable context items (playbook bullets) the model's text at this step names."""

    @property
    def overhead_s(self) -> float:
        """Seconds the step spent outside the model call."""
        return max(self.duration_s - self.model_s, 0.0)


class RunResult(BaseModel):
    """The outcome of one agent run."""

    agent: str
    """The agent's name."""
    answer: str | None
    """The final answer (the last text the model wrote; None if it never wrote any)."""
    output: Any = None
    """With ``Agent(output_type=...)``: the final answer parsed and validated into that type (None when the
    run stopped without a valid one: ``stop_reason`` says why, ``invalid_output`` after the last repair)."""
    steps: list[StepRecord] = Field(default_factory=list)
    """Every step, in order."""
    usage: Usage = Field(default_factory=Usage)
    """Tokens of every model call in the run, added up."""
    cost_usd: float = 0.0
    """Estimated cost of those tokens at the run limits' prices (0 when no prices were given)."""
    stop_reason: StopReason
    """Why the run stopped."""
    handoff: str | None = None
    """The agent it handed off to, when ``stop_reason`` is ``handoff``."""
    stop_message: str | None = None
    """Why the run stopped, in words, when a problem stopped it (``context_overflow``: the ``BudgetError``'s message)."""
    run_id: str
    """The run's id: its trace id (32 hex digits) when tracing records, else a random one of the same form."""
    traced: bool = False
    """True when the run was recorded by a tracer (``contextos trace show <run_id>`` shows it)."""


def cited_ids(context: AssembledContext, text: str | None) -> list[str]:
    """The ``metadata["cite_id"]`` ids of ``context``'s items that ``text`` names, in context order."""
    if not text:
        return []
    ids = (item.metadata.get(CITE_ID) for item in context.items)
    return [
        i
        for i in dict.fromkeys(ids)
        if isinstance(i, str) and i and re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text)
    ]


def add_usage(usages: Iterable[Usage]) -> Usage:
    """The sum of several usages."""
    p = c = k = 0
    for u in usages:
        p, c, k = p + u.prompt_tokens, c + u.completion_tokens, k + u.cached_tokens
    return Usage(prompt_tokens=p, completion_tokens=c, cached_tokens=k)
