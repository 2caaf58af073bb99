"""Multi-agent graphs: handoffs chosen by the model and by a router, cycles under a global step limit."""

from __future__ import annotations

import pytest

from contextos import (
    AgentError,
    Budget,
    ConfigError,
    ContextItem,
    RunningLoopError,
    StaticSource,
)
from contextos.agents import Agent, AgentGraph
from contextos.testing import Reply


def agents(client, *names):
    return [
        Agent(client, name=n, instructions=f"You are {n}.", description=f"handles {n} questions")
        for n in names
    ]


def test_model_hands_off_through_a_transfer_tool(server, client):
    def responder(request):
        system = request.messages[0]["content"]
        names = [t["function"]["name"] for t in request.body.get("tools") or []]
        if system.startswith("You are triage"):
            assert names == ["transfer_to_billing"]
            return Reply.tool_call("transfer_to_billing", {})
        return Reply.text("Refund issued.")

    server.responder = responder
    graph = AgentGraph.from_agents(
        agents(client, "triage", "billing"), [("triage", "billing")], entry="triage"
    )
    result = graph.run("I was charged twice.")
    assert result.path == ["triage", "billing"] and result.stop_reason == "final_answer"
    assert result.answer == "Refund issued." and result.runs[0].handoff == "billing"
    billing_request = server.completion_requests()[1].body
    roles = [m["role"] for m in billing_request["messages"]]
    # shared memory: billing sees the handoff
    assert roles == [
        "system",
        "user",
        "assistant",
        "tool",
        "user",
    ]
    assert billing_request["messages"][3]["content"] == "Transferred to billing."
    assert "tools" not in billing_request  # billing has no successors, hence no transfer tools


def test_router_chooses_the_next_agent(server, client):
    server.responder = lambda request: Reply.text(f"answer from {request.messages[0]['content']}")
    router_calls = []

    def router(name, result):
        router_calls.append((name, result.answer))
        return "writer" if name == "researcher" else None

    graph = AgentGraph.from_agents(
        agents(client, "researcher", "writer"),
        [("researcher", "writer")],
        entry="researcher",
        router=router,
        model_handoffs=False,
        shared_memory=False,
    )
    result = graph.run("Summarise the report.")
    assert result.path == ["researcher", "writer"]
    assert router_calls == [
        ("researcher", "answer from You are researcher."),
        ("writer", "answer from You are writer."),
    ]
    writer_messages = server.completion_requests()[1].body["messages"]
    # no shared memory: a fresh conversation
    assert [m["role"] for m in writer_messages] == [
        "system",
        "user",
    ]
    assert "researcher said: answer from You are researcher." in writer_messages[1]["content"]


def test_each_agent_keeps_its_own_budget_and_sources(server, client):
    def facts(name, text):
        return StaticSource(
            "documents", [ContextItem(id=name, source="documents", content=text, score=0.9)]
        )

    server.responder = lambda request: (
        Reply.tool_call("transfer_to_billing", {})
        if request.messages[0]["content"].startswith("You are triage")
        else Reply.text("Refund issued.")
    )
    triage = Agent(
        client,
        name="triage",
        instructions="You are triage.",
        sources=[facts("faq", "Opening hours: 9-17.")],
        budget=Budget(context_window=4096, reserve_output=256),
    )
    billing = Agent(
        client,
        name="billing",
        instructions="You are billing.",
        sources=[facts("prices", "A refund costs nothing.")],
        budget=Budget(context_window=2048, reserve_output=128),
    )
    result = AgentGraph.from_agents([triage, billing], [("triage", "billing")], entry="triage").run(
        "Refund please."
    )
    assert result.path == ["triage", "billing"]
    sent = [str(r.body["messages"]) for r in server.completion_requests()]
    assert "Opening hours" in sent[0] and "refund costs nothing" not in sent[0]
    assert "refund costs nothing" in sent[1] and "Opening hours" not in sent[1]
    assert [run.steps[0].context.usage.budget for run in result.runs] == [4096 - 256, 2048 - 128]


def test_router_may_only_follow_edges(server, client):
    graph = AgentGraph.from_agents(
        agents(client, "a", "b"), [("a", "b")], entry="a", router=lambda name, result: "a"
    )
    with pytest.raises(AgentError, match="not one of its successors"):
        graph.run("hi")


def test_a_cycle_ends_at_the_global_step_limit(server, client):
    server.responder = lambda request: Reply.text("my turn is over")
    graph = AgentGraph.from_agents(
        agents(client, "ping", "pong"),
        [("ping", "pong"), ("pong", "ping")],
        entry="ping",
        router=lambda name, result: "pong" if name == "ping" else "ping",
        model_handoffs=False,
        max_steps=5,
    )
    result = graph.run("Play.")
    assert result.stop_reason == "max_steps" and result.steps == 5
    assert result.path == ["ping", "pong", "ping", "pong", "ping"]
    assert len(server.completion_requests()) == 5


def test_a_step_limit_inside_an_agent_counts_against_the_graph(server, client):
    server.responder = lambda request: (
        Reply.tool_call("transfer_to_b", {})
        if request.messages[0]["content"] == "You are a."
        else Reply.tool_call("missing_tool", {})
    )
    graph = AgentGraph.from_agents(agents(client, "a", "b"), [("a", "b")], entry="a", max_steps=4)
    result = graph.run("go")
    assert result.path == ["a", "b"] and result.steps == 4 and result.stop_reason == "max_steps"


def test_graph_configuration_errors(client):
    a, b = agents(client, "a", "b")
    with pytest.raises(ConfigError, match="unknown agents"):
        AgentGraph.from_agents([a], [("a", "zzz")], entry="a")
    with pytest.raises(ConfigError, match="entry agent"):
        AgentGraph.from_agents([a, b], [], entry="c")
    with pytest.raises(ConfigError, match="unique"):
        AgentGraph.from_agents([a, a], [], entry="a")


async def test_run_inside_an_event_loop_points_to_arun(client):
    graph = AgentGraph.from_agents(agents(client, "a"), [], entry="a")
    with pytest.raises(RunningLoopError, match=r"await graph.arun"):
        graph.run("hi")
