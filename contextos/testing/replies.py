"""What a ``FakeModelServer`` answers: scripted replies and injected faults, as data."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal[
    "rate_limit",
    "server_error",
    "unavailable",
    "delay",
    "reset",
    "malformed_json",
    "context_length",
    "status",
    "cut_stream",
]


@dataclass(frozen=True)
class FakeToolCall:
    """A tool call the fake server puts in its reply."""

    name: str
    """The function name."""
    arguments: str
    """The arguments exactly as sent on the wire (a JSON string, or deliberately not JSON)."""
    id: str | None = None
    """The call id; the server makes one up when None."""


@dataclass(frozen=True)
class Reply:
    """A successful chat completion the fake server sends.

    ```python
    server.enqueue(Reply.text("Paris"), Reply.tool_call("get_weather", {"city": "Paris"}))
    ```
    """

    content: str | None = None
    """The assistant text (None with tool calls only)."""
    tool_calls: tuple[FakeToolCall, ...] = ()
    """Tool calls to return."""
    finish_reason: str | None = None
    """Defaults to ``tool_calls`` when there are tool calls, else ``stop``."""
    completion_tokens: int | None = None
    """Reported completion tokens; default: the number of words of ``content`` (at least 1)."""
    cached_tokens: int | None = None
    """Reported ``prompt_tokens_details.cached_tokens``; default: the server's prefix-cache estimate."""

    @classmethod
    def text(cls, content: str, **kwargs: Any) -> Reply:
        """A plain text answer."""
        return cls(content=content, **kwargs)

    @classmethod
    def tool_call(
        cls,
        name: str,
        arguments: dict[str, Any] | str,
        *,
        id: str | None = None,
        content: str | None = None,
    ) -> Reply:
        """One tool call; ``arguments`` as a dict (sent as JSON) or a raw string (sent verbatim, even if not JSON)."""
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        return cls(content=content, tool_calls=(FakeToolCall(name=name, arguments=raw, id=id),))

    @classmethod
    def invalid_tool_arguments(cls, name: str, raw: str = '{"city": "Par') -> Reply:
        """A tool call whose arguments are not valid JSON (as a weak model produces)."""
        return cls.tool_call(name, raw)


@dataclass(frozen=True)
class Fault:
    """A failure the fake server injects instead of answering.

    ```python
    server.enqueue(Fault.rate_limit(retry_after=1), Fault.server_error(), Reply.text("ok"))
    ```
    """

    kind: FaultKind
    """What goes wrong."""
    status: int = 500
    """HTTP status for ``status``/``server_error``/``unavailable``/``rate_limit`` faults."""
    retry_after: float | None = None
    """``Retry-After`` header value in seconds (429 and 503)."""
    seconds: float = 0.0
    """How long a ``delay`` fault waits before answering."""
    then: Reply | None = None
    """What a ``delay`` fault answers after waiting, or a ``cut_stream`` fault starts to stream (default: the server's default reply)."""
    after_chunks: int = 0
    """How many content chunks a ``cut_stream`` fault sends before dropping the connection."""
    message: str = ""
    """The error message in the body."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra response headers."""

    @classmethod
    def rate_limit(cls, retry_after: float | None = 1) -> Fault:
        """429 Too Many Requests, with ``Retry-After`` when given."""
        return cls(
            "rate_limit",
            status=429,
            retry_after=retry_after,
            message="Too many requests, slow down.",
        )

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        """A 5xx with an error body (500 by default)."""
        return cls(
            "server_error",
            status=status,
            message="Internal server error (injected by FakeModelServer).",
        )

    @classmethod
    def unavailable(cls, retry_after: float | None = None) -> Fault:
        """503 Service Unavailable, as a server that is loading or overloaded answers."""
        return cls(
            "unavailable",
            status=503,
            retry_after=retry_after,
            message="Service unavailable (injected).",
        )

    @classmethod
    def delay(cls, seconds: float, then: Reply | None = None) -> Fault:
        """Wait ``seconds`` before answering (past a client's timeout, to test it)."""
        return cls("delay", seconds=seconds, then=then)

    @classmethod
    def reset(cls) -> Fault:
        """Drop the connection with a TCP reset before answering."""
        return cls("reset")

    @classmethod
    def cut_stream(cls, after_chunks: int = 2, then: Reply | None = None) -> Fault:
        """Start streaming, then drop the connection after ``after_chunks`` content chunks (a plain request: a reset)."""
        return cls("cut_stream", after_chunks=after_chunks, then=then)

    @classmethod
    def malformed_json(cls) -> Fault:
        """200 OK with a body that is not JSON."""
        return cls("malformed_json", status=200)

    @classmethod
    def context_length(cls, max_model_len: int = 4096, requested: int = 5000) -> Fault:
        """vLLM's 400 for a prompt longer than the model's context."""
        return cls(
            "context_length", status=400, message=context_length_message(max_model_len, requested)
        )

    @classmethod
    def status_code(cls, status: int, message: str = "") -> Fault:
        """Any status with an OpenAI-style error body (401, 404, 422, ...)."""
        return cls(
            "status",
            status=status,
            message=message or f"Error {status} (injected by FakeModelServer).",
        )


def context_length_message(max_model_len: int, requested: int) -> str:
    """The message vLLM's OpenAI server sends when a request does not fit the context."""
    return (
        f"This model's maximum context length is {max_model_len} tokens. However, you requested "
        f"{requested} tokens in the messages. Please reduce the length of the messages."
    )
