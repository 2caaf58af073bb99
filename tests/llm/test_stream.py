"""Streaming through ModelClient.astream: deltas, the final Completion, tool calls, retries on open."""

from __future__ import annotations

import pytest

from contextos import ModelClient, ModelConnectionError, ModelServerError
from contextos.testing import FakeModelServer, Fault, Reply

from .conftest import USER


async def _read(stream) -> list[str]:
    return [delta async for delta in stream]


async def test_stream_yields_deltas_and_the_whole_completion(
    client: ModelClient, server: FakeModelServer
) -> None:
    server.enqueue(Reply.text("Paris is the capital of France."))
    stream = client.astream(USER)
    deltas = await _read(stream)
    assert len(deltas) == 6
    assert "".join(deltas) == "Paris is the capital of France."
    completion = stream.completion
    assert completion.content == "Paris is the capital of France."
    assert completion.finish_reason == "stop"
    assert completion.usage.prompt_tokens == 7
    assert completion.usage.completion_tokens == 6
    body = server.completion_requests()[0].body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


async def test_completion_is_not_available_before_the_stream_ends(client: ModelClient) -> None:
    stream = client.astream(USER)
    with pytest.raises(RuntimeError, match="iterate"):
        stream.completion


async def test_streamed_tool_calls_are_assembled(
    client: ModelClient, server: FakeModelServer
) -> None:
    server.enqueue(Reply.tool_call("get_weather", {"city": "Paris", "days": 3}, id="call_7"))
    stream = client.astream(
        USER, tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    )
    assert await _read(stream) == []
    (call,) = stream.completion.tool_calls
    assert (call.id, call.name, call.arguments) == (
        "call_7",
        "get_weather",
        {"city": "Paris", "days": 3},
    )
    assert stream.completion.content is None
    assert stream.completion.finish_reason == "tool_calls"


async def test_streamed_invalid_tool_arguments_are_flagged(
    client: ModelClient, server: FakeModelServer
) -> None:
    server.enqueue(Reply.invalid_tool_arguments("get_weather"))
    stream = client.astream(USER)
    await _read(stream)
    assert stream.completion.tool_calls[0].error is not None


async def test_opening_a_stream_is_retried(
    client: ModelClient, server: FakeModelServer, attempts
) -> None:
    server.enqueue(Fault.unavailable(), Fault.reset(), Reply.text("third time lucky"))
    stream = client.astream(USER)
    assert "".join(await _read(stream)) == "third time lucky"
    assert [a.outcome for a in stream.completion.attempts] == [
        "ModelServerError",
        "ModelConnectionError",
        "ok",
    ]
    assert attempts == stream.completion.attempts


async def test_a_stream_that_keeps_failing_raises(
    client: ModelClient, server: FakeModelServer
) -> None:
    server.enqueue(*[Fault.server_error()] * 3)
    with pytest.raises(ModelServerError):
        await _read(client.astream(USER))
    assert len(server.completion_requests()) == 3


async def test_a_stream_cut_after_its_first_chunks_raises_without_retrying(
    client: ModelClient, server: FakeModelServer
) -> None:
    server.enqueue(
        Fault.cut_stream(after_chunks=2, then=Reply.text("one two three four")),
        Reply.text("unused"),
    )
    stream = client.astream(USER)
    received: list[str] = []
    with pytest.raises(ModelConnectionError, match="stream broke after 2 text chunks"):
        async for delta in stream:
            received.append(delta)
    assert received == ["one", " two"]  # what was yielded cannot be taken back, so no retry
    assert len(server.completion_requests()) == 1
