"""The offline backend: deterministic answers, an honest label, and a tool-calling loop it can drive."""

from __future__ import annotations

import json

from contextos import ModelClient
from contextos.context.counters import counter_for_model
from contextos.llm._offline import plan_reply

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather forecast for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "days", "unit"],
        },
    },
}
SEARCH = {
    "type": "function",
    "function": {
        "name": "search_documents",
        "description": "Full-text search over the manuals",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    },
}


async def test_offline_drives_a_tool_loop_to_a_plain_answer() -> None:
    client = ModelClient("offline/demo")
    messages = [
        {
            "role": "user",
            "content": "What will the weather be in New York for 3 days, in fahrenheit?",
        }
    ]
    first = await client.acomplete(messages, tools=[SEARCH, WEATHER])
    assert first.offline is True
    assert first.finish_reason == "tool_calls"
    (call,) = first.tool_calls
    assert call.name == "get_weather"
    assert call.arguments == {"city": "New York", "days": 3, "unit": "fahrenheit"}

    messages += [
        first.message(),
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 75F"},
    ]
    second = await client.acomplete(messages, tools=[SEARCH, WEATHER])
    assert second.tool_calls == []
    assert second.content == "[offline] The tool get_weather returned: Sunny, 75F"
    assert second.finish_reason == "stop"


def test_offline_picks_the_first_overlapping_tool_and_quoted_strings() -> None:
    reply = plan_reply(
        [{"role": "user", "content": 'Search the manuals for "reset the router"'}],
        [WEATHER, SEARCH],
    )
    (call,) = reply["tool_calls"]
    assert call["function"]["name"] == "search_documents"
    assert json.loads(call["function"]["arguments"]) == {"query": "reset the router"}


def test_offline_answers_plainly_without_a_matching_tool() -> None:
    reply = plan_reply([{"role": "user", "content": "Tell me a joke"}], [WEATHER])
    assert reply["tool_calls"] == []
    assert reply["content"].startswith("[offline]")
    assert "Tell me a joke" in reply["content"]


def test_offline_string_argument_falls_back_to_the_request_text() -> None:
    reply = plan_reply([{"role": "user", "content": "search everything about routers"}], [SEARCH])
    assert json.loads(reply["tool_calls"][0]["function"]["arguments"]) == {
        "query": "search everything about routers"
    }


def test_offline_is_deterministic_and_says_offline() -> None:
    client = ModelClient("offline/demo")
    messages = [{"role": "user", "content": "Hello"}]
    first, second = client.complete(messages), client.complete(messages)
    assert first.content == second.content
    assert "offline" in first.content
    assert first.offline and first.model == "offline/demo"
    assert first.usage.prompt_tokens > 0 and first.usage.completion_tokens > 0
    with_tools = [
        client.complete(
            [{"role": "user", "content": "weather in Paris for 2 days"}], tools=[WEATHER]
        )
        for _ in range(2)
    ]
    assert with_tools[0].tool_calls == with_tools[1].tool_calls


async def test_offline_streams() -> None:
    stream = ModelClient("offline/demo").astream([{"role": "user", "content": "Hello"}])
    deltas = [d async for d in stream]
    assert "".join(deltas) == stream.completion.content
    assert stream.completion.offline
    assert stream.completion.usage.completion_tokens == counter_for_model("offline/demo").count(
        stream.completion.content
    )


async def test_offline_usage_counts_the_request_as_contextos_counts_it() -> None:
    # The assembled context's request tokens and the model call's prompt tokens are the same number.
    from contextos import Agent

    def get_weather(city: str) -> str:
        """Current weather for a city."""
        return f"Sunny in {city}"

    result = await Agent(ModelClient("offline/demo"), tools=[get_weather]).arun(
        "What is the weather in Oslo?"
    )
    for step in result.steps:
        assert step.usage.prompt_tokens == step.context.usage.request_tokens


def test_offline_ignores_api_base_so_it_never_calls_a_server() -> None:
    client = ModelClient("offline/demo", api_base="http://127.0.0.1:9/v1")
    assert client.complete([{"role": "user", "content": "Hi"}]).offline


def test_a_real_model_is_never_answered_offline(server) -> None:
    completion = ModelClient("hosted_vllm/fake-model", api_base=server.api_base).complete(
        [{"role": "user", "content": "Hi"}]
    )
    assert completion.offline is False
    assert "[offline]" not in completion.content


REFLECTION_SCHEMA = {
    "type": "object",
    "properties": {
        "insight": {"type": "string", "maxLength": 40},
        "tags": {
            "type": "object",
            "properties": {
                "pb-0001": {"type": "string", "enum": ["helpful", "harmful", "neutral"]}
            },
            "required": ["pb-0001"],
        },
        "ops": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "op": {"enum": ["add", "update", "delete"]},
                    "id": {"type": ["string", "null"]},
                    "n": {"type": "integer", "minimum": 1},
                },
            },
        },
        "done": {"type": "boolean"},
    },
}


async def test_offline_answers_a_json_schema_request_deterministically_from_the_prompt() -> None:
    client = ModelClient("offline/demo")
    messages = [
        {"role": "system", "content": "You reflect."},
        {
            "role": "user",
            "content": "## Run\nTask: add 2 and 3\nDelete nothing. It looks harmful; then add it.",
        },
    ]
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "r", "schema": REFLECTION_SCHEMA},
    }
    first = await client.acomplete(messages, response_format=response_format)
    value = json.loads(first.content or "")
    assert value == {
        "insight": "[offline] Task: add 2 and 3",
        "tags": {"pb-0001": "harmful"},
        "ops": [{"op": "add", "id": None, "n": 1}],
        "done": False,
    }
    second = await client.acomplete(messages, response_format=response_format)
    assert second.content == first.content


def test_offline_cites_the_listed_items_it_was_asked_to_cite() -> None:
    messages = [
        {
            "role": "system",
            "content": "Be brief.\n\n## Playbook\n\nCite the ids you use.\n\n[pb-0001] Convert currencies first.\n\n"
            "[pb-0002] Read CSV files with the csv module.",
        },
        {"role": "user", "content": "Compare 40 EUR with 45 USD: which currencies are cheaper?"},
    ]
    assert plan_reply(messages, None)["content"].endswith("\nUsed: [pb-0001]")
    uncited = [{"role": "system", "content": "[pb-0001] Convert currencies first."}, messages[1]]
    assert "Used:" not in plan_reply(uncited, None)["content"]
