"""Tool retrieval at every agent step: a real catalog in LanceDB (temp folder), the fake vLLM server
writing the queries and playing the model, and a count of the catalog searches."""

from __future__ import annotations

import json

import pytest

from contextos import Budget, TiktokenCounter, shared_prefix_tokens
from contextos.agents import Agent, RunLimits
from contextos.agents._tools_source import RunTools
from contextos.context import Step
from contextos.embed import HashingEmbedder
from contextos.llm import ModelClient
from contextos.testing import Reply
from contextos.tools import ToolCatalog, ToolExecutor, load_tools
from contextos.tools.source import ToolSource
from tests.tools.conftest import ROWS, write_jsonl

WEATHER_QUERY = "weather forecast for a city"
FLIGHT_QUERY = "find flights between two airports"  # its tool sorts before the weather ones by name
LONG_RESULT = "Sunny in Oslo, 21 C. Flights there are cheap. " + "x" * 2000


class CountingRetriever:
    """The catalog's own retriever, with every search it runs written down."""

    def __init__(self, inner):
        self.inner = inner
        self.searches: list[list[str]] = []

    def retrieve(self, queries, k):
        self.searches.append(list(queries))
        return self.inner.retrieve(queries, k)


@pytest.fixture
def retriever(tmp_path) -> CountingRetriever:
    catalog = ToolCatalog.open(tmp_path / "db", embedder=HashingEmbedder())
    catalog.upsert(load_tools(write_jsonl(tmp_path / "tools.jsonl", ROWS)))
    return CountingRetriever(catalog.retriever())


def model(later_queries: list[str]):
    """Writes WEATHER_QUERY at a request's first step and ``later_queries`` after it; as the agent,
    calls a weather tool, then a flight search if one is offered by then, then answers."""

    def respond(request) -> Reply:
        text = request.last_user_text
        if text.startswith("You help an assistant find the tools"):
            later = "What the assistant has done for this request so far" in text
            return Reply.text(json.dumps({"queries": later_queries if later else [WEATHER_QUERY]}))
        names = [t["function"]["name"] for t in request.body.get("tools", [])]
        results = sum(m["role"] == "tool" for m in request.messages)
        if results == 0:
            return Reply.tool_call(next(n for n in names if "eather" in n), {"city": "Oslo"})
        if results == 1 and any(n.startswith("Flights_search") for n in names):
            return Reply.tool_call(
                next(n for n in names if n.startswith("Flights_search")), {"destination": "OSL"}
            )
        return Reply.text("Done.")

    return respond


def agent(server, retriever) -> Agent:
    client = ModelClient("hosted_vllm/fake-model", api_base=server.api_base, timeout=10)
    return Agent(
        client,
        catalog=retriever,
        tool_k=2,
        executor=ToolExecutor(fallback=lambda tool, args: LONG_RESULT),
        limits=RunLimits(max_steps=4),
    )


def agent_requests(server) -> list[dict]:
    return [r.body for r in server.completion_requests() if r.body.get("tools")]


def query_prompts(server) -> list[str]:
    return [r.last_user_text for r in server.completion_requests() if not r.body.get("tools")]


def tool_names(body: dict) -> list[str]:
    return [t["function"]["name"] for t in body["tools"]]


def test_new_queries_at_a_later_step_add_tools_after_the_ones_offered(server, retriever):
    server.responder = model([WEATHER_QUERY, FLIGHT_QUERY])
    result = agent(server, retriever).run("Check the Oslo forecast and whether I can fly there")

    assert result.steps[1].tool_calls[0].name.startswith("Flights_search")
    assert result.stop_reason == "final_answer" and len(result.steps) == 3
    # Step 1 searched again with its new queries; step 2 wrote the same ones and reused the hits.
    assert retriever.searches == [[WEATHER_QUERY], [WEATHER_QUERY, FLIGHT_QUERY]]
    found = [s.tool_retrieval for s in result.steps]
    assert [(f.reused, f.searched_at_step) for f in found] == [(False, 0), (False, 1), (True, 1)]

    first, second, third = (tool_names(b) for b in agent_requests(server))
    new = [n for n in second if n not in first]
    assert len(new) == 1 and new[0].startswith("Flights_search")
    assert second == first + new  # the step-0 tools stay, in their order; the new one comes after
    assert third == second

    # From step 1 on, the query writer sees the latest call and its result, clipped.
    prompts = query_prompts(server)
    assert len(prompts) == 3 and "What the assistant has done" not in prompts[0]
    assert (
        "Sunny in Oslo, 21 C" in prompts[1] and LONG_RESULT not in prompts[1] and "…" in prompts[1]
    )
    # the previous queries, to repeat when they still fit
    assert json.dumps([WEATHER_QUERY]) in prompts[1]


def test_the_same_queries_reuse_the_hits_and_keep_the_prefix(server, retriever):
    server.responder = model([WEATHER_QUERY])
    result = agent(server, retriever).run("Check the Oslo forecast")

    # one search for two steps
    assert len(result.steps) == 2 and retriever.searches == [[WEATHER_QUERY]]
    assert (
        result.steps[1].tool_retrieval.reused
        and result.steps[1].tool_retrieval.searched_at_step == 0
    )
    assert result.steps[1].tool_retrieval.hits == result.steps[0].tool_retrieval.hits
    previous, current = agent_requests(server)
    assert current["tools"] == previous["tools"]
    assert current["messages"][: len(previous["messages"])] == previous["messages"]
    counter = TiktokenCounter()
    assert (
        shared_prefix_tokens(previous, current, counter)
        >= shared_prefix_tokens(previous, previous, counter) - 1
    )


def test_offline_backend_asks_again_but_never_searches_again(retriever):
    """The offline backend writes the same queries at every step of a request, so later steps reuse the hits."""
    offline = Agent(
        ModelClient("offline/demo"),
        catalog=retriever,
        tool_k=3,
        executor=ToolExecutor(fallback=lambda tool, args: "Sunny"),
        limits=RunLimits(max_steps=3),
    )
    result = offline.run("What is the weather forecast in Oslo?")
    assert len(result.steps) == 2 and len(retriever.searches) == 1
    later = result.steps[1].tool_retrieval
    assert (
        later.reused
        and later.queries.written_by_model
        and later.queries.queries == ["weather forecast Oslo"]
    )
    assert result.steps[1].context.tools == result.steps[0].context.tools


def test_tools_offered_earlier_stay_sent_when_the_conversation_outgrows_the_budget(
    server, tmp_path
):
    """Each step adds a long tool result; once they no longer fit, old turns are left out, never the
    tools sent since step 0, so the request keeps its instructions-and-tools prefix."""

    def respond(request) -> Reply:
        if request.last_user_text.startswith("You help an assistant find the tools"):
            return Reply.text(json.dumps({"queries": [WEATHER_QUERY]}))
        names = [t["function"]["name"] for t in request.body.get("tools", [])]
        return Reply.tool_call(next(n for n in names if "eather" in n), {"city": "Oslo"})

    # the forecast tool's schema is long: by utility per token it would be the first thing to go
    rows = json.loads(json.dumps(ROWS))
    forecast = next(r for r in rows if r["id"] == "w2")
    forecast["parameters"]["properties"].update(
        {
            f"option_{n}": {
                "type": "string",
                "description": f"Forecast option {n}: " + "detail " * 12,
            }
            for n in range(12)
        }
    )
    catalog = ToolCatalog.open(tmp_path / "big", embedder=HashingEmbedder())
    catalog.upsert(load_tools(write_jsonl(tmp_path / "big.jsonl", rows)))
    server.responder = respond
    tight = agent(server, catalog.retriever())
    tight.limits = RunLimits(max_steps=5)
    tight.budget = Budget(context_window=1_600, reserve_output=200)
    result = tight.run("Check the Oslo forecast, again and again")

    requests = agent_requests(server)
    assert len(requests) == 5
    assert all(tool_names(r) == tool_names(requests[0]) for r in requests)
    # the budget did bind: a later request left out a tool result an earlier one carried
    results = [sum(m["role"] == "tool" for m in r["messages"]) for r in requests]
    assert max(results) < len(requests) - 1 and results[-1] < 4, results
    assert any(
        d.source == "conversation" and d.status.value == "dropped"
        for d in result.steps[-1].context.decisions
    )


async def test_a_tool_offered_at_an_earlier_step_joins_the_agents_own_tier(retriever):
    tools = RunTools([], ToolSource(retriever, k=2))
    first = await tools.candidates(Step(input="Check the Oslo forecast", index=0))
    later = await tools.candidates(Step(input="Check the Oslo forecast", index=1))
    assert [t.id for t in later] == [t.id for t in first] and len(first) == 2
    assert [t.priority for t in first] == [0, 0] and [t.priority for t in later] == [1, 1]
