"""When to retry a model call and how long to wait; litellm's exceptions turned into contextos ones."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

from pydantic import ConfigDict, Field
from tenacity import RetryCallState

from contextos._checked import CheckedModel
from contextos.errors import (
    ConfigError,
    ContextOSError,
    ContextWindowExceededError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelNotFoundError,
    ModelRequestError,
    ModelResponseError,
    ModelServerError,
    ModelTimeoutError,
    RateLimitedError,
)

RETRYABLE: tuple[type[ModelError], ...] = (
    ModelConnectionError,
    ModelTimeoutError,
    RateLimitedError,
    ModelServerError,
)
"""Failures that may pass on a later try: retried with backoff, then the next fallback model is tried."""

# Deployment-specific failures: retrying the same server is pointless, another model may work.
_NEXT_MODEL: tuple[type[ModelError], ...] = (
    ModelAuthenticationError,
    ModelNotFoundError,
    ModelResponseError,
)

_CONNECTION_HINTS = (
    "connection refused",
    "cannot connect to host",
    "connecterror",
    "connection reset",
    "server disconnected",
    "remote end closed",
    "connection aborted",
    "name or service not known",
    "clientconnectorerror",
    "remoteprotocolerror",
    "server closed the connection",
    "connection error",
)


class RetryPolicy(CheckedModel):
    """How a ``ModelClient`` retries one model before moving to the next fallback.

    Waits grow exponentially with random jitter (``min(initial_wait_s * multiplier**n, max_wait_s) +
    U(0, jitter_s)`` before retry n+1); a server's ``Retry-After`` raises the wait to what it asked for,
    up to ``max_retry_after_s``.

    ```python
    RetryPolicy(max_attempts=5, initial_wait_s=0.2)
    ```
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    _error: ClassVar[type[ContextOSError]] = ConfigError
    _what: ClassVar[str] = "retry policy"

    max_attempts: int = Field(3, ge=1)
    """Calls per model, the first included (1: no retries)."""
    initial_wait_s: float = Field(0.5, ge=0)
    """Wait before the first retry, before jitter."""
    multiplier: float = Field(2.0, ge=1)
    """Growth of the wait per retry."""
    max_wait_s: float = Field(20.0, ge=0)
    """Upper bound of the backoff wait, before jitter."""
    jitter_s: float = Field(0.5, ge=0)
    """Random extra wait, uniform in [0, jitter_s], so that many clients do not retry in lockstep."""
    honour_retry_after: bool = True
    """Wait at least what a 429/503 ``Retry-After`` header asks."""
    max_retry_after_s: float = Field(60.0, ge=0)
    """A longer ``Retry-After`` is cut to this."""

    @classmethod
    def none(cls) -> RetryPolicy:
        """One call per model, no retries."""
        return cls(max_attempts=1)

    def wait_s(self, state: RetryCallState, retry_after_s: float | None) -> float:
        """Seconds to wait before the next attempt of ``state``."""
        exponent = max(state.attempt_number - 1, 0)
        backoff = min(
            self.initial_wait_s * self.multiplier**exponent, self.max_wait_s
        ) + random.uniform(0, self.jitter_s)
        if self.honour_retry_after and retry_after_s is not None:
            return max(backoff, min(retry_after_s, self.max_retry_after_s))
        return backoff


def is_retryable(error: BaseException) -> bool:
    """True for failures worth another try of the same model."""
    return isinstance(error, RETRYABLE)


def tries_next_model(error: BaseException) -> bool:
    """True when a fallback model may succeed where this one failed.

    A bad request or a prompt longer than the context is the caller's to fix: no fallback hides it.
    """
    return isinstance(error, RETRYABLE + _NEXT_MODEL)


def status_code_of(exc: BaseException) -> int | None:
    """The HTTP status litellm attached to ``exc``, if any."""
    code = getattr(exc, "status_code", None)
    try:
        return int(code) if code is not None else None
    except (TypeError, ValueError):
        return None


def retry_after_of(exc: BaseException) -> float | None:
    """``Retry-After`` (seconds or an HTTP date) from the error response's headers, if present."""
    for source in (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    ):
        if not source:
            continue
        try:
            value = source.get("retry-after") or source.get("Retry-After")
        except AttributeError:
            continue
        if value is None:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                moment = parsedate_to_datetime(str(value))
            except (TypeError, ValueError):
                return None
            return max(0.0, (moment - datetime.now(UTC)).total_seconds())
    return None


_MALFORMED_HINTS = (
    "invalid response object",
    "provider returned 'choices'",
    "unable to get json response",
)
"""litellm's words for a 200 answer whose body is not a chat completion (it reports those as 500s)."""

MESSAGE_CHARS = 300
"""A server's message is cut to this many characters in errors: a whole response (and any secret in
it) has no place in logs."""


def server_message(exc: BaseException) -> str:
    """The server's own error message, without litellm's prefixes, its tracebacks or more than
    ``MESSAGE_CHARS`` characters."""
    text = _message(exc)
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + "..."


def _message(exc: BaseException) -> str:
    text = (
        str(getattr(exc, "message", None) or exc)
        .split("Traceback (most recent call last)")[0]
        .strip()
    )
    start = text.find("{")
    if start >= 0:
        try:
            body = json.loads(text[start:])
        except ValueError:
            body = None
        if isinstance(body, dict):
            error = body.get("error")
            inner = error if isinstance(error, dict) else body
            message = inner.get("message")
            if isinstance(message, str):
                return message
    # "litellm.InternalServerError: InternalServerError: Hosted_vllmException - [Errno 111] ..."
    return (
        re.sub(r"^(litellm\.\w+: )?(\w+: )*(\w+Exception - )?", "", text).strip()
        or type(exc).__name__
    )


def to_model_error(
    exc: BaseException, *, model: str, api_base: str | None, timeout: float
) -> ModelError:
    """The contextos exception for a failed litellm call, with a message saying what to do."""
    if isinstance(exc, ModelError):
        return exc
    where = f"{model} at {api_base}" if api_base else model
    status = status_code_of(exc)
    name = type(exc).__name__
    message = server_message(exc).rstrip(". ")
    lowered = f"{name} {exc}".lower()

    # litellm's words for a model string without a known provider
    if "llm provider not provided" in lowered:
        return ModelRequestError(
            f"{model}: litellm knows no provider by that name. A model string starts with its provider: "
            "hosted_vllm/<served name> (with an api_base), openai/<name>, anthropic/<name>, ... or offline/demo "
            f"(docs/models.md lists them). A model vLLM serves as {model} is hosted_vllm/{model}.",
            model=model,
        )
    if any(hint in lowered for hint in _MALFORMED_HINTS) and getattr(exc, "response", None) is None:
        return ModelResponseError(
            f"{where}: the server answered with a body that is not an OpenAI chat completion. "
            "Check that api_base is an OpenAI-compatible server's /v1 URL (e.g. vLLM's http://127.0.0.1:8000/v1).",
            model=model,
        )
    if (
        name == "ContextWindowExceededError"
        or "maximum context length" in lowered
        or ("context length" in lowered and status == 400)
    ):
        return ContextWindowExceededError(
            f"{where}: the prompt does not fit the model's context window ({message}). "
            "Give the orchestrator a smaller Budget(context_window=...) or shorten the messages.",
            model=model,
        )
    if name == "Timeout" or status == 408 or isinstance(exc, TimeoutError):
        return ModelTimeoutError(
            f"{where}: no answer within {timeout:g} s. Raise the timeout (--timeout / CONTEXTOS_TIMEOUT) "
            "or check that the server is not overloaded.",
            model=model,
        )
    if name == "RateLimitError" or status == 429:
        return RateLimitedError(
            f"{where}: rate limited (429): {message}. Lower the concurrency or wait.", model=model
        )
    if name in ("AuthenticationError", "PermissionDeniedError") or status in (401, 403):
        return ModelAuthenticationError(
            f"{where}: the server refused the api key ({status}): {message}. "
            "Pass --api-key or set CONTEXTOS_API_KEY to the key the server was started with.",
            model=model,
        )
    if name == "NotFoundError" or status == 404:
        return ModelNotFoundError(
            f"{where}: not found (404): {message}. Check the model name against the server's /v1/models "
            "and that api_base ends with /v1.",
            model=model,
        )
    if (
        name == "APIConnectionError"
        or any(hint in lowered for hint in _CONNECTION_HINTS)
        or isinstance(exc, ConnectionError)
    ):
        # litellm reports a refused connection as InternalServerError (500): the message tells them apart.
        if not api_base:
            check = "pass --api-base or set CONTEXTOS_API_BASE if the model is served elsewhere."
        elif model.startswith("hosted_vllm/"):
            check = f"`curl -f {api_base.rstrip('/').removesuffix('/v1')}/health` must succeed."
        else:
            check = f"is {api_base} the right address?"
        return ModelConnectionError(
            f"{where}: could not connect ({message}). Is the server running? Check api_base "
            f"(a vLLM server's looks like http://127.0.0.1:8000/v1): {check}",
            model=model,
        )
    if (status is not None and 500 <= status < 600) or name in (
        "InternalServerError",
        "ServiceUnavailableError",
        "BadGatewayError",
    ):
        return ModelServerError(f"{where}: server error ({status or 500}): {message}", model=model)
    if (status is not None and 400 <= status < 500) or name in (
        "BadRequestError",
        "UnprocessableEntityError",
        "UnsupportedParamsError",
    ):
        return ModelRequestError(
            f"{where}: the request was rejected ({status or 400}): {message}", model=model
        )
    if status == 200 or "json" in lowered:
        return ModelResponseError(
            f"{where}: the server's answer could not be used: {message}", model=model
        )
    return ModelResponseError(f"{where}: the call failed ({name}): {message}", model=model)


def attempt_fields(exc: BaseException) -> dict[str, Any]:
    """What an ``Attempt`` records about a raw failure."""
    return {
        "cause": type(exc).__name__,
        "status_code": status_code_of(exc),
        "retry_after_s": retry_after_of(exc),
    }
