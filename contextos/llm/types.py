"""What a model call returns and records: ``Completion``, ``ToolCall``, ``Usage``, ``Attempt``, ``Endpoint``."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contextos._checked import CheckedModel
from contextos.errors import ConfigError, ContextOSError


class Usage(BaseModel):
    """Token accounting of one completion, as the server reported it."""

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    """Tokens of the prompt (messages and tools)."""
    completion_tokens: int = 0
    """Tokens generated."""
    cached_tokens: int = 0
    """Prompt tokens served from the server's prefix cache (``prompt_tokens_details.cached_tokens``; 0 when not reported)."""

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


class ToolCall(BaseModel):
    """One tool call the model asked for.

    Arguments that are not a JSON object do not raise: ``arguments`` is then ``{}``, ``raw_arguments``
    keeps what the model wrote and ``error`` says what is wrong, so that an agent can return that
    error to the model as the tool's result and let it try again.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    """The call id, to pair the tool's result with this call."""
    name: str
    """The tool's name."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """Parsed arguments (``{}`` when ``raw_arguments`` is not a JSON object)."""
    raw_arguments: str = ""
    """The arguments exactly as the model wrote them."""
    error: str | None = None
    """Why ``raw_arguments`` could not be parsed; None when they were valid."""

    @property
    def valid(self) -> bool:
        """True when the arguments parsed to a JSON object."""
        return self.error is None

    @classmethod
    def parse(cls, id: str, name: str, raw_arguments: str | None) -> ToolCall:
        """Build a call from the wire form, flagging (not raising on) arguments that are not a JSON object."""
        raw = raw_arguments or ""
        if not raw.strip():
            return cls(id=id, name=name, arguments={}, raw_arguments=raw)
        try:
            value = json.loads(raw)
        except ValueError as exc:
            return cls(
                id=id,
                name=name,
                raw_arguments=raw,
                error=f"arguments of {name!r} are not valid JSON ({exc}): {raw[:200]}",
            )
        if not isinstance(value, dict):
            return cls(
                id=id,
                name=name,
                raw_arguments=raw,
                error=f"arguments of {name!r} must be a JSON object, got {type(value).__name__}",
            )
        return cls(id=id, name=name, arguments=value, raw_arguments=raw)


class Attempt(BaseModel):
    """One call to one model: what the ``on_attempt`` hook receives and ``Completion.attempts`` lists."""

    model_config = ConfigDict(frozen=True)

    model: str
    """The model string called (``hosted_vllm/...``, ``offline/demo``, ...)."""
    api_base: str | None = None
    """The server called (None for a provider's default)."""
    number: int
    """1 for the first call to this model, 2 for its first retry, ..."""
    outcome: str
    """``"ok"``, or the contextos exception class name (``"RateLimitedError"``, ...)."""
    error: str | None = None
    """The error message when the attempt failed."""
    cause: str | None = None
    """The underlying exception class (from litellm or the HTTP client), when it failed."""
    status_code: int | None = None
    """The HTTP status when the server answered with an error."""
    retry_after_s: float | None = None
    """The server's ``Retry-After``, in seconds, when it sent one."""
    wait_s: float | None = None
    """Seconds waited before retrying this model; None when no retry followed."""
    latency_s: float
    """Seconds the call took."""

    @field_validator("api_base", "error")
    @classmethod
    def _redacted(cls, value: str | None) -> str | None:
        # attempts are printed (``contextos complete --json``) and handed to hooks that log them
        from contextos.tracing.redact import redact_text

        return None if value is None else redact_text(value)

    @property
    def ok(self) -> bool:
        """True when the call succeeded."""
        return self.outcome == "ok"


class Completion(BaseModel):
    """A model's answer, parsed: text, tool calls, usage and how it was obtained."""

    model_config = ConfigDict(frozen=True)

    content: str | None = None
    """The assistant text (None when the model only called tools)."""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    """Tool calls, in the order the model made them."""
    finish_reason: str | None = None
    """``stop``, ``length``, ``tool_calls``, ... as the server reported."""
    usage: Usage = Field(default_factory=Usage)
    """Token accounting."""
    model: str
    """The model string that answered (a fallback's, when the first model failed)."""
    offline: bool = False
    """True when the offline backend answered: no real model was involved."""
    latency_s: float = 0.0
    """Seconds from the first attempt to the answer, retries and fallbacks included."""
    attempts: list[Attempt] = Field(default_factory=list)
    """Every call made for this answer (failed ones first)."""

    def message(self) -> dict[str, Any]:
        """The assistant message to append to the conversation (OpenAI chat format)."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.raw_arguments},
                }
                for c in self.tool_calls
            ]
        return message


class Endpoint(CheckedModel):
    """A model on a given server: a fallback that lives elsewhere than the primary model.

    A fallback given as a plain string shares the client's ``api_base`` and ``api_key``; an
    ``Endpoint`` uses exactly its own (None: the provider's default, e.g. for ``openai/...``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    _error: ClassVar[type[ContextOSError]] = ConfigError
    _what: ClassVar[str] = "endpoint"

    model: str
    """The litellm model string."""
    api_base: str | None = None
    """Its server (None: the provider's default)."""
    api_key: str | None = Field(default=None, repr=False)
    """Its api key (None: the provider's usual environment variable). Left out of the repr."""

    def __repr_args__(self) -> Any:
        from contextos.tracing.redact import redact_text

        for name, value in super().__repr_args__():
            yield (
                name,
                redact_text(value) if name == "api_base" and isinstance(value, str) else value,
            )
