"""The agent loop against a fake vLLM server (real HTTP) and the offline backend."""

from __future__ import annotations

import asyncio
import threading
from itertools import pairwise

import pytest

from contextos import Budget, ContextItem, StaticSource, TiktokenCounter, shared_prefix_tokens
from contextos.agents import Agent, AgentHooks, Conversation, RunLimits, ToolDecision
from contextos.llm import ModelClient
from contextos.testing import Reply
from contextos.tools import Tool
from contextos.tools.executor import ToolExecutor
from tests.agents.conftest import get_weather, make_client, tool_then_answer


def test_tool_call_then_answer_sends_exactly_the_assembled_context(server, client):
    server.responder = tool_then_answer
    result = Agent(client, tools=[get_weather]).run("Weather in Oslo?")
    assert result.stop_reason == "final_answer"
    assert result.answer == "It says: Sunny in Oslo, 21 C"
    requests = server.completion_requests()
    assert len(requests) == len(result.steps) == 2
    for request, step in zip(requests, result.steps):
        # litellm leaves out content=None
        assert request.body["messages"] == without_none(step.context.messages)
        assert request.body["tools"] == step.context.tools
    first, second = result.steps
    assert first.tool_results[0].content == "Sunny in Oslo, 21 C"
    call_message, tool_message = second.context.messages[-2:]
    assert call_message["tool_calls"][0]["function"]["name"] == "get_weather"
    assert tool_message == {
        "role": "tool",
        "tool_call_id": call_message["tool_calls"][0]["id"],
        "name": "get_weather",
        "content": "Sunny in Oslo, 21 C",
    }
    assert result.usage.prompt_tokens == sum(s.usage.prompt_tokens for s in result.steps) > 0
    assert len(result.run_id) == 32


def without_none(messages: list[dict]) -> list[dict]:
    return [{k: v for k, v in m.items() if v is not None} for m in messages]


def failing_tools_agent(client: ModelClient) -> Agent:
    def explode(reason: str) -> str:
        """Fails on purpose."""
        raise ValueError(reason)

    async def hang() -> str:
        """Never answers in time."""
        await asyncio.sleep(10)
        return "late"

    return Agent(
        client,
        tools=[get_weather, explode, hang],
        executor=ToolExecutor(timeout_s=0.2),
        limits=RunLimits(max_steps=10),
    )


def test_every_tool_failure_reaches_the_model_and_the_run_goes_on(server, client):
    server.enqueue(
        Reply.tool_call("no_such_tool", {}),
        Reply.invalid_tool_arguments("get_weather"),
        Reply.tool_call("get_weather", {"town": "Oslo"}),
        Reply.tool_call("explode", {"reason": "disk full"}),
        Reply.tool_call("hang", {}),
        Reply.text("I could not get the weather."),
    )
    result = failing_tools_agent(client).run("Weather in Oslo?")
    assert result.stop_reason == "final_answer" and result.answer == "I could not get the weather."
    failures = [s.tool_results[0].failure for s in result.steps[:5]]
    assert failures == ["unknown_tool", "invalid_json", "invalid_arguments", "exception", "timeout"]
    last_request = server.completion_requests()[-1].body["messages"]
    tool_texts = [m["content"] for m in last_request if m["role"] == "tool"]
    assert len(tool_texts) == 5 and all(t.startswith("Error: ") for t in tool_texts)
    assert "disk full" in tool_texts[3]


def test_hooks_deny_edit_and_rewrite_the_context(server, client):
    seen: dict[str, list] = {"before": [], "after": [], "calls": []}

    class Guard(AgentHooks):
        def before_step(self, step):
            seen["before"].append(step.index)

        async def on_tool_call(self, step, call):
            seen["calls"].append(call.name)
            if call.arguments.get("city") == "Mordor":
                return ToolDecision.deny("that city is off limits")
            if call.arguments.get("city") == "oslo":
                return ToolDecision.edit({"city": "Oslo"})
            return None

        def on_context(self, step, context):
            note = {"role": "system", "content": f"(step {step.index})"}
            return context.model_copy(update={"messages": [*context.messages, note]})

        def after_step(self, record):
            seen["after"].append(record.index)

    server.enqueue(
        Reply.tool_call("get_weather", {"city": "Mordor"}),
        Reply.tool_call("get_weather", {"city": "oslo"}),
        Reply.text("done"),
    )
    result = Agent(client, tools=[get_weather], hooks=[Guard()]).run("Weather?")
    assert seen == {
        "before": [0, 1, 2],
        "after": [0, 1, 2],
        "calls": ["get_weather", "get_weather"],
    }
    denied, edited = result.steps[0].tool_results[0], result.steps[1].tool_results[0]
    assert denied.failure == "denied" and "off limits" in denied.content
    assert (
        edited.ok
        and edited.content == "Sunny in Oslo, 21 C"
        and edited.arguments == {"city": "Oslo"}
    )
    sent = server.completion_requests()[0].body["messages"]
    # the edited context is what the model got
    assert sent[-1] == {
        "role": "system",
        "content": "(step 0)",
    }


def test_a_hook_can_repair_arguments_that_were_not_json(server, client):
    class Repair(AgentHooks):
        def on_tool_call(self, step, call):
            return None if call.valid else ToolDecision.edit({"city": "Oslo"}, reason="repaired")

    server.enqueue(Reply.invalid_tool_arguments("get_weather"), Reply.text("done"))
    result = Agent(client, tools=[get_weather], hooks=[Repair()]).run("Weather?")
    repaired = result.steps[0].tool_results[0]
    assert (
        repaired.ok
        and repaired.content == "Sunny in Oslo, 21 C"
        and repaired.arguments == {"city": "Oslo"}
    )
    assert not result.steps[0].tool_calls[0].valid  # the record keeps the call as the model made it


def always_calls_tools(request):
    return Reply.tool_call("get_weather", {"city": "Oslo"})


def test_step_limit(server, client):
    server.responder = always_calls_tools
    result = Agent(client, tools=[get_weather], limits=RunLimits(max_steps=3)).run("Weather?")
    assert (
        result.stop_reason == "max_steps"
        and len(result.steps) == 3
        and len(server.completion_requests()) == 3
    )


def test_token_and_cost_limits(server, client):
    server.responder = always_calls_tools
    by_tokens = Agent(
        client, tools=[get_weather], limits=RunLimits(max_steps=50, max_tokens=150)
    ).run("Weather?")
    assert by_tokens.stop_reason == "max_tokens" and 1 <= len(by_tokens.steps) < 50
    assert by_tokens.usage.total_tokens >= 150
    # it stopped at the first step past the limit
    assert sum(s.usage.total_tokens for s in by_tokens.steps[:-1]) < 150
    limits = RunLimits(
        max_steps=50, max_cost_usd=0.001, usd_per_million_input=2.0, usd_per_million_output=8.0
    )
    by_cost = Agent(client, tools=[get_weather], limits=limits).run("Weather?")
    assert (
        by_cost.stop_reason == "max_cost" and by_cost.cost_usd >= 0.001 and len(by_cost.steps) < 50
    )


def test_cancellation_stops_before_the_next_step(server, client):
    server.responder = always_calls_tools
    cancel = threading.Event()

    class StopAfterTwo(AgentHooks):
        def after_step(self, record):
            if record.index == 1:
                cancel.set()

    result = Agent(client, tools=[get_weather], hooks=[StopAfterTwo()]).run(
        "Weather?", cancel=cancel
    )
    assert result.stop_reason == "cancelled" and len(result.steps) == 2


def test_prefix_stays_stable_across_steps(server, client):
    """The cache-prefix invariant: each request starts with the previous request, token for token."""
    server.responder = always_calls_tools
    docs = StaticSource(
        "documents",
        [
            ContextItem(id=f"d{i}", source="documents", content=f"Fact {i}: " + "word " * 40)
            for i in range(5)
        ],
    )
    result = Agent(client, tools=[get_weather], sources=[docs], limits=RunLimits(max_steps=6)).run(
        "Weather?"
    )
    counter = TiktokenCounter()
    requests = [r.body for r in server.completion_requests()]
    for previous, current in pairwise(requests):
        assert current["messages"][: len(previous["messages"])] == previous["messages"]
        assert current["tools"] == previous["tools"]
        shared = shared_prefix_tokens(previous, current, counter)
        whole_previous = shared_prefix_tokens(previous, previous, counter)
        assert shared >= whole_previous - 1  # all of it (a tokenizer may merge across the join)
    assert len(result.steps) == 6


def test_tool_calls_and_results_are_kept_or_dropped_together(server):
    """Under a tight budget old exchanges drop, but never a call without its result or the reverse."""
    client = make_client(server)
    server.responder = always_calls_tools
    agent = Agent(
        client,
        tools=[get_weather],
        budget=Budget(context_window=420, reserve_output=20),
        limits=RunLimits(max_steps=12),
    )
    result = agent.run("Weather?")
    dropped_any = False
    for step in result.steps:
        messages = step.context.messages
        dropped_any |= any(
            d.status.value == "dropped" and d.source == "conversation"
            for d in step.context.decisions
        )
        for i, m in enumerate(messages):
            if m.get("tool_calls"):
                ids = [c["id"] for c in m["tool_calls"]]
                assert [x.get("tool_call_id") for x in messages[i + 1 : i + 1 + len(ids)]] == ids
            if m["role"] == "tool":
                assert any(
                    m["tool_call_id"] in [c["id"] for c in p.get("tool_calls") or []]
                    for p in messages[:i]
                )
        assert step.context.usage.request_tokens <= 400
        assert messages[1] == {"role": "user", "content": "Weather?"}  # the request is pinned
    assert dropped_any


def test_a_conversation_carries_over_between_runs(server, client):
    chat = Conversation()
    agent = Agent(client)
    agent.run("My name is Ana.", conversation=chat)
    agent.run("What is my name?", conversation=chat)
    second = server.completion_requests()[1].body["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert (
        second[1]["content"] == "My name is Ana."
        and second[2]["content"] == "fake reply to: My name is Ana."
    )


def test_offline_backend_runs_the_loop():
    result = Agent(ModelClient("offline/demo"), tools=[get_weather]).run(
        'What is the weather in "Oslo"?'
    )
    assert result.stop_reason == "final_answer" and len(result.steps) == 2
    assert result.steps[0].tool_results[0].content == "Sunny in Oslo, 21 C"
    assert result.answer.startswith("[offline]") and "Sunny in Oslo" in result.answer
    assert all(s.completion.offline for s in result.steps)


async def test_a_fleet_of_agents_shares_one_client(server, client):
    server.responder = tool_then_answer
    agents = [
        Agent(client, name=f"a{i}", tools=[Tool.from_function(get_weather)]) for i in range(25)
    ]
    results = await asyncio.gather(
        *(a.arun(f"Weather for user {i}?") for i, a in enumerate(agents))
    )
    assert [r.stop_reason for r in results] == ["final_answer"] * 25
    assert len({r.run_id for r in results}) == 25
    assert len(server.completion_requests()) == 50


def test_sources_may_not_take_the_agents_own_names(client):
    from contextos import ConfigError

    with pytest.raises(ConfigError, match="conversation"):
        Agent(client, sources=[StaticSource("conversation", [])])


def test_working_memory_from_the_memory_part_is_a_conversation(server, client):
    from contextos.memory import WorkingMemory

    server.responder = tool_then_answer
    window = WorkingMemory(2_000)
    agent = Agent(client, tools=[get_weather])
    agent.run("Weather in Oslo?", conversation=window)
    agent.run("And tomorrow?", conversation=window)
    roles = [i.role for i in window.items]
    assert roles == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    groups = [i.group for i in window.items]
    assert groups[1] == groups[2] is not None and groups[5] == groups[6] != groups[1]
    third = server.completion_requests()[2].body["messages"]
    assert [m["role"] for m in third][:6] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
    ]


def get_report(city: str) -> str:
    """The hour-by-hour weather report for a city.

    Args:
        city: The city name, e.g. "Oslo".
    """
    return f"Report for {city}: " + " ".join(
        f"hour {h} sunny and mild with a light wind" for h in range(60)
    )


@pytest.mark.parametrize(
    "budget", [None, Budget(context_window=400, reserve_output=50)], ids=["fits", "truncated"]
)
def test_a_tiny_window_keeps_the_task_and_the_latest_tool_result_in_every_request(budget):
    from contextos.memory import WorkingMemory

    window = WorkingMemory(150)  # the report alone is several times larger
    agent = Agent(ModelClient("offline/demo"), tools=[get_report], budget=budget)
    for task in ('What is the weather report for "Oslo"?', 'And the report for "Bergen"?'):
        result = agent.run(task, conversation=window)
        assert result.stop_reason == "final_answer" and len(result.steps) == 2
        for step in result.steps:
            users = [m["content"] for m in step.context.messages if m["role"] == "user"]
            assert task in users, f"step {step.index} lost the task: {step.context.messages}"
        first, second = result.steps
        report = first.tool_results[0].content
        assert len(report) > 1000 and report.startswith("Report for " + task.split('"')[1])
        latest = [
            m
            for m in second.context.messages
            if m["role"] == "tool" and m["tool_call_id"] == first.tool_calls[0].id
        ]
        assert len(latest) == 1, f"step 1 lost the latest tool result: {second.context.messages}"
        result_item = next(
            i
            for i in second.context.items
            if i.role == "tool" and i.payload["tool_call_id"] == first.tool_calls[0].id
        )
        decision = second.context.decision(result_item.id)
        if budget is None:
            assert latest[0]["content"] == report and decision.status.value == "included"
        else:
            assert decision.status.value == "truncated" and "truncated from" in decision.reason
            cut, note = latest[0]["content"].split(" …[")
            assert cut != report and len(cut) > 100 and report.startswith(cut)
            assert note.endswith("tokens cut; the full text is in the trace]")
            assert result_item.metadata["contextos.full_content"] == report
        assert second.context.usage.request_tokens <= agent.budget.available


async def test_run_inside_an_event_loop_points_to_arun(client):
    from contextos import RunningLoopError

    with pytest.raises(RunningLoopError, match="await agent.arun"):
        Agent(client).run("hi")


def test_the_model_and_the_catalog_are_checked_against_their_contracts(tmp_path):
    from contextos import ConfigError, ToolCatalog
    from contextos.testing import ScriptedModel
    from contextos.tools import CatalogRetriever, ToolRetriever

    with pytest.raises(ConfigError, match="ChatModel"):
        Agent("offline/demo")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="ToolRetriever"):
        Agent(ScriptedModel(), catalog=[get_weather])  # type: ignore[arg-type]

    class Everything:
        def retrieve(self, queries, k):
            return []

    mine = Everything()
    assert isinstance(mine, ToolRetriever)
    assert Agent(ScriptedModel(), catalog=mine).catalog is mine
    catalog = ToolCatalog.open(tmp_path / "tools")
    assert isinstance(Agent(ScriptedModel(), catalog=catalog).catalog, CatalogRetriever)
