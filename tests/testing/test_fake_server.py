"""FakeModelServer speaks vLLM's protocol over a real socket (checked here with plain HTTP, no litellm)."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

from contextos.testing import FakeModelServer, Fault, Reply


def _post(
    server: FakeModelServer, body: dict, headers: dict | None = None
) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        f"{server.api_base}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


CHAT = {"model": "fake-model", "messages": [{"role": "user", "content": "Hello there"}]}


def test_health_and_models() -> None:
    with FakeModelServer(models=("a", "b"), context_window=2048) as server:
        with urllib.request.urlopen(f"{server.url}/health", timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"{server.api_base}/models", timeout=5) as response:
            data = json.loads(response.read())
    assert [m["id"] for m in data["data"]] == ["a", "b"]
    assert data["data"][0]["max_model_len"] == 2048


def test_default_reply_usage_and_recorded_request() -> None:
    with FakeModelServer() as server:
        status, _, body = _post(server, CHAT)
        assert status == 200
        assert body["choices"][0]["message"]["content"] == "fake reply to: Hello there"
        assert body["usage"]["prompt_tokens"] == 3
        assert body["usage"]["prompt_tokens_details"] == {"cached_tokens": 0}
        (recorded,) = server.completion_requests()
        assert recorded.body == CHAT
        assert recorded.last_user_text == "Hello there"


def test_queue_then_responder() -> None:
    with FakeModelServer(responder=lambda r: Reply.text(r.body["model"].upper())) as server:
        server.enqueue(Reply.text("first"))
        assert server.pending == 1
        assert _post(server, CHAT)[2]["choices"][0]["message"]["content"] == "first"
        assert _post(server, CHAT)[2]["choices"][0]["message"]["content"] == "FAKE-MODEL"


def test_errors_in_vllm_format() -> None:
    with FakeModelServer(api_key="k", context_window=5) as server:
        assert _post(server, CHAT)[0] == 401
        auth = {"Authorization": "Bearer k"}
        status, _, body = _post(server, {**CHAT, "model": "nope"}, auth)
        assert (status, body["object"], body["type"]) == (404, "error", "NotFoundError")
        status, _, body = _post(server, {**CHAT, "max_tokens": 10}, auth)
        assert status == 400 and "maximum context length is 5 tokens" in body["message"]
        server.enqueue(Fault.rate_limit(retry_after=2))
        status, headers, _ = _post(server, CHAT, auth)
        assert (status, headers["Retry-After"]) == (429, "2")


def test_malformed_json_and_reset() -> None:
    with FakeModelServer() as server:
        server.enqueue(Fault.malformed_json())
        request = urllib.request.Request(
            f"{server.api_base}/chat/completions", data=json.dumps(CHAT).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            with pytest.raises(ValueError):
                json.loads(response.read())
        server.enqueue(Fault.reset())
        with pytest.raises((ConnectionError, urllib.error.URLError, OSError)):
            _post(server, CHAT)


def test_stream_is_server_sent_events_with_a_usage_chunk() -> None:
    with FakeModelServer() as server:
        server.enqueue(Reply.text("one two"))
        request = urllib.request.Request(
            f"{server.api_base}/chat/completions",
            data=json.dumps(
                {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
            ).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.headers["Content-Type"] == "text/event-stream"
            events = [
                line[6:]
                for line in response.read().decode().splitlines()
                if line.startswith("data: ")
            ]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert (
        "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
        == "one two"
    )
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 2


def test_prefix_cache_estimate_counts_whole_blocks() -> None:
    with FakeModelServer(block_size=4) as server:
        long = {"role": "system", "content": "a b c d e f g h i"}
        _post(server, {**CHAT, "messages": [long, {"role": "user", "content": "x"}]})
        _, _, body = _post(server, {**CHAT, "messages": [long, {"role": "user", "content": "y"}]})
    # Shared: "<system>" + 9 words + "<user>" = 11 tokens -> 8 in blocks of 4.
    assert body["usage"]["prompt_tokens_details"]["cached_tokens"] == 8


def test_stop_is_quick_even_with_a_delayed_answer_in_flight() -> None:
    server = FakeModelServer().start()
    server.enqueue(Fault.delay(30))
    client = socket.create_connection(("127.0.0.1", server.port))
    payload = json.dumps(CHAT).encode()
    client.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
        % (len(payload), payload)
    )
    server.stop()
    client.close()
    with pytest.raises(RuntimeError, match="not started"):
        server.port
