"""Multi-agent graphs: agents as nodes of a networkx ``DiGraph``, handoffs along its edges.

A handoff happens two ways. The model chooses: each agent is offered a ``transfer_to_<name>`` tool
for every successor, and calling one ends its turn and passes the conversation on. Or a router
chooses: ``router(agent_name, result)`` returns the next agent (a successor) or None to finish.
Each agent keeps its own instructions, budget and sources; with ``shared_memory`` (the default) they
all read and append to one conversation, otherwise each starts fresh with the task and the previous
agent's answer. Cycles are allowed: ``max_steps`` bounds the model calls of the whole run.

```python
graph = AgentGraph.from_agents([triage, billing], edges=[("triage", "billing")], entry="triage")
result = graph.run("I was charged twice for my order")
result.path            # ["triage", "billing"]
```
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Literal

import networkx as nx
from pydantic import BaseModel, Field

from contextos.agents.agent import Agent
from contextos.agents.conversation import Conversation, ConversationStore
from contextos.agents.limits import Cancellation
from contextos.agents.result import RunResult, add_usage
from contextos.blocking import run_blocking
from contextos.errors import AgentError, ConfigError
from contextos.llm.types import Usage
from contextos.tracing.conventions import run_span

Router = Callable[[str, RunResult], "str | None"]
"""``router(agent_name, result) -> next agent name`` (a successor in the graph) or None to finish."""


class GraphResult(BaseModel):
    """The outcome of a graph run."""

    answer: str | None
    """The last agent's answer."""
    path: list[str]
    """The agents that ran, in order (an agent appears again each time a cycle returns to it)."""
    runs: list[RunResult] = Field(default_factory=list)
    """Each agent's run, in the same order."""
    stop_reason: Literal[
        "final_answer", "max_steps", "max_tokens", "max_cost", "cancelled", "context_overflow"
    ]
    """Why the graph run stopped."""
    usage: Usage = Field(default_factory=Usage)
    """Tokens of every model call, added up."""

    @property
    def steps(self) -> int:
        """Model calls made by all agents together."""
        return sum(len(r.steps) for r in self.runs)


class AgentGraph:
    """Agents wired by a directed graph; see the module docstring."""

    def __init__(
        self,
        graph: nx.DiGraph,
        *,
        entry: str,
        router: Router | None = None,
        model_handoffs: bool = True,
        shared_memory: bool = True,
        max_steps: int = 20,
    ) -> None:
        for node, data in graph.nodes(data=True):
            if not isinstance(data.get("agent"), Agent):
                raise ConfigError(
                    f"graph node {node!r} has no agent: add nodes with graph.add_node(name, agent=Agent(...))"
                )
            if data["agent"].name != node:
                raise ConfigError(
                    f"graph node {node!r} holds the agent named {data['agent'].name!r}; name nodes after their agents"
                )
        if entry not in graph:
            raise ConfigError(
                f"the entry agent {entry!r} is not in the graph; agents: {sorted(graph.nodes)}"
            )
        if max_steps < 1:
            raise ConfigError("max_steps must be at least 1")
        self.graph = graph
        self.entry = entry
        self.router = router
        """Picks the next agent after a turn that did not hand off by itself."""
        self.model_handoffs = model_handoffs
        """Offer each agent ``transfer_to_<successor>`` tools."""
        self.shared_memory = shared_memory
        """All agents share one conversation."""
        self.max_steps = max_steps
        """Model calls allowed for the whole run, across agents (cycles end here)."""

    @classmethod
    def from_agents(
        cls,
        agents: Iterable[Agent],
        edges: Iterable[tuple[str, str]],
        *,
        entry: str,
        **options: object,
    ) -> AgentGraph:
        """A graph of ``agents`` (nodes named after them) with handoff ``edges``."""
        graph = nx.DiGraph()
        for agent in agents:
            if agent.name in graph:
                raise ConfigError(
                    f"two agents are named {agent.name!r}; agent names must be unique in a graph"
                )
            graph.add_node(agent.name, agent=agent)
        for a, b in edges:
            missing = [n for n in (a, b) if n not in graph]
            if missing:
                raise ConfigError(
                    f"edge ({a!r}, {b!r}) names unknown agents {missing}; agents: {sorted(graph.nodes)}"
                )
            graph.add_edge(a, b)
        return cls(graph, entry=entry, **options)  # type: ignore[arg-type]

    def agent(self, name: str) -> Agent:
        """The agent at node ``name``."""
        agent: Agent = self.graph.nodes[name]["agent"]
        return agent

    def run(
        self,
        task: str,
        *,
        conversation: ConversationStore | None = None,
        cancel: Cancellation | None = None,
    ) -> GraphResult:
        """``arun`` for code that is not async (inside a running event loop, ``await graph.arun(...)``)."""
        return run_blocking(
            lambda: self.arun(task, conversation=conversation, cancel=cancel),
            "AgentGraph.run()",
            "await graph.arun(...)",
        )

    async def arun(
        self,
        task: str,
        *,
        conversation: ConversationStore | None = None,
        cancel: Cancellation | None = None,
    ) -> GraphResult:
        """Run from the entry agent until an agent answers without handing off, or ``max_steps``."""
        shared = conversation if conversation is not None else Conversation()
        runs: list[RunResult] = []
        current, message = self.entry, task
        stop: str = "max_steps"
        with run_span(
            "agent_graph",
            {
                "contextos.graph.entry": self.entry,
                "contextos.graph.agents": sorted(self.graph.nodes),
            },
        ):
            while True:
                remaining = self.max_steps - sum(len(r.steps) for r in runs)
                if remaining <= 0:
                    stop = "max_steps"
                    break
                successors = list(self.graph.successors(current))
                handoffs = (
                    {n: self.agent(n).description for n in successors}
                    if self.model_handoffs
                    else {}
                )
                memory = shared if self.shared_memory else Conversation()
                result = await self.agent(current).arun(
                    message,
                    conversation=memory,
                    cancel=cancel,
                    max_steps=remaining,
                    handoffs=handoffs,
                )
                runs.append(result)
                if result.stop_reason == "handoff" and result.handoff is not None:
                    following = result.handoff
                elif result.stop_reason != "final_answer":
                    stop = result.stop_reason
                    break
                else:
                    routed = self.router(current, result) if self.router is not None else None
                    if routed is None:
                        stop = "final_answer"
                        break
                    if routed not in successors:
                        raise AgentError(
                            f"the router sent {current!r} to {routed!r}, which is not one of its successors {successors}; "
                            "add that edge to the graph or fix the router"
                        )
                    following = routed
                message = _handover(task, current, result, shared=self.shared_memory)
                current = following
        answer = next((r.answer for r in reversed(runs) if r.answer), None)
        return GraphResult(
            answer=answer,
            path=[r.agent for r in runs],
            runs=runs,
            stop_reason=stop,
            usage=add_usage(r.usage for r in runs),
        )


def _handover(task: str, previous: str, result: RunResult, *, shared: bool) -> str:
    """The request the next agent receives."""
    note = f"The agent {previous} handed this conversation over to you. The user's request: {task}"
    if not shared and result.answer:
        note += f"\n{previous} said: {result.answer}"
    return note


__all__: Sequence[str] = ["AgentGraph", "GraphResult", "Router"]
