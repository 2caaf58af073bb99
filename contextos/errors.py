"""Every exception contextos raises, in one tree.

Catch ``ContextOSError`` to catch them all; each message says what was wrong and what to do.

    ContextOSError
    ├── ConfigError                   a setting is missing or invalid (model, api_base, paths)
    ├── InvalidItemError              a context item (or a JSONL row of them) is malformed
    ├── BudgetError                   a budget is impossible, or pinned items alone exceed it
    ├── SourceError                   a context source failed while proposing candidates
    ├── TokenizerError                a tokenizer, chat template or /tokenize endpoint failed
    ├── CompressionError              a compressor was given an impossible target or non-items
    ├── ModelError                    a model call failed (``model`` and ``attempts`` say which)
    │   ├── ModelConnectionError      the server could not be reached (retried)
    │   ├── ModelTimeoutError         no answer within the timeout (retried)
    │   ├── RateLimitedError          429 from the server (retried, honouring Retry-After)
    │   ├── ModelServerError          5xx from the server (retried)
    │   ├── ModelResponseError        the server answered something unusable (bad JSON, bad tool call)
    │   ├── ModelRequestError         4xx that cannot succeed on retry (not retried)
    │   │   ├── ContextWindowExceededError   the prompt is longer than the model's context
    │   │   ├── ModelAuthenticationError     401/403: wrong or missing api key
    │   │   └── ModelNotFoundError           404: the server does not serve that model
    │   └── AllModelsFailedError      the model and every fallback failed
    ├── ServerLaunchError             ``contextos serve`` could not start a model server
    ├── ToolError
    │   ├── InvalidToolError          a tool definition (name, schema, catalog row) is invalid
    │   ├── DuplicateToolError        two tools share a name in one catalog
    │   └── ToolNotFoundError         no tool of that name / id
    ├── StoreError                    a LanceDB store is missing, unreadable or not a store
    ├── EmbeddingError                an embedder failed or returned the wrong shape
    ├── MemoryStoreError              a memory store was given bad input
    │   └── RecordNotFoundError       no memory record with that id
    ├── PlaybookError                 a playbook version, file or learning step is missing or invalid
    │   └── InvalidDeltaError         a delta operation is malformed, names an unknown id or is oversize
    ├── TraceError                    a trace or run could not be found or read
    ├── DemoError                     a demonstration pool, retrieval or annotation selection was given bad input
    ├── AgentError                    an agent run could not continue
    └── RunningLoopError              a blocking twin (``run``, ``build``...) was called inside a running event loop
"""

from __future__ import annotations

from typing import Any


class ContextOSError(Exception):
    """The root of every contextos exception.

    Its message has credentials replaced by ``[REDACTED]`` (an ``api_base`` with ``user:password@``,
    a key quoted from a server's answer): messages reach logs, CLI output and trace spans.
    ``partial``: set when an agent run failed, the ``RunResult`` of the steps it completed first
    (stop reason ``error``); None otherwise.
    """

    partial: Any = None

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], str):
            from contextos.tracing.redact import redact_text

            args = (redact_text(args[0]), *args[1:])
        super().__init__(*args)

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt without calling __init__, so subclasses with required keywords (AllModelsFailedError's
        # errors) and their attributes (ModelError's model, attempts) survive pickling: exceptions
        # travel between processes (multiprocessing, process pools).
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(
    cls: type[ContextOSError], args: tuple[object, ...], state: dict[str, object]
) -> ContextOSError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ConfigError(ContextOSError):
    """A setting is missing or invalid."""


class InvalidItemError(ContextOSError):
    """A context item is malformed."""


class BudgetError(ContextOSError):
    """A budget is impossible, or pinned items alone exceed it."""


class SourceError(ContextOSError):
    """A context source failed while proposing candidates."""


class TokenizerError(ContextOSError):
    """A tokenizer, its chat template or a server's /tokenize endpoint could not be loaded or used."""


class CompressionError(ContextOSError):
    """A compressor was asked for an impossible target, or given something that is not an item."""


class ModelError(ContextOSError):
    """A model call failed.

    ``model`` is the model that failed and ``attempts`` how many calls were made.
    """

    def __init__(self, message: str, *, model: str | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.model = model
        self.attempts = attempts


class ModelConnectionError(ModelError):
    """The model server could not be reached."""


class ModelTimeoutError(ModelError):
    """The model server did not answer within the timeout."""


class RateLimitedError(ModelError):
    """The model server answered 429 (too many requests)."""


class ModelServerError(ModelError):
    """The model server answered with a 5xx error."""


class ModelResponseError(ModelError):
    """The model server answered something contextos cannot use."""


class ModelRequestError(ModelError):
    """The request was rejected (4xx) and would be rejected again if retried."""


class ContextWindowExceededError(ModelRequestError):
    """The prompt is longer than the model's context window."""


class ModelAuthenticationError(ModelRequestError):
    """The server refused the api key (401/403)."""


class ModelNotFoundError(ModelRequestError):
    """The server does not serve the requested model (404)."""


class AllModelsFailedError(ModelError):
    """The model and every fallback model failed; ``errors`` holds each failure."""

    def __init__(self, message: str, *, errors: list[ModelError], attempts: int = 1) -> None:
        super().__init__(message, model=None, attempts=attempts)
        self.errors = errors


class ServerLaunchError(ContextOSError):
    """A model server could not be started."""


class ToolError(ContextOSError):
    """A tool or tool catalog problem."""


class InvalidToolError(ToolError):
    """A tool definition is invalid."""


class DuplicateToolError(ToolError):
    """Two tools share a name in one catalog."""


class ToolNotFoundError(ToolError):
    """No tool with that name or id exists."""


class StoreError(ContextOSError):
    """A LanceDB store is missing, unreadable or not a contextos store."""


class EmbeddingError(ContextOSError):
    """An embedder failed or returned vectors of the wrong shape."""


class MemoryStoreError(ContextOSError):
    """A memory store was given bad input."""


class RecordNotFoundError(MemoryStoreError):
    """No memory record with that id exists."""


class PlaybookError(ContextOSError):
    """A playbook version, file or learning step is missing or invalid."""


class InvalidDeltaError(PlaybookError):
    """A delta operation is malformed, names an unknown bullet id or makes an oversize bullet;
    nothing of its delta was applied."""


class TraceError(ContextOSError):
    """A trace or run could not be found or read."""


class DemoError(ContextOSError):
    """A demonstration pool, retriever or annotation selection was given bad input."""


class AgentError(ContextOSError):
    """An agent run could not continue."""


class RunningLoopError(ContextOSError, RuntimeError):
    """A blocking twin of an async method was called inside a running event loop: ``await`` the async
    one there (``await agent.arun(...)`` for ``agent.run(...)``). Also a ``RuntimeError``, as
    ``asyncio.run`` raises in the same place."""
