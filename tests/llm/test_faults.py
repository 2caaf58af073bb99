"""Every fault class of the fake server: retried or not, mapped to the specific contextos exception."""

from __future__ import annotations

import socket

import pytest

from contextos import (
    AllModelsFailedError,
    Attempt,
    ContextWindowExceededError,
    ModelAuthenticationError,
    ModelClient,
    ModelConnectionError,
    ModelError,
    ModelNotFoundError,
    ModelRequestError,
    ModelResponseError,
    ModelServerError,
    ModelTimeoutError,
    RateLimitedError,
    RetryPolicy,
)
from contextos.llm import Endpoint
from contextos.testing import FakeModelServer, Fault, Reply

from .conftest import FAST, USER

RETRIED = [
    pytest.param(Fault.rate_limit(retry_after=None), RateLimitedError, id="429"),
    pytest.param(Fault.server_error(500), ModelServerError, id="500"),
    pytest.param(Fault.server_error(502), ModelServerError, id="502"),
    pytest.param(Fault.unavailable(), ModelServerError, id="503"),
    pytest.param(Fault.reset(), ModelConnectionError, id="connection-reset"),
    pytest.param(Fault.delay(1.0), ModelTimeoutError, id="timeout"),
]


def _client(server: FakeModelServer, attempts: list[Attempt], **kwargs) -> ModelClient:
    kwargs.setdefault("retry", FAST)
    kwargs.setdefault("timeout", 0.5)
    return ModelClient(
        "hosted_vllm/fake-model", api_base=server.api_base, on_attempt=attempts.append, **kwargs
    )


@pytest.mark.parametrize(("fault", "error"), RETRIED)
async def test_retryable_fault_is_retried_then_succeeds(server, attempts, fault, error) -> None:
    server.enqueue(fault, Reply.text("recovered"))
    completion = await _client(server, attempts).acomplete(USER)
    assert completion.content == "recovered"
    assert [a.outcome for a in completion.attempts] == [error.__name__, "ok"]
    assert attempts == completion.attempts  # the hook saw both, in order
    assert attempts[0].wait_s is not None and attempts[0].wait_s > 0
    assert attempts[1].wait_s is None
    assert len(server.completion_requests()) == 2


@pytest.mark.parametrize(("fault", "error"), RETRIED)
def test_retryable_fault_that_persists_raises_its_error_after_all_attempts(
    server, attempts, fault, error
) -> None:
    server.enqueue(fault, fault, fault)
    with pytest.raises(error) as raised:
        _client(server, attempts).complete(USER)
    assert raised.value.attempts == 3
    assert raised.value.model == "hosted_vllm/fake-model"
    assert [a.number for a in attempts] == [1, 2, 3]
    assert attempts[-1].wait_s is None
    assert len(server.completion_requests()) == 3


NOT_RETRIED = [
    pytest.param(
        Fault.context_length(4096, 5000),
        ContextWindowExceededError,
        "maximum context length is 4096",
        id="context-length",
    ),
    pytest.param(Fault.status_code(400, "bad field"), ModelRequestError, "bad field", id="400"),
    pytest.param(
        Fault.status_code(422, "unprocessable"), ModelRequestError, "unprocessable", id="422"
    ),
    pytest.param(Fault.status_code(401), ModelAuthenticationError, "api key", id="401"),
    pytest.param(Fault.status_code(404), ModelNotFoundError, "/v1/models", id="404"),
    pytest.param(
        Fault.malformed_json(),
        ModelResponseError,
        "not an OpenAI chat completion",
        id="malformed-json",
    ),
]


@pytest.mark.parametrize(("fault", "error", "says"), NOT_RETRIED)
async def test_non_retryable_fault_surfaces_at_once(server, attempts, fault, error, says) -> None:
    server.enqueue(fault, Reply.text("never reached"))
    with pytest.raises(error, match=says) as raised:
        await _client(server, attempts).acomplete(USER)
    assert type(raised.value) is error
    assert len(server.completion_requests()) == 1
    assert [a.outcome for a in attempts] == [error.__name__]
    assert attempts[0].wait_s is None


async def test_real_context_overflow_from_the_server(attempts) -> None:
    with FakeModelServer(context_window=8) as server:
        with pytest.raises(ContextWindowExceededError, match="Budget"):
            await _client(server, attempts).acomplete(
                [{"role": "user", "content": "one two three four five six seven"}], max_tokens=4
            )


async def test_unknown_model_is_model_not_found(server, attempts) -> None:
    client = ModelClient("hosted_vllm/other-model", api_base=server.api_base, retry=FAST, timeout=2)
    with pytest.raises(ModelNotFoundError, match="other-model"):
        await client.acomplete(USER)


async def test_wrong_api_key_is_an_authentication_error(attempts) -> None:
    with FakeModelServer(api_key="right") as server:
        with pytest.raises(ModelAuthenticationError, match="CONTEXTOS_API_KEY"):
            await _client(server, attempts, api_key="wrong").acomplete(USER)
        assert len(server.completion_requests()) == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_connection_refused_is_a_connection_error(attempts, mode) -> None:
    # litellm reports a refused connection as InternalServerError (500); it must not read as a server error.
    port = _closed_port()
    client = ModelClient(
        "hosted_vllm/fake-model",
        api_base=f"http://127.0.0.1:{port}/v1",
        retry=FAST,
        timeout=2,
        on_attempt=attempts.append,
    )
    with pytest.raises(
        ModelConnectionError, match=f"could not connect.*`curl -f http://127.0.0.1:{port}/health`"
    ):
        if mode == "sync":
            client.complete(USER)
        else:
            await client.acomplete(USER)
    assert [a.outcome for a in attempts] == ["ModelConnectionError"] * 3


async def test_retry_after_is_honoured(server, attempts) -> None:
    server.enqueue(Fault.rate_limit(retry_after=1), Reply.text("ok"))
    completion = await _client(server, attempts).acomplete(USER)
    first = completion.attempts[0]
    assert first.status_code == 429
    assert first.retry_after_s == 1.0
    # The backoff alone would wait at most 0.05 s (+0.01 jitter); Retry-After raised it to 1 s.
    assert first.wait_s == pytest.approx(1.0)
    requests = server.completion_requests()
    assert requests[1].received_at - requests[0].received_at >= 1.0


async def test_retry_after_longer_than_the_cap_is_cut(server, attempts) -> None:
    server.enqueue(Fault.unavailable(retry_after=30), Reply.text("ok"))
    retry = RetryPolicy(max_attempts=2, initial_wait_s=0.01, jitter_s=0, max_retry_after_s=0.2)
    completion = await _client(server, attempts, retry=retry).acomplete(USER)
    assert completion.attempts[0].retry_after_s == 30.0
    assert completion.attempts[0].wait_s == pytest.approx(0.2)


def test_backoff_grows_exponentially_within_bounds(server, attempts) -> None:
    retry = RetryPolicy(
        max_attempts=4, initial_wait_s=0.02, multiplier=2, max_wait_s=0.05, jitter_s=0
    )
    server.enqueue(
        Fault.server_error(), Fault.server_error(), Fault.server_error(), Reply.text("ok")
    )
    _client(server, attempts, retry=retry).complete(USER)
    assert [round(a.wait_s, 3) for a in attempts[:3]] == [0.02, 0.04, 0.05]


async def test_no_retries_policy_makes_one_call(server, attempts) -> None:
    server.enqueue(Fault.server_error(), Reply.text("ok"))
    with pytest.raises(ModelServerError):
        await _client(server, attempts, retry=RetryPolicy.none()).acomplete(USER)
    assert len(server.completion_requests()) == 1


async def test_fallback_model_on_another_server_answers_when_the_first_keeps_failing(
    server, attempts
) -> None:
    with FakeModelServer(models=("backup-model",)) as backup:
        server.enqueue(*[Fault.server_error()] * 3)
        client = _client(
            server,
            attempts,
            fallbacks=[Endpoint(model="hosted_vllm/backup-model", api_base=backup.api_base)],
        )
        completion = await client.acomplete(USER)
        assert completion.attempts[-1].api_base == backup.api_base
    assert completion.model == "hosted_vllm/backup-model"
    assert completion.content == "fake reply to: What is the capital of France?"
    assert [(a.model, a.outcome) for a in completion.attempts] == [
        ("hosted_vllm/fake-model", "ModelServerError")
    ] * 3 + [("hosted_vllm/backup-model", "ok")]


def test_string_fallback_shares_the_server(attempts) -> None:
    with FakeModelServer(models=("big", "small")) as server:
        server.responder = lambda request: (
            Fault.unavailable() if request.body["model"] == "big" else Reply.text("small says hi")
        )
        client = ModelClient(
            "hosted_vllm/big",
            api_base=server.api_base,
            retry=FAST,
            fallbacks=["hosted_vllm/small"],
            timeout=2,
        )
        completion = client.complete(USER)
    assert completion.content == "small says hi"
    assert completion.model == "hosted_vllm/small"


async def test_all_models_failing_raises_all_models_failed_with_each_error(
    server, attempts
) -> None:
    refused = f"http://127.0.0.1:{_closed_port()}/v1"
    server.enqueue(*[Fault.server_error()] * 3)
    client = _client(
        server, attempts, fallbacks=[Endpoint(model="hosted_vllm/fake-model", api_base=refused)]
    )
    with pytest.raises(AllModelsFailedError) as raised:
        await client.acomplete(USER)
    assert [type(e) for e in raised.value.errors] == [ModelServerError, ModelConnectionError]
    assert raised.value.attempts == 6
    # counted per server, even for the same model
    assert [a.number for a in attempts] == [
        1,
        2,
        3,
        1,
        2,
        3,
    ]
    assert "All 2 models failed" in str(raised.value)
    assert isinstance(raised.value, ModelError)


async def test_a_request_error_is_not_hidden_by_a_fallback(server, attempts) -> None:
    with FakeModelServer() as backup:
        server.enqueue(Fault.context_length())
        client = _client(
            server,
            attempts,
            fallbacks=[Endpoint(model="hosted_vllm/fake-model", api_base=backup.api_base)],
        )
        with pytest.raises(ContextWindowExceededError):
            await client.acomplete(USER)
        assert backup.completion_requests() == []


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        pytest.param(Fault.status_code(401), ModelAuthenticationError, id="401"),
        pytest.param(Fault.status_code(403), ModelAuthenticationError, id="403"),
        pytest.param(Fault.status_code(404), ModelNotFoundError, id="404"),
        pytest.param(Fault.malformed_json(), ModelResponseError, id="malformed-json"),
    ],
)
async def test_a_deployment_failure_goes_to_the_next_model_at_once(
    server, attempts, fault, error
) -> None:
    # Retrying the same server cannot help (wrong key, unknown model, broken answers); another deployment may.
    with FakeModelServer() as backup:
        server.enqueue(fault)
        client = _client(
            server,
            attempts,
            fallbacks=[Endpoint(model="hosted_vllm/fake-model", api_base=backup.api_base)],
        )
        completion = await client.acomplete(USER)
        assert len(backup.completion_requests()) == 1
        assert [(a.api_base, a.outcome) for a in completion.attempts] == [
            (server.api_base, error.__name__),
            (backup.api_base, "ok"),
        ]
    assert len(server.completion_requests()) == 1


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(Fault.status_code(400, "bad field"), id="400"),
        pytest.param(Fault.status_code(422, "unprocessable"), id="422"),
    ],
)
async def test_a_bad_request_is_not_sent_to_the_fallback(server, attempts, fault) -> None:
    with FakeModelServer() as backup:
        server.enqueue(fault)
        client = _client(
            server,
            attempts,
            fallbacks=[Endpoint(model="hosted_vllm/fake-model", api_base=backup.api_base)],
        )
        with pytest.raises(ModelRequestError):
            await client.acomplete(USER)
        assert backup.completion_requests() == []
