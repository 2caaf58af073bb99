"""A fake vLLM-compatible OpenAI server for tests: real HTTP on 127.0.0.1, scripted answers, injected faults.

```python
with FakeModelServer() as server:
    server.enqueue(Fault.rate_limit(retry_after=1), Reply.text("Paris"))
    client = ModelClient("hosted_vllm/fake-model", api_base=server.api_base)
    assert client.complete([{"role": "user", "content": "Capital of France?"}]).content == "Paris"
    assert len(server.requests) == 2
```

It speaks the parts of vLLM's API that clients use: ``GET /health``, ``GET /v1/models``,
``POST /tokenize`` (a chat request's prompt tokens, counted as completions count them) and
``POST /v1/chat/completions`` (plain, with tools, and SSE streaming with a final usage chunk),
errors in vLLM's body format, and ``usage.prompt_tokens_details.cached_tokens`` estimated like a
prefix cache (the longest token prefix shared with an earlier request, in whole blocks).
Tokens here are whitespace-separated words: cheap, deterministic, and good enough for tests.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from contextos.testing.replies import Fault, Reply, context_length_message

Responder = Callable[["RecordedRequest"], "Reply | Fault"]
_WORD = re.compile(r"\S+")


@dataclass
class RecordedRequest:
    """One request the fake server received."""

    method: str
    """``GET`` or ``POST``."""
    path: str
    """The request path, e.g. ``/v1/chat/completions``."""
    headers: dict[str, str]
    """Request headers (lower-cased names)."""
    body: dict[str, Any] | None
    """The parsed JSON body (None for GET or a body that is not JSON)."""
    received_at: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when it arrived."""

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages of a completion request (empty otherwise)."""
        return list((self.body or {}).get("messages") or [])

    @property
    def last_user_text(self) -> str:
        """The text of the last user message, or ``""``."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return _text_of(message.get("content"))
        return ""


def prompt_words(messages: Iterable[dict[str, Any]]) -> list[str]:
    """The fake server's tokenization of a prompt: role and content words, message by message."""
    words: list[str] = []
    for message in messages:
        words.append(f"<{message.get('role', '')}>")
        words.extend(_WORD.findall(_text_of(message.get("content"))))
        for call in message.get("tool_calls") or []:
            function = call.get("function", {})
            words.extend(
                _WORD.findall(f"{function.get('name', '')} {function.get('arguments', '')}")
            )
    return words


class FakeModelServer:
    """An in-process OpenAI-compatible server on 127.0.0.1 at a random port, behaving like vLLM's.

    Answers come from a queue (``enqueue``), else from ``responder(request)``, else a default
    echo (``"fake reply to: <last user message>"``). Every request is kept in ``requests``.

    ```python
    with FakeModelServer(models=("fake-model",), context_window=4096) as server:
        server.api_base   # "http://127.0.0.1:PORT/v1", for ModelClient(api_base=...)
    ```
    """

    def __init__(
        self,
        *,
        models: Iterable[str] = ("fake-model",),
        api_key: str | None = None,
        context_window: int | None = None,
        block_size: int = 16,
        responder: Responder | None = None,
        tokenize: bool = True,
    ) -> None:
        self.models = tuple(models)
        """Model names served; a request for another gets vLLM's 404."""
        self.api_key = api_key
        """When set, requests without ``Authorization: Bearer <api_key>`` get a 401."""
        self.context_window = context_window
        """When set, prompts longer than this (in words, plus ``max_tokens``) get vLLM's context-length 400."""
        self.block_size = block_size
        """Granularity of the prefix-cache estimate behind ``cached_tokens``."""
        self.responder = responder
        """Called for each completion request when the queue is empty."""
        self.tokenize = tokenize
        """Whether ``POST /tokenize`` answers (False: a 404, as from a server without the endpoint)."""
        self.requests: list[RecordedRequest] = []
        """Every request received, in order."""
        self._queue: deque[Reply | Fault] = deque()
        self._seen_prompts: list[list[str]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeModelServer:
        """Bind a random port on 127.0.0.1 and serve in a background thread."""
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        # A short poll interval makes stop() quick (the default waits up to 0.5 s).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="FakeModelServer",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; delayed answers in flight are cut short."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> FakeModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port it listens on."""
        if self._httpd is None:
            raise RuntimeError(
                "FakeModelServer is not started: use `with FakeModelServer() as server:`"
            )
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """``http://127.0.0.1:PORT/v1``: what ``ModelClient(api_base=...)`` takes."""
        return f"{self.url}/v1"

    # -- scripting ---------------------------------------------------------------------------
    def enqueue(self, *answers: Reply | Fault) -> None:
        """Answer the next completion requests with these, in order."""
        with self._lock:
            self._queue.extend(answers)

    @property
    def pending(self) -> int:
        """How many queued answers are not used yet."""
        with self._lock:
            return len(self._queue)

    def completion_requests(self) -> list[RecordedRequest]:
        """The ``/v1/chat/completions`` requests received so far."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_answer(self, request: RecordedRequest) -> Reply | Fault:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            return self.responder(request)
        return Reply.text(f"fake reply to: {request.last_user_text}")

    def _cached_tokens(self, words: list[str]) -> int:
        """Longest prefix shared with an earlier prompt, in whole blocks (as a KV prefix cache reuses)."""
        with self._lock:
            best = 0
            for seen in self._seen_prompts:
                shared = 0
                for a, b in zip(seen, words):
                    if a != b:
                        break
                    shared += 1
                best = max(best, shared)
            self._seen_prompts.append(words)
        return best - best % self.block_size


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout) or a reset we injected: not the server's problem to report.
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, OSError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeModelServer
    protocol_version = "HTTP/1.1"
    # Without this every response waits for the client's delayed ACK (~40 ms per call).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def parse_request(self) -> bool:
        # A stopped server answers nothing, not even on a connection kept alive from before it
        # stopped: clients see it as they see a dead process.
        if self.fake._stopping.is_set():
            self.close_connection = True
            return False
        return super().parse_request()

    # -- routes ------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self.fake._record(RecordedRequest("GET", self.path, _lower(self.headers), None))
        if self.path == "/health":
            self._send(200, b"", "text/plain")
        elif self.path in ("/v1/models", "/models"):
            data = [
                {
                    "id": m,
                    "object": "model",
                    "owned_by": "vllm",
                    "max_model_len": self.fake.context_window,
                }
                for m in self.fake.models
            ]
            self._json(200, {"object": "list", "data": data})
        else:
            self._error(404, f"Not found: {self.path}", "NotFoundError")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        request = RecordedRequest(
            "POST", self.path, _lower(self.headers), body if isinstance(body, dict) else None
        )
        self.fake._record(request)
        if self.path == "/tokenize" and request.body is not None and self.fake.tokenize:
            self._tokenize(request)
            return
        if not self.path.endswith("/chat/completions"):
            self._error(404, f"Not found: {self.path}", "NotFoundError")
            return
        if request.body is None:
            self._error(400, "The request body is not a JSON object.", "BadRequestError")
            return
        if (
            self.fake.api_key is not None
            and request.headers.get("authorization") != f"Bearer {self.fake.api_key}"
        ):
            self._error(401, "Unauthorized: wrong or missing api key.", "AuthenticationError")
            return
        model = request.body.get("model")
        if model not in self.fake.models:
            self._error(404, f"The model `{model}` does not exist.", "NotFoundError")
            return
        words = prompt_words(request.messages)
        max_tokens = int(
            request.body.get("max_tokens") or request.body.get("max_completion_tokens") or 0
        )
        if (
            self.fake.context_window is not None
            and len(words) + max_tokens > self.fake.context_window
        ):
            self._error(
                400,
                context_length_message(self.fake.context_window, len(words) + max_tokens),
                "BadRequestError",
            )
            return
        answer = self.fake._next_answer(request)
        if isinstance(answer, Fault) and answer.kind == "cut_stream" and request.body.get("stream"):
            self._complete(
                request,
                answer.then or Reply.text(f"fake reply to: {request.last_user_text}"),
                words,
                cut_after=answer.after_chunks,
            )
            return
        if isinstance(answer, Fault):
            reply = self._fault(answer)
            if reply is None:
                return
            answer = reply
        self._complete(request, answer, words)

    def _tokenize(self, request: RecordedRequest) -> None:
        """vLLM's ``/tokenize`` for a chat request: the prompt's tokens as completions count them (words)."""
        body = request.body or {}  # routed here only with a JSON body
        if body.get("model") not in self.fake.models:
            self._error(404, f"The model `{body.get('model')}` does not exist.", "NotFoundError")
            return
        words = prompt_words(request.messages)
        self._json(
            200,
            {
                "count": len(words),
                "max_model_len": self.fake.context_window or 0,
                "tokens": list(range(len(words))),
            },
        )

    # -- answers -----------------------------------------------------------------------------
    def _fault(self, fault: Fault) -> Reply | None:
        """Carry out ``fault``; return the reply to send afterwards, if any."""
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["Retry-After"] = _seconds(fault.retry_after)
        if fault.kind == "delay":
            if self.fake._stopping.wait(fault.seconds):
                self.close_connection = True
                return None
            return fault.then or Reply.text(f"fake reply after {fault.seconds}s")
        if fault.kind in ("reset", "cut_stream"):
            self._reset()
            return None
        if fault.kind == "malformed_json":
            self._send(
                200, b'{"id": "chatcmpl-broken", "choices": [ {"message": ', "application/json"
            )
            return None
        error_type = {
            429: "RateLimitError",
            400: "BadRequestError",
            503: "ServiceUnavailableError",
        }.get(fault.status, "APIError")
        self._error(fault.status, fault.message, error_type, headers)
        return None

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout turns close() into a TCP RST.
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _complete(
        self, request: RecordedRequest, reply: Reply, words: list[str], cut_after: int | None = None
    ) -> None:
        body = request.body or {}
        cached = (
            self.fake._cached_tokens(words) if reply.cached_tokens is None else reply.cached_tokens
        )
        completion_tokens = reply.completion_tokens
        if completion_tokens is None:
            completion_tokens = max(
                1, len(_WORD.findall(reply.content or "")) + 4 * len(reply.tool_calls)
            )
        usage = {
            "prompt_tokens": len(words),
            "completion_tokens": completion_tokens,
            "total_tokens": len(words) + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached},
        }
        tool_calls = [
            {
                "id": call.id or f"chatcmpl-tool-{uuid.uuid4().hex[:16]}",
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in reply.tool_calls
        ]
        finish = reply.finish_reason or ("tool_calls" if tool_calls else "stop")
        ident = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        model = body.get("model")
        if body.get("stream"):
            self._stream(
                ident, created, model, reply.content, tool_calls, finish, usage, body, cut_after
            )
            return
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if tool_calls:
            message["tool_calls"] = tool_calls
        self._json(
            200,
            {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
                ],
                "usage": usage,
            },
        )

    def _stream(
        self,
        ident: str,
        created: int,
        model: Any,
        content: str | None,
        tool_calls: list[dict[str, Any]],
        finish: str,
        usage: dict[str, Any],
        body: dict[str, Any],
        cut_after: int | None = None,
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def event(
            delta: dict[str, Any],
            finish_reason: str | None = None,
            extra: dict[str, Any] | None = None,
        ) -> None:
            chunk = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                **(extra or {}),
            }
            self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())

        event({"role": "assistant", "content": ""})
        # Split like a tokenizer would: each word with its leading space is one delta.
        for index, piece in enumerate(re.findall(r"\s*\S+", content or "")):
            if cut_after is not None and index == cut_after:
                self._reset()
                return
            event({"content": piece})
        for index, call in enumerate(tool_calls):
            event(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["function"]["name"], "arguments": ""},
                        }
                    ]
                }
            )
            event(
                {
                    "tool_calls": [
                        {"index": index, "function": {"arguments": call["function"]["arguments"]}}
                    ]
                }
            )
        event({}, finish)
        if (body.get("stream_options") or {}).get("include_usage"):
            self._chunk(
                f"data: {json.dumps({'id': ident, 'object': 'chat.completion.chunk', 'created': created, 'model': model, 'choices': [], 'usage': usage})}\n\n".encode()
            )
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    # -- wire helpers ------------------------------------------------------------------------
    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _error(
        self, status: int, message: str, error_type: str, headers: dict[str, str] | None = None
    ) -> None:
        # vLLM's error body: a flat object, not OpenAI's {"error": {...}}.
        self._json(
            status,
            {
                "object": "error",
                "message": message,
                "type": error_type,
                "param": None,
                "code": status,
            },
            headers,
        )


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""
