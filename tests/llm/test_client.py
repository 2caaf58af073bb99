"""ModelClient success paths against the fake vLLM server, through litellm over real sockets."""

from __future__ import annotations

import asyncio
import json

import pytest

from contextos import Completion, ConfigError, ModelClient, ModelRequestError, RetryPolicy, ToolCall
from contextos.llm import Endpoint
from contextos.testing import FakeModelServer, Reply

from .conftest import USER

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def test_complete_returns_the_servers_text_and_usage(
    client: ModelClient, server: FakeModelServer
) -> None:
    server.enqueue(Reply.text("Paris is the capital.", completion_tokens=5))
    completion = client.complete(USER)
    assert isinstance(completion, Completion)
    assert completion.content == "Paris is the capital."
    assert completion.finish_reason == "stop"
    assert completion.usage.completion_tokens == 5
    assert completion.usage.prompt_tokens == len("<user> What is the capital of France?".split())
    assert completion.model == "hosted_vllm/fake-model"
    assert completion.offline is False
    assert [a.outcome for a in completion.attempts] == ["ok"]
    assert completion.latency_s > 0


async def test_acomplete_sends_the_request_parameters(
    client: ModelClient, server: FakeModelServer
) -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "city", "schema": {"type": "object"}}}
    await client.acomplete(USER, max_tokens=7, temperature=0.0, response_format=schema, seed=3)
    body = server.completion_requests()[-1].body
    assert body["model"] == "fake-model"
    assert body["messages"] == USER
    assert body["max_tokens"] == 7
    assert body["temperature"] == 0.0
    assert body["response_format"] == schema
    assert body["seed"] == 3


async def test_default_params_go_with_every_request(server: FakeModelServer) -> None:
    client = ModelClient(
        "hosted_vllm/fake-model", api_base=server.api_base, timeout=5, temperature=0.25
    )
    await client.acomplete(USER)
    await client.acomplete(USER, temperature=0.5)
    assert [r.body["temperature"] for r in server.completion_requests()] == [0.25, 0.5]


async def test_api_key_is_sent_as_bearer_token() -> None:
    with FakeModelServer(api_key="s3cret") as server:
        client = ModelClient(
            "hosted_vllm/fake-model", api_base=server.api_base, api_key="s3cret", timeout=5
        )
        assert (await client.acomplete(USER)).content.startswith("fake reply")
        assert server.completion_requests()[0].headers["authorization"] == "Bearer s3cret"


async def test_tool_calls_are_parsed(client: ModelClient, server: FakeModelServer) -> None:
    server.enqueue(Reply.tool_call("get_weather", {"city": "Paris"}, id="call_1"))
    completion = await client.acomplete(USER, tools=[WEATHER_TOOL], tool_choice="auto")
    assert server.completion_requests()[0].body["tools"] == [WEATHER_TOOL]
    assert server.completion_requests()[0].body["tool_choice"] == "auto"
    assert completion.finish_reason == "tool_calls"
    assert completion.tool_calls == [
        ToolCall(
            id="call_1",
            name="get_weather",
            arguments={"city": "Paris"},
            raw_arguments='{"city": "Paris"}',
        )
    ]
    assert completion.tool_calls[0].valid
    # The assistant message carries the call back into the conversation verbatim.
    assert completion.message()["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
    }


async def test_invalid_tool_arguments_are_kept_and_flagged_not_raised(
    client: ModelClient, server: FakeModelServer
) -> None:
    server.enqueue(Reply.invalid_tool_arguments("get_weather", '{"city": "Par'))
    completion = await client.acomplete(USER, tools=[WEATHER_TOOL])
    (call,) = completion.tool_calls
    assert call.name == "get_weather"
    assert call.raw_arguments == '{"city": "Par'
    assert call.arguments == {}
    assert not call.valid
    assert "not valid JSON" in call.error


def test_tool_arguments_that_are_not_an_object_are_flagged() -> None:
    assert (
        ToolCall.parse("c", "f", "[1, 2]").error
        == "arguments of 'f' must be a JSON object, got list"
    )
    assert ToolCall.parse("c", "f", "").valid
    assert ToolCall.parse("c", "f", None).arguments == {}


async def test_cached_tokens_are_reported(client: ModelClient, server: FakeModelServer) -> None:
    long_prefix = [{"role": "system", "content": " ".join(f"rule{i}" for i in range(40))}]
    first = await client.acomplete(long_prefix + USER)
    second = await client.acomplete([*long_prefix, {"role": "user", "content": "And of Spain?"}])
    assert first.usage.cached_tokens == 0
    # 41 shared words (system tag + 40 rules + the user tag) -> 32 in whole blocks of 16.
    assert second.usage.cached_tokens == 32


async def test_hundred_concurrent_async_calls(client: ModelClient, server: FakeModelServer) -> None:
    prompts = [[{"role": "user", "content": f"question {i}"}] for i in range(100)]
    completions = await asyncio.gather(*(client.acomplete(p) for p in prompts))
    assert [c.content for c in completions] == [f"fake reply to: question {i}" for i in range(100)]
    assert len(server.completion_requests()) == 100
    assert all(len(c.attempts) == 1 for c in completions)


def test_messages_must_be_a_list_of_chat_messages(client: ModelClient) -> None:
    with pytest.raises(ModelRequestError, match="non-empty list of chat messages"):
        client.complete("hello")  # type: ignore[arg-type]
    with pytest.raises(ModelRequestError):
        client.complete([])


def test_hosted_vllm_without_api_base_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="needs an api_base"):
        ModelClient("hosted_vllm/some-model")


def test_api_base_must_be_an_http_url() -> None:
    with pytest.raises(
        ConfigError, match="must be an http:// or https:// URL.*'127.0.0.1:8000/v1'"
    ):
        ModelClient("hosted_vllm/some-model", api_base="127.0.0.1:8000/v1")
    with pytest.raises(ConfigError, match="api_base of hosted_vllm/backup"):
        ModelClient(
            "offline/demo", fallbacks=[Endpoint(model="hosted_vllm/backup", api_base="gpu-1:8000")]
        )


def test_a_model_string_without_a_known_provider_says_what_one_looks_like(attempts) -> None:
    client = ModelClient(
        "nonsense-provider/m", retry=RetryPolicy(max_attempts=3), on_attempt=attempts.append
    )
    with pytest.raises(
        ModelRequestError,
        match="knows no provider by that name.*is hosted_vllm/nonsense-provider/m",
    ):
        client.complete(USER)
    assert len(attempts) == 1  # not retried: no try can succeed


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="timeout"):
        ModelClient("offline/demo", timeout=0)


def test_completion_serialises_to_json(client: ModelClient) -> None:
    data = json.loads(client.complete(USER).model_dump_json())
    assert data["usage"]["cached_tokens"] == 0
    assert data["attempts"][0]["outcome"] == "ok"


async def test_over_router_spreads_calls_over_replicas() -> None:
    from contextos.llm._runtime import load_litellm

    litellm = load_litellm()
    with FakeModelServer() as first, FakeModelServer() as second:
        router = litellm.Router(
            model_list=[
                {
                    "model_name": "qwen",
                    "litellm_params": {"model": "hosted_vllm/fake-model", "api_base": s.api_base},
                }
                for s in (first, second)
            ],
            num_retries=0,
        )
        client = ModelClient.over_router(router, "qwen", timeout=5)
        completions = await asyncio.gather(
            *(client.acomplete([{"role": "user", "content": f"q{i}"}]) for i in range(30))
        )
        stream = client.astream(USER)
        assert "".join([d async for d in stream]).startswith("fake reply")
        served = (len(first.completion_requests()), len(second.completion_requests()))
    assert sum(served) == 31
    assert min(served) > 0  # simple-shuffle over two replicas: both get some of 30 calls
    assert {c.model for c in completions} == {"qwen"}


def test_over_router_refuses_an_api_base() -> None:
    with pytest.raises(ConfigError, match="router's deployments"):
        ModelClient.over_router(object(), "qwen", api_base="http://127.0.0.1:8000/v1")


async def test_vllm_structured_output_parameters_reach_the_server(
    client: ModelClient, server: FakeModelServer
) -> None:
    # vLLM reads `structured_outputs` (0.32 here ignores the removed guided_json / guided_choice fields).
    structured = {"json": {"type": "object", "properties": {"city": {"type": "string"}}}}
    await client.acomplete(USER, extra_body={"structured_outputs": structured})
    assert server.completion_requests()[0].body["structured_outputs"] == structured
