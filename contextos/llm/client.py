"""``ModelClient``: every model call of contextos, through litellm, with retries, fallbacks and attempt records.

```python
client = ModelClient("hosted_vllm/Qwen/Qwen2.5-7B-Instruct", api_base="http://127.0.0.1:8000/v1")
completion = await client.acomplete([{"role": "user", "content": "Hello"}])
print(completion.content, completion.usage.cached_tokens)
```
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from contextos._deadline import call_within
from contextos.errors import (
    AllModelsFailedError,
    ConfigError,
    ModelError,
    ModelRequestError,
    ModelResponseError,
)
from contextos.llm._offline import is_offline_model
from contextos.llm._parse import StreamAccumulator, message_parts
from contextos.llm._runtime import load_litellm
from contextos.llm.retry import (
    RetryPolicy,
    attempt_fields,
    is_retryable,
    to_model_error,
    tries_next_model,
)
from contextos.llm.stream import CompletionStream, EventCheck
from contextos.llm.types import Attempt, Completion, Endpoint
from contextos.tracing.conventions import record_attempt
from contextos.tracing.redact import redact_text

Messages = Sequence[dict[str, Any]]
AttemptHook = Callable[[Attempt], None]


class ModelClient:
    """Calls one model (and its fallbacks) through litellm.

    Retryable failures (timeouts, connection errors, 429, 5xx) are retried per ``retry`` with
    exponential backoff and jitter, honouring ``Retry-After``; a model that keeps failing hands
    over to the next of ``fallbacks``. Requests that cannot succeed (bad request, context window
    exceeded) raise their specific ``ModelError`` at once. ``on_attempt`` sees every call made.
    ``default_params`` (e.g. ``temperature=0``, ``extra_body={...}``) go with every request.
    """

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        fallbacks: Sequence[str | Endpoint] = (),
        on_attempt: AttemptHook | None = None,
        **default_params: Any,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ConfigError(
                "ModelClient needs a model string, e.g. hosted_vllm/Qwen/Qwen2.5-7B-Instruct or offline/demo."
            )
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not 0 < timeout < float("inf")
        ):
            raise ConfigError(f"timeout must be a positive number of seconds, got {timeout!r}.")
        self.timeout = float(timeout)
        """Seconds per attempt, a deadline for the whole answer (a server that trickles bytes does not
        stretch it); for a stream, for its first chunk and then for each next one."""
        self.retry = retry or RetryPolicy()
        """How each model is retried."""
        self.on_attempt = on_attempt
        """Called with every ``Attempt``, after it ends (a retried one once its wait is known)."""
        self.default_params = default_params
        """Extra litellm parameters sent with every request."""
        self.endpoints: tuple[Endpoint, ...] = (
            Endpoint(model=model, api_base=api_base, api_key=api_key),
            *(
                Endpoint(model=f, api_base=api_base, api_key=api_key) if isinstance(f, str) else f
                for f in fallbacks
            ),
        )
        """The model, then its fallbacks, in the order they are tried."""
        self.router: Any | None = None
        """A ``litellm.Router`` the calls go through instead of ``litellm`` (see ``over_router``)."""
        for endpoint in self.endpoints:
            if endpoint.api_base and not endpoint.api_base.startswith(("http://", "https://")):
                raise ConfigError(
                    f"api_base of {endpoint.model} must be an http:// or https:// URL such as "
                    f"http://127.0.0.1:8000/v1, got {endpoint.api_base!r}."
                )
            if endpoint.model.startswith("hosted_vllm/") and not endpoint.api_base:
                raise ConfigError(
                    f"{endpoint.model} needs an api_base, the vLLM server's URL ending in /v1 "
                    "(e.g. http://127.0.0.1:8000/v1): pass --api-base or set CONTEXTOS_API_BASE."
                )

    @classmethod
    def from_config(
        cls,
        model: str | None = None,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        config_path: str | Path | None = None,
        env: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> ModelClient:
        """A client from arguments, else ``CONTEXTOS_*`` environment variables, else the config file.

        See ``contextos.llm.config`` for the file format. ``kwargs`` go to ``ModelClient``.
        """
        from contextos.llm.config import resolve_settings

        settings = resolve_settings(
            model=model,
            api_base=api_base,
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            config_path=config_path,
            env=env,
        )
        retry = kwargs.pop("retry", None) or RetryPolicy(max_attempts=settings.max_retries + 1)
        kwargs.setdefault("fallbacks", settings.fallbacks)
        return cls(
            settings.model,
            api_base=settings.api_base,
            api_key=settings.api_key,
            timeout=settings.timeout,
            retry=retry,
            **kwargs,
        )

    @classmethod
    def over_router(cls, router: Any, model_group: str, **kwargs: Any) -> ModelClient:
        """A client whose calls go through a ``litellm.Router`` (several vLLM replicas behind one name).

        ```python
        router = litellm.Router(model_list=[
            {"model_name": "qwen", "litellm_params": {"model": "hosted_vllm/Qwen/Qwen2.5-7B-Instruct", "api_base": url}}
            for url in ("http://gpu-0:8000/v1", "http://gpu-1:8000/v1")
        ], num_retries=0)
        client = ModelClient.over_router(router, "qwen")
        ```
        The router picks a replica per call (its deployments carry api_base and api_key); the client
        still retries, falls back (``fallbacks`` name other model groups) and records attempts.
        """
        if kwargs.get("api_base") or kwargs.get("api_key"):
            raise ConfigError(
                "over_router: api_base and api_key belong in the router's deployments, not the client."
            )
        client = cls(model_group, **kwargs)
        client.router = router
        return client

    @classmethod
    def replicas(cls, model: str, api_bases: Sequence[str], **kwargs: Any) -> ModelClient:
        """A client over several servers of one model (vLLM replicas), each session kept on one of them.

        ```python
        client = ModelClient.replicas(
            "hosted_vllm/Qwen/Qwen2.5-7B-Instruct", ["http://gpu-0:8000/v1", "http://gpu-1:8000/v1"]
        )
        ```
        The steps of an agent run (or the calls inside ``with contextos.llm.session(key):``) go to
        one replica, so its prefix cache keeps hitting; a replica that fails is marked down for
        ``down_s`` seconds and its sessions move to another one, for good. Calls go through a
        ``litellm.Router`` whose deployments are the replicas. ``kwargs``: ``api_key`` (shared by
        the replicas), ``down_s``, ``max_sessions`` (pins kept), and ``ModelClient``'s own
        (``timeout``, ``retry``, ``fallbacks``, ...). See ``contextos.llm.replicas``.
        """
        from contextos.llm.replicas import ReplicaClient

        return ReplicaClient(model, api_bases, **kwargs)

    @property
    def model(self) -> str:
        """The primary model string."""
        return self.endpoints[0].model

    @property
    def offline(self) -> bool:
        """True when the primary model is the offline backend."""
        return is_offline_model(self.model)

    def __repr__(self) -> str:
        fallbacks = (
            f", fallbacks={[e.model for e in self.endpoints[1:]]}"
            if len(self.endpoints) > 1
            else ""
        )
        return redact_text(
            f"ModelClient({self.model!r}, api_base={self.endpoints[0].api_base!r}{fallbacks})"
        )

    def warmup(self) -> None:
        """Load what the first call would otherwise load on its clock (litellm's import: seconds), so
        that the first call's latency and span measure the call. Calls do this by themselves when needed."""
        load_litellm()

    # -- public calls -----------------------------------------------------------------------
    async def acomplete(
        self,
        messages: Messages,
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        response_format: dict[str, Any] | type | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        **params: Any,
    ) -> Completion:
        """One completion: retried, falling back, parsed. Raises a ``ModelError`` subclass on failure."""
        request = self._request(
            messages, tools, tool_choice, response_format, max_tokens, temperature, params
        )
        litellm = load_litellm()
        call = _Fallbacks(self.on_attempt, self._settle)
        for endpoint in self._route():

            async def once(
                kwargs: dict[str, Any] = self._kwargs(endpoint, request),
                endpoint: Endpoint = endpoint,
            ) -> Any:
                return await self._transport(litellm, endpoint).acompletion(**kwargs)

            with call.next_model_on_failure(endpoint):
                response = await self._aretrying(endpoint, call.log, once)
                return call.completion(endpoint, message_parts(response, model=endpoint.model))
        raise self._all_failed(call.errors, call.log)

    def complete(
        self,
        messages: Messages,
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        response_format: dict[str, Any] | type | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        **params: Any,
    ) -> Completion:
        """The blocking twin of ``acomplete`` (for scripts and the CLI; agents use ``acomplete``)."""
        request = self._request(
            messages, tools, tool_choice, response_format, max_tokens, temperature, params
        )
        litellm = load_litellm()
        call = _Fallbacks(self.on_attempt, self._settle)
        for endpoint in self._route():

            def once(
                kwargs: dict[str, Any] = self._kwargs(endpoint, request),
                endpoint: Endpoint = endpoint,
            ) -> Any:
                # httpx's timeout is per read: the deadline of the whole answer is kept here.
                return call_within(
                    lambda: self._transport(litellm, endpoint).completion(**kwargs),
                    self.timeout,
                    name="contextos-model-call",
                )

            with call.next_model_on_failure(endpoint):
                response = self._retrying(endpoint, call.log, once)
                return call.completion(endpoint, message_parts(response, model=endpoint.model))
        raise self._all_failed(call.errors, call.log)

    def astream(
        self,
        messages: Messages,
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        response_format: dict[str, Any] | type | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        **params: Any,
    ) -> CompletionStream:
        """Stream text deltas; ``stream.completion`` holds the whole ``Completion`` once the stream ends.

        ```python
        stream = client.astream(messages)
        async for delta in stream:
            print(delta, end="")
        print(stream.completion.usage)
        ```
        Opening the stream is retried and falls back like ``acomplete``; a failure after the first
        chunk raises its ``ModelError`` (text already yielded cannot be taken back).
        """
        request = self._request(
            messages, tools, tool_choice, response_format, max_tokens, temperature, params
        )
        request["stream"] = True
        request.setdefault("stream_options", {"include_usage": True})
        return CompletionStream(lambda finish: self._stream_deltas(request, finish))

    # -- internals --------------------------------------------------------------------------
    # Five hooks that ReplicaClient (llm/replicas.py) overrides to spread calls over replicas.
    def _route(self) -> Sequence[Endpoint]:
        """The endpoints one call tries, in order: the model, then its fallbacks."""
        return self.endpoints

    def _transport(self, litellm: Any, endpoint: Endpoint) -> Any:
        """What calls to ``endpoint`` go through: the router if there is one, else litellm itself."""
        return self.router or litellm

    def _retryable(self, endpoint: Endpoint, error: BaseException) -> bool:
        """Whether ``error`` is worth another try of ``endpoint`` (rather than the next endpoint)."""
        return is_retryable(error)

    def _settle(self, endpoint: Endpoint, log: _AttemptLog, error: ModelError | None) -> None:
        """Told how ``endpoint``'s tries ended (``error`` None: it answered)."""

    def _all_failed(self, errors: list[ModelError], log: _AttemptLog) -> ModelError:
        """The error when every endpoint failed: the one error, or ``AllModelsFailedError`` of them all."""
        if len(errors) == 1:
            return errors[0]
        lines = "; ".join(f"[{e.model}] {e}" for e in errors)
        return AllModelsFailedError(
            f"All {len(errors)} models failed: {lines}", errors=errors, attempts=len(log.attempts)
        )

    def _request(
        self,
        messages: Messages,
        tools: Any,
        tool_choice: Any,
        response_format: Any,
        max_tokens: Any,
        temperature: Any,
        params: dict[str, Any],
    ) -> dict[str, Any]:
        if (
            isinstance(messages, (str, bytes))
            or not messages
            or not all(isinstance(m, dict) and m.get("role") for m in messages)
        ):
            raise ModelRequestError(
                "messages must be a non-empty list of chat messages such as [{'role': 'user', 'content': 'Hi'}].",
                model=self.model,
            )
        request: dict[str, Any] = {**self.default_params, **params, "messages": list(messages)}
        optional = {
            "tools": list(tools) if tools else None,
            "tool_choice": tool_choice,
            "response_format": response_format,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        request.update({k: v for k, v in optional.items() if v is not None})
        return request

    def _kwargs(self, endpoint: Endpoint, request: dict[str, Any]) -> dict[str, Any]:
        kwargs = {**request, "model": endpoint.model, "timeout": self.timeout}
        if not is_offline_model(endpoint.model):
            if endpoint.api_base:
                kwargs["api_base"] = endpoint.api_base
            if endpoint.api_key:
                kwargs["api_key"] = endpoint.api_key
        return kwargs

    def _retry_args(self, endpoint: Endpoint, log: _AttemptLog) -> dict[str, Any]:
        def wait(state: RetryCallState) -> float:
            return self.retry.wait_s(state, log.last.retry_after_s if log.attempts else None)

        return {
            "stop": stop_after_attempt(self.retry.max_attempts),
            "wait": wait,
            "retry": retry_if_exception(lambda error: self._retryable(endpoint, error)),
            "before_sleep": lambda state: log.emit_last(
                wait_s=state.next_action.sleep if state.next_action else None
            ),
            "reraise": True,
        }

    def _next_attempt(self, endpoint: Endpoint, log: _AttemptLog) -> tuple[int, float]:
        # as attempts keep it
        api_base = redact_text(endpoint.api_base) if endpoint.api_base else None
        tried = sum(1 for a in log.attempts if (a.model, a.api_base) == (endpoint.model, api_base))
        return tried + 1, time.perf_counter()

    def _failed(
        self, endpoint: Endpoint, log: _AttemptLog, number: int, t0: float, exc: BaseException
    ) -> ModelError:
        error = to_model_error(
            exc, model=endpoint.model, api_base=endpoint.api_base, timeout=self.timeout
        )
        error.attempts = number
        log.record(
            Attempt(
                model=endpoint.model,
                api_base=endpoint.api_base,
                number=number,
                outcome=type(error).__name__,
                error=str(error),
                latency_s=time.perf_counter() - t0,
                **attempt_fields(exc),
            )
        )
        return error

    def _succeeded(self, endpoint: Endpoint, log: _AttemptLog, number: int, t0: float) -> None:
        log.record(
            Attempt(
                model=endpoint.model,
                api_base=endpoint.api_base,
                number=number,
                outcome="ok",
                latency_s=time.perf_counter() - t0,
            )
        )

    async def _aretrying(
        self, endpoint: Endpoint, log: _AttemptLog, call: Callable[[], Awaitable[Any]]
    ) -> Any:
        async def attempt() -> Any:
            number, t0 = self._next_attempt(endpoint, log)
            try:
                # httpx's timeout is per read: the deadline of the whole answer is kept here.
                result = await asyncio.wait_for(call(), self.timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise self._failed(endpoint, log, number, t0, exc) from exc
            self._succeeded(endpoint, log, number, t0)
            return result

        try:
            result: Any = await AsyncRetrying(**self._retry_args(endpoint, log))(attempt)
        except ModelError:
            log.emit_last()
            raise
        log.emit_last()
        return result

    def _retrying(self, endpoint: Endpoint, log: _AttemptLog, call: Callable[[], Any]) -> Any:
        def attempt() -> Any:
            number, t0 = self._next_attempt(endpoint, log)
            try:
                result = call()
            except Exception as exc:
                raise self._failed(endpoint, log, number, t0, exc) from exc
            self._succeeded(endpoint, log, number, t0)
            return result

        try:
            result = Retrying(**self._retry_args(endpoint, log))(attempt)
        except ModelError:
            log.emit_last()
            raise
        log.emit_last()
        return result

    async def _stream_deltas(
        self, request: dict[str, Any], finish: Callable[[Completion], None]
    ) -> AsyncIterator[str]:
        litellm = load_litellm()
        call = _Fallbacks(self.on_attempt, self._settle)
        for endpoint in self._route():
            kwargs = self._kwargs(endpoint, request)
            check = EventCheck()

            async def open_stream(
                kwargs: dict[str, Any] = kwargs,
                check: EventCheck = check,
                endpoint: Endpoint = endpoint,
            ) -> tuple[Any, Any]:
                # The first chunk is read under the retry too: servers often fail only once the body starts.
                stream = await self._transport(litellm, endpoint).acompletion(**kwargs)
                check.watch(stream)
                iterator = stream.__aiter__()
                try:
                    first = await iterator.__anext__()
                except StopAsyncIteration:
                    first = None
                return iterator, first

            opened = None
            with call.next_model_on_failure(endpoint):
                opened = await self._aretrying(endpoint, call.log, open_stream)
            if opened is None:
                continue
            iterator, first = opened
            accumulator = StreamAccumulator()
            if first is not None:
                if text := accumulator.add(first):
                    yield text
                try:
                    while True:
                        try:
                            chunk = await asyncio.wait_for(iterator.__anext__(), self.timeout)
                        except StopAsyncIteration:
                            break
                        if text := accumulator.add(chunk):
                            yield text
                except Exception as exc:
                    # litellm's complaint about what the check stopped
                    if check.problem is not None:
                        raise ModelResponseError(
                            f"{endpoint.model} at {endpoint.api_base}: {check.problem}",
                            model=endpoint.model,
                        ) from None
                    broken = to_model_error(
                        exc, model=endpoint.model, api_base=endpoint.api_base, timeout=self.timeout
                    )
                    raise type(broken)(
                        f"The stream broke after {len(accumulator.text)} text chunks (already yielded, so not retried): {broken}",
                        model=endpoint.model,
                    ) from exc
            if check.problem is not None:
                raise ModelResponseError(
                    f"{endpoint.model} at {endpoint.api_base}: {check.problem}",
                    model=endpoint.model,
                )
            finish(call.completion(endpoint, accumulator.parts()))
            return
        raise self._all_failed(call.errors, call.log)


class _Fallbacks:
    """One call across the model and its fallbacks (or replicas): the attempts, and the errors of
    the endpoints that failed, each tried in turn while the error says the next one may succeed."""

    def __init__(
        self,
        hook: AttemptHook | None,
        settle: Callable[[Endpoint, _AttemptLog, ModelError | None], None],
    ) -> None:
        self.log = _AttemptLog(hook)
        self.errors: list[ModelError] = []
        self.started = time.perf_counter()
        self._settle = settle

    @contextmanager
    def next_model_on_failure(self, endpoint: Endpoint) -> Iterator[None]:
        """Inside: a ``ModelError`` is kept and swallowed when the next endpoint may succeed where
        this one failed (``tries_next_model``), raised otherwise. The client's ``_settle`` hears
        how ``endpoint``'s tries ended either way."""
        try:
            yield
        except ModelError as error:
            self.errors.append(error)
            self._settle(endpoint, self.log, error)
            if not tries_next_model(error):
                raise
        else:
            self._settle(endpoint, self.log, None)

    def completion(self, endpoint: Endpoint, parts: tuple[Any, ...]) -> Completion:
        """The ``Completion`` of ``endpoint``'s answer ``parts`` (content, tool calls, finish, usage)."""
        content, tool_calls, finish_reason, usage = parts
        return Completion(
            content=content,
            tool_calls=tool_calls,
            finish_reason=finish_reason,
            usage=usage,
            model=endpoint.model,
            offline=is_offline_model(endpoint.model),
            latency_s=time.perf_counter() - self.started,
            attempts=list(self.log.attempts),
        )


class _AttemptLog:
    """The attempts of one call, emitted to the hook once each is complete (its wait known)."""

    def __init__(self, hook: AttemptHook | None) -> None:
        self.hook = hook
        self.attempts: list[Attempt] = []

    @property
    def last(self) -> Attempt:
        return self.attempts[-1]

    def record(self, attempt: Attempt) -> None:
        self.attempts.append(attempt)

    def emit_last(self, wait_s: float | None = None) -> None:
        if wait_s is not None:
            self.attempts[-1] = self.last.model_copy(update={"wait_s": wait_s})
        if not self.attempts:
            return
        record_attempt(self.last)  # a failed attempt becomes an event on the current (chat) span
        if self.hook is not None:
            self.hook(self.last)
