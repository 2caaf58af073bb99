"""agents: the tool-calling loop on the orchestrator, and multi-agent graphs.

- :class:`Agent` (``run`` / ``arun``) returning a :class:`RunResult` of :class:`StepRecord` s; ``output_type``
  for structured output; ``astream`` / ``stream``: the run as typed events (:data:`AgentEvent`)
- :class:`RunLimits`: steps, tokens, cost
- :class:`AgentHooks` and :class:`ToolDecision`: before/after a step, on the assembled context, on a tool call
- :class:`Conversation`: the turns a run keeps (tool calls grouped with their results)
- :class:`AgentGraph` (``contextos.agents.graph``): agents as nodes, handoffs along edges
"""

from __future__ import annotations

from contextos.agents.agent import Agent, RunOptions
from contextos.agents.conversation import Conversation, ConversationStore
from contextos.agents.graph import AgentGraph, GraphResult, Router
from contextos.agents.hooks import AgentHooks, ToolDecision
from contextos.agents.limits import Cancellation, RunLimits
from contextos.agents.result import RunResult, StepRecord, StopReason
from contextos.agents.stream import (
    AgentEvent,
    ContextAssembled,
    ModelToken,
    RunFinished,
    StepFinished,
    StepStarted,
    ToolCalled,
    ToolReturned,
)

__all__ = [
    "Agent",
    "AgentEvent",
    "AgentGraph",
    "AgentHooks",
    "Cancellation",
    "ContextAssembled",
    "Conversation",
    "ConversationStore",
    "GraphResult",
    "ModelToken",
    "Router",
    "RunFinished",
    "RunLimits",
    "RunOptions",
    "RunResult",
    "StepFinished",
    "StepRecord",
    "StepStarted",
    "StopReason",
    "ToolCalled",
    "ToolDecision",
    "ToolReturned",
]
