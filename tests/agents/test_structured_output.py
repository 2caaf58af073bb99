"""Agent(output_type=...): the final answer parsed into a pydantic model, repaired when it does not validate."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from contextos import Agent, ConfigError, ModelClient
from contextos.testing import FakeModelServer, Reply, ScriptedModel


class Weather(BaseModel):
    city: str
    celsius: int


def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"18 degrees in {city}"


def test_a_valid_answer_is_the_output():
    model = ScriptedModel(
        [
            Reply.tool_call("get_weather", {"city": "Oslo"}),
            Reply.text('```json\n{"city": "Oslo", "celsius": 18}\n```'),
        ]
    )
    result = Agent(model, tools=[get_weather], output_type=Weather).run("Weather in Oslo?")
    assert result.stop_reason == "final_answer" and result.output == Weather(
        city="Oslo", celsius=18
    )
    # the schema is in the instructions
    assert '"celsius"' in model.requests[0].messages[0]["content"]
    # tools stay callable before any repair
    assert "response_format" not in model.requests[0].params


def test_an_invalid_answer_is_repaired_with_the_errors_and_the_response_format():
    model = ScriptedModel(
        [
            Reply.text("It is warm in Oslo."),
            Reply.text('{"city": "Oslo", "celsius": "warm"}'),
            Reply.text('{"city": "Oslo", "celsius": 18}'),
        ]
    )
    result = Agent(model, output_type=Weather).run("Weather in Oslo?")
    assert result.output == Weather(city="Oslo", celsius=18) and len(result.steps) == 3
    second, third = model.requests[1], model.requests[2]
    assert (
        "held no JSON" in second.messages[-1]["content"]
        and second.params["response_format"]["type"] == "json_schema"
    )
    assert "celsius" in third.messages[-1]["content"] and "integer" in third.messages[-1]["content"]
    assert third.params["response_format"]["json_schema"]["schema"] == Weather.model_json_schema()


def test_out_of_repairs_stops_with_invalid_output():
    model = ScriptedModel([Reply.text("no"), Reply.text("still no")])
    result = Agent(model, output_type=Weather, output_retries=1).run("Weather in Oslo?")
    assert (
        result.stop_reason == "invalid_output"
        and result.output is None
        and result.answer == "still no"
    )


def test_offline_backend_answers_schema_valid_output():
    result = Agent(ModelClient("offline/demo"), tools=[get_weather], output_type=Weather).run(
        'Weather in "Oslo"?'
    )
    assert isinstance(result.output, Weather) and result.stop_reason == "final_answer"


def test_the_response_format_reaches_a_vllm_compatible_server():
    with FakeModelServer() as server:
        server.enqueue(Reply.text("warm"), Reply.text('{"city": "Oslo", "celsius": 18}'))
        client = ModelClient("hosted_vllm/fake-model", api_base=server.api_base)
        result = Agent(client, output_type=Weather, tokenizer=None).run("Weather in Oslo?")
        bodies = [r.body for r in server.requests if r.path.endswith("/chat/completions")]
    assert result.output == Weather(city="Oslo", celsius=18)
    assert "response_format" not in bodies[0]
    assert bodies[1]["response_format"]["json_schema"]["schema"]["required"] == ["city", "celsius"]


def test_a_type_without_a_schema_is_a_config_error():
    with pytest.raises(ConfigError, match="no JSON Schema"):
        Agent(ScriptedModel(), output_type=json)  # a module is no type
