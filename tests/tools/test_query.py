"""ToolQueryWriter and find_tools: model-written queries through a real (fake vLLM) server, the
fallback to the request text, and what the trace records."""

from __future__ import annotations

import json

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from contextos.embed import HashingEmbedder
from contextos.llm import ModelClient, RetryPolicy
from contextos.testing import FakeModelServer, Fault, Reply
from contextos.tools import ToolCatalog, ToolQueryWriter, find_tools, load_tools
from contextos.tools.query import PROGRESS_NOTE, QUERY_PROMPT, parse_queries


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
        provider = trace.get_tracer_provider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture
def catalog(tmp_path, catalog_file) -> ToolCatalog:
    c = ToolCatalog.open(tmp_path / "db", embedder=HashingEmbedder())
    c.upsert(load_tools(catalog_file))
    return c


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            '{"queries": ["get weather forecast", "book a flight"]}',
            ["get weather forecast", "book a flight"],
        ),
        ('Sure!\n```json\n{"queries": ["send sms"]}\n```\nDone.', ["send sms"]),
        ('["a", "b", "a", ""]', ["a", "b"]),
        ('Here: {"query": "convert currency"} hope that helps', ["convert currency"]),
        ("1. find recipes\n2. send a text message\n", ["find recipes", "send a text message"]),
        ("I cannot help with that.", []),
        ('{"queries": [1, 2]}', []),
    ],
)
def test_parse_queries(answer, expected):
    assert parse_queries(answer) == expected


async def test_model_writes_one_query_per_capability(catalog, exporter):
    request = "I'm off to Rome next week: how will the weather be there, and can you book me a seat on a flight?"
    with FakeModelServer() as server:
        server.enqueue(
            Reply.text('{"queries": ["weather forecast for a city", "book a seat on a flight"]}')
        )
        writer = ToolQueryWriter(ModelClient("hosted_vllm/fake-model", api_base=server.api_base))
        exporter.clear()
        found = await find_tools(request, catalog.retriever(), 2, writer=writer)
        prompt = server.requests[-1].messages[-1]["content"]
    assert prompt == QUERY_PROMPT.format(request=request, max_queries=5)
    assert found.queries.written_by_model and found.queries.queries == [
        "weather forecast for a city",
        "book a seat on a flight",
    ]
    assert {h.tool.id for h in found.hits} == {"w2", "f2"}
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "contextos.tool_retrieval"]
    assert span.attributes["contextos.tool_retrieval.llm_written"] is True
    assert list(span.attributes["contextos.tool_retrieval.queries"]) == found.queries.queries
    assert list(span.attributes["contextos.tool_retrieval.ranked_ids"]) == [
        h.tool.id for h in found.hits
    ]
    assert span.attributes["contextos.tool_retrieval.query_model"] == "hosted_vllm/fake-model"


async def test_no_model_falls_back_to_the_request_and_says_so(catalog, exporter):
    exporter.clear()
    found = await find_tools("send a text message to Ana", catalog.retriever(), 1)
    assert (
        found.queries.queries == ["send a text message to Ana"]
        and not found.queries.written_by_model
    )
    assert found.queries.fallback_reason == "no query model configured"
    assert [h.tool.id for h in found.hits] == ["s1"]
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "contextos.tool_retrieval"]
    assert span.attributes["contextos.tool_retrieval.llm_written"] is False
    assert (
        span.attributes["contextos.tool_retrieval.fallback_reason"] == "no query model configured"
    )


async def test_failing_or_useless_model_falls_back(catalog):
    with FakeModelServer() as server:
        server.enqueue(Reply.text("I would search for tools."))
        client = ModelClient("hosted_vllm/fake-model", api_base=server.api_base)
        useless = await ToolQueryWriter(client).write("convert 5 euros to yen")
        server.enqueue(*[Fault.server_error()] * 10)
        failing = await ToolQueryWriter(
            ModelClient(
                "hosted_vllm/fake-model",
                api_base=server.api_base,
                retry=RetryPolicy(max_attempts=1),
                timeout=5,
            )
        ).write("convert 5 euros to yen")
    assert (
        useless.queries == ["convert 5 euros to yen"]
        and "held no queries" in useless.fallback_reason
    )
    assert failing.queries == ["convert 5 euros to yen"] and "failed" in failing.fallback_reason


async def test_offline_backend_writes_one_query_per_clause_that_asks():
    # The offline backend is not a model, but it writes queries mechanically (and deterministically):
    # the clauses of the request that ask for something, as their content words.
    request = "I'm flying to Oslo next week. What's the weather forecast there, and how much is 500 USD in NOK?"
    written = await ToolQueryWriter(ModelClient("offline/demo")).write(request)
    assert (
        written.written_by_model
        and written.model == "offline/demo"
        and written.fallback_reason is None
    )
    assert written.queries == ["weather forecast", "500 USD NOK"]
    again = await ToolQueryWriter(ModelClient("offline/demo")).write(
        request, latest="called get_weather", previous=written.queries
    )
    assert again.queries == written.queries  # the progress note after the request changes nothing
    single = await ToolQueryWriter(ModelClient("offline/demo")).write("book a flight to Rome")
    assert single.queries == ["book flight Rome"]


async def test_queries_are_capped(catalog):
    with FakeModelServer() as server:
        server.enqueue(Reply.text(json.dumps({"queries": [f"q{i}" for i in range(9)]})))
        written = await ToolQueryWriter(
            ModelClient("hosted_vllm/fake-model", api_base=server.api_base), max_queries=3
        ).write("x")
    assert written.queries == ["q0", "q1", "q2"]


async def test_a_later_step_shows_the_latest_turns_and_reuses_hits_for_the_same_queries(
    catalog, exporter
):
    """``latest`` and the previous queries reach the prompt; the same queries again search nothing."""
    request = "Check the weather in Rome"
    retriever = catalog.retriever()
    with FakeModelServer() as server:
        server.enqueue(*[Reply.text('{"queries": ["weather forecast for a city"]}')] * 2)
        writer = ToolQueryWriter(ModelClient("hosted_vllm/fake-model", api_base=server.api_base))
        first = await find_tools(request, retriever, 2, writer=writer)
        retriever.catalog = None  # any search from here on would fail
        exporter.clear()
        again = await find_tools(
            request,
            retriever,
            2,
            writer=writer,
            latest="get_forecast returned: rain",
            previous=first,
        )
        prompts = [r.messages[-1]["content"] for r in server.completion_requests()]
    assert prompts[0] == QUERY_PROMPT.format(request=request, max_queries=5)
    assert prompts[1] == prompts[0] + PROGRESS_NOTE.format(
        latest="get_forecast returned: rain", previous='["weather forecast for a city"]'
    )
    assert again.reused and not first.reused and again.hits == first.hits
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "contextos.tool_retrieval"]
    assert span.attributes["contextos.tool_retrieval.reused"] is True
    assert list(span.attributes["contextos.tool_retrieval.ranked_ids"]) == [
        h.tool.id for h in first.hits
    ]
