"""A raw HTTP server on 127.0.0.1 for faults the fake vLLM server cannot make: bytes trickled one at a
time, wrong-shaped bodies, event streams that die or carry garbage."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

Answer = Callable[[socket.socket], None]


class RawServer:
    """Answers every request with ``answer(conn)``, which writes raw bytes; counts the requests.

    ```python
    with RawServer(json_body({"choices": "nope"})) as server:
        ModelClient("hosted_vllm/m", api_base=server.api_base).complete(...)
    ```
    """

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests = 0
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                _read_request(conn)
                self.requests += 1
                self.answer(conn)
            except OSError:
                pass  # the client gave up: what these tests provoke


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        body += conn.recv(65536)


def _head(status: str, content_type: str, length: int | None) -> bytes:
    size = f"Content-Length: {length}\r\n" if length is not None else ""
    return f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n{size}Connection: close\r\n\r\n".encode()


def json_body(body: Any, status: str = "200 OK") -> Answer:
    """Answer with ``body`` as JSON (any shape, or raw text when it is a str)."""
    data = (body if isinstance(body, str) else json.dumps(body)).encode()

    def answer(conn: socket.socket) -> None:
        conn.sendall(_head(status, "application/json", len(data)) + data)

    return answer


def trickle(body: Any, every_s: float = 0.2) -> Answer:
    """A valid answer sent one byte every ``every_s`` seconds: each read is quick, the whole is not."""
    data = json.dumps(body).encode()

    def answer(conn: socket.socket) -> None:
        conn.sendall(_head("200 OK", "application/json", len(data)))
        for byte in data:
            conn.sendall(bytes([byte]))
            time.sleep(every_s)

    return answer


def event_stream(*events: str, close: bool = True) -> Answer:
    """An SSE answer with these raw ``data:`` payloads (a payload "" sends nothing), then the close."""

    def answer(conn: socket.socket) -> None:
        conn.sendall(_head("200 OK", "text/event-stream", None))
        for event in events:
            if event:
                conn.sendall(f"data: {event}\n\n".encode())

    return answer


def completion(content: str = "hello", **usage: int) -> dict[str, Any]:
    """A well-formed chat completion body."""
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4, **usage},
    }


def chunk(content: str | None = None, finish: str | None = None) -> str:
    """One streamed chunk's JSON."""
    delta = {"content": content} if content is not None else {}
    return json.dumps(
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
    )
