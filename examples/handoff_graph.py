"""Two agents in a graph with a handoff.

A triage agent answers general questions and hands billing problems to a billing agent, which has
the refund tool. The handoff is a tool the model calls (``transfer_to_billing``), offered along the
graph's edge; both agents share the conversation.

    python examples/handoff_graph.py ["your message"]
"""

from __future__ import annotations

import sys

from _setup import model_client

from contextos.agents import Agent, AgentGraph


def issue_refund(order_id: str) -> str:
    """Issue a refund for an order.

    Args:
        order_id: The order to refund, e.g. "A-1001".
    """
    return f"Refund for order {order_id} issued: 49.90 EUR, back on the card in 3-5 days."


def main() -> None:
    message = (
        sys.argv[1] if len(sys.argv) > 1 else 'I want a refund: order "A-1001" was billed twice.'
    )
    client = model_client()
    triage = Agent(
        client, name="triage", instructions="You route customers: hand billing problems to billing."
    )
    billing = Agent(
        client,
        name="billing",
        instructions="You resolve billing problems with the tools you have.",
        description="refund requests and other billing problems",
        tools=[issue_refund],
    )
    graph = AgentGraph.from_agents(
        [triage, billing], edges=[("triage", "billing")], entry="triage", max_steps=6
    )
    result = graph.run(message)
    for run in result.runs:
        calls = [c.name for s in run.steps for c in s.tool_calls]
        print(
            f"{run.agent}: {len(run.steps)} steps, tool calls {calls}, stopped by {run.stop_reason}"
        )
    print(f"path: {' -> '.join(result.path)}")
    print(f"answer: {result.answer}")


if __name__ == "__main__":
    main()
