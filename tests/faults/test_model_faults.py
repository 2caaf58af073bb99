"""A model server that misbehaves at the byte level: trickled answers, wrong shapes, broken streams.

Each case is a raw server on a real socket (``rawserver``); the client must end each attempt at its
deadline and name what was wrong, without retrying answers that cannot improve.
"""

from __future__ import annotations

import time

import pytest

from contextos import ModelClient, ModelResponseError, ModelTimeoutError, RetryPolicy
from contextos.llm._runtime import load_litellm

from .rawserver import RawServer, chunk, completion, event_stream, json_body, trickle

USER = [{"role": "user", "content": "hi"}]
TWO_TRIES = RetryPolicy(max_attempts=2, initial_wait_s=0, jitter_s=0)


@pytest.fixture(autouse=True, scope="module")
def _litellm_loaded() -> None:
    """Import litellm before any clock starts (its import alone takes seconds on a busy machine)."""
    load_litellm()


def _client(server: RawServer, timeout: float = 5) -> ModelClient:
    return ModelClient("hosted_vllm/m", api_base=server.api_base, timeout=timeout, retry=TWO_TRIES)


async def test_a_trickled_answer_ends_at_the_deadline_async() -> None:
    # 300-odd bytes, one every 0.1 s: every read is fast, the answer would take half a minute.
    with RawServer(trickle(completion(), every_s=0.1)) as server:
        started = time.monotonic()
        client = _client(server, timeout=1)
        attempts: list = []
        client.on_attempt = attempts.append
        with pytest.raises(ModelTimeoutError, match="no answer within 1 s"):
            await client.acomplete(USER)
        assert time.monotonic() - started < 4  # two attempts of 1 s, not 30 s each
        assert [a.outcome for a in attempts] == ["ModelTimeoutError"] * 2


def test_a_trickled_answer_ends_at_the_deadline_sync() -> None:
    with RawServer(trickle(completion(), every_s=0.1)) as server:
        started = time.monotonic()
        with pytest.raises(ModelTimeoutError):
            _client(server, timeout=1).complete(USER)
        assert time.monotonic() - started < 4


def test_contextos_complete_ends_at_its_timeout(cli) -> None:
    with RawServer(
        trickle(completion(), every_s=0.5)
    ) as server:  # the whole answer: nearly 3 minutes
        started = time.monotonic()
        done = cli(
            "complete",
            "hi",
            "--model",
            "hosted_vllm/m",
            "--api-base",
            server.api_base,
            "--timeout",
            "1",
            env={"CONTEXTOS_MAX_RETRIES": "0"},
        )
        took = time.monotonic() - started
    assert done.returncode != 0
    assert "no answer within 1 s" in done.stderr and "Traceback" not in done.stderr
    assert took < 60  # the interpreter's start and litellm's import included


async def test_a_trickled_stream_ends_at_the_deadline() -> None:
    with RawServer(trickle(completion(), every_s=0.1)) as server:
        started = time.monotonic()
        with pytest.raises(ModelTimeoutError):
            async for _ in _client(server, timeout=1).astream(USER):
                pass
        assert time.monotonic() - started < 4


@pytest.mark.parametrize(
    "body",
    [
        {"choices": "not a list"},
        [1, 2, 3],
        {"choices": [{"message": 5}]},
        "<html>a proxy's login page</html>",
    ],
    ids=["choices-text", "a-list", "message-number", "html"],
)
async def test_a_wrong_shaped_200_is_a_short_response_error_not_retried(body) -> None:
    secret = "sk-live-SECRET-in-the-body"
    shaped = body if not isinstance(body, dict) else {**body, "leak": secret}
    with RawServer(json_body(shaped)) as server:
        with pytest.raises(ModelResponseError) as caught:
            await _client(server).acomplete(USER)
    message = str(caught.value)
    assert server.requests == 1
    assert "not an OpenAI chat completion" in message
    assert "Traceback" not in message and secret not in message and len(message) < 400


async def test_negative_usage_is_rejected() -> None:
    with RawServer(json_body(completion(prompt_tokens=-5))) as server:
        with pytest.raises(ModelResponseError, match="prompt_tokens=-5"):
            await _client(server).acomplete(USER)


async def _stream_text(server: RawServer) -> str:
    return "".join([delta async for delta in _client(server).astream(USER)])


@pytest.mark.parametrize(
    "events, says",
    [
        ((), "without a single event"),
        (("[DONE]",), "without a single event"),
        (('{"id": "c1", "choi',), "event 1 of the stream is not a JSON object"),
        (
            (chunk("a"), "{garbage", chunk("b", "stop"), "[DONE]"),
            "event 2 of the stream is not a JSON object",
        ),
        ((chunk("a"), chunk("b")), "before the server finished its answer"),
    ],
    ids=["no-events", "done-only", "dies-in-first-event", "corrupt-event", "no-finish"],
)
async def test_a_broken_event_stream_is_an_error_not_an_empty_answer(events, says) -> None:
    with RawServer(event_stream(*events)) as server:
        with pytest.raises(ModelResponseError, match=says):
            await _stream_text(server)
        assert server.requests == 1


async def test_a_whole_event_stream_still_reads() -> None:
    with RawServer(event_stream(chunk("a"), chunk("b", "stop"), "[DONE]")) as server:
        assert await _stream_text(server) == "ab"
