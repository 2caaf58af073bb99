"""``ScriptedModel``: a ``ChatModel`` that answers from a script, in process (no HTTP, no litellm).

```python
model = ScriptedModel([Reply.tool_call("get_weather", {"city": "Paris"}), Reply.text("Sunny in Paris.")])
first = await model.acomplete([{"role": "user", "content": "Weather in Paris?"}], tools=[WEATHER])
assert first.tool_calls[0].name == "get_weather"
assert model.requests[0].tools == [WEATHER]
```

For tests of code that takes a ``ChatModel`` (an agent loop, a summariser) where the HTTP path
does not matter; ``FakeModelServer`` tests that path. A ``Fault`` in the script raises the
``ModelError`` a ``ModelClient`` would raise for it once its retries are spent.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from contextos.errors import ModelError
from contextos.llm.retry import to_model_error
from contextos.llm.stream import CompletionStream
from contextos.llm.types import Attempt, Completion, ToolCall, Usage
from contextos.testing.fake_server import prompt_words
from contextos.testing.replies import Fault, Reply

Answer = Reply | Fault | str


@dataclass
class ScriptedRequest:
    """One call a ``ScriptedModel`` received."""

    messages: list[dict[str, Any]]
    """The messages, as passed."""
    tools: list[dict[str, Any]] | None = None
    """The tools offered, if any."""
    params: dict[str, Any] = field(default_factory=dict)
    """Every other parameter (``max_tokens``, ``response_format``, ...), None values left out."""


class ScriptedModel:
    """A chat model whose answers come from a queue of ``Reply``/``Fault``/``str``, then ``responder``.

    With both exhausted it echoes: ``"scripted reply to: <last user message>"``.

    ```python
    >>> from contextos.agents import Agent
    >>> from contextos.testing import Reply
    >>> def get_weather(city: str) -> str:
    ...     return f"Sunny in {city}."
    >>> model = ScriptedModel([Reply.tool_call("get_weather", {"city": "Paris"}), Reply.text("Sunny in Paris.")])
    >>> result = Agent(model, tools=[get_weather]).run("Weather in Paris?")
    >>> result.answer, result.stop_reason, len(model.requests)
    ('Sunny in Paris.', 'final_answer', 2)
    >>> model.requests[1].messages[-1]["content"]  # the tool's result, sent back to the model
    'Sunny in Paris.'

    ```
    """

    def __init__(
        self,
        script: Iterable[Answer] = (),
        *,
        responder: Callable[[ScriptedRequest], Answer] | None = None,
        model: str = "scripted",
    ) -> None:
        self._model = model
        self.responder = responder
        """Called for each request once the script is used up."""
        self.requests: list[ScriptedRequest] = []
        """Every call received, in order."""
        self._script: deque[Answer] = deque(script)
        self._lock = threading.Lock()

    @property
    def model(self) -> str:
        """The name given (``scripted`` by default)."""
        return self._model

    def enqueue(self, *answers: Answer) -> None:
        """Answer the next calls with these, in order."""
        with self._lock:
            self._script.extend(answers)

    @property
    def pending(self) -> int:
        """Scripted answers not used yet."""
        with self._lock:
            return len(self._script)

    async def acomplete(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        **params: Any,
    ) -> Completion:
        """The next scripted answer as a ``Completion`` (or its ``Fault`` raised)."""
        return self.complete(messages, tools=tools, **params)

    def complete(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        **params: Any,
    ) -> Completion:
        """The blocking twin of ``acomplete``."""
        request = ScriptedRequest(
            list(messages),
            list(tools) if tools else None,
            {k: v for k, v in params.items() if v is not None},
        )
        with self._lock:
            self.requests.append(request)
            answer = self._script.popleft() if self._script else None
        if answer is None:
            answer = (
                self.responder(request)
                if self.responder
                else Reply.text(f"scripted reply to: {_last_user_text(request)}")
            )
        if isinstance(answer, str):
            answer = Reply.text(answer)
        if isinstance(answer, Fault):
            raise _error_for(answer, self._model)
        return self._completion(request, answer)

    def astream(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        **params: Any,
    ) -> CompletionStream:
        """Stream the next answer word by word; ``stream.completion`` once exhausted."""

        async def deltas(finish: Callable[[Completion], None]) -> AsyncIterator[str]:
            completion = self.complete(messages, tools=tools, **params)
            for piece in re.findall(r"\s*\S+", completion.content or ""):
                yield piece
            finish(completion)

        return CompletionStream(deltas)

    def _completion(self, request: ScriptedRequest, reply: Reply) -> Completion:
        calls = [
            ToolCall.parse(c.id or f"call_scripted_{len(self.requests)}_{i}", c.name, c.arguments)
            for i, c in enumerate(reply.tool_calls)
        ]
        prompt = len(prompt_words(request.messages))
        completion_tokens = (
            reply.completion_tokens
            if reply.completion_tokens is not None
            else max(1, len((reply.content or "").split()))
        )
        return Completion(
            content=reply.content,
            tool_calls=calls,
            finish_reason=reply.finish_reason or ("tool_calls" if calls else "stop"),
            usage=Usage(
                prompt_tokens=prompt,
                completion_tokens=completion_tokens,
                cached_tokens=reply.cached_tokens or 0,
            ),
            model=self._model,
            attempts=[Attempt(model=self._model, number=1, outcome="ok", latency_s=0.0)],
        )


class _ScriptedFailure(Exception):
    """A scripted fault as the exception a real call would raise (its status, its words), so that
    ``to_model_error`` turns it into the same ``ModelError`` a server's failure becomes."""

    def __init__(self, fault: Fault) -> None:
        words = {
            "malformed_json": "unable to get json response",
            "reset": "connection reset",
        }.get(fault.kind, "")
        super().__init__(" ".join(filter(None, [words, fault.message, "(scripted fault)"])))
        self.status_code = fault.status if fault.kind in _WITH_STATUS else None


_WITH_STATUS = frozenset({"status", "server_error", "unavailable", "rate_limit", "context_length"})


def _error_for(fault: Fault, model: str) -> ModelError:
    failure: BaseException = _ScriptedFailure(fault)
    if fault.kind == "delay":
        failure = TimeoutError(str(failure))
    return to_model_error(failure, model=model, api_base=None, timeout=fault.seconds)


def _last_user_text(request: ScriptedRequest) -> str:
    for message in reversed(request.messages):
        content = message.get("content")
        if message.get("role") == "user" and isinstance(content, str):
            return content
    return ""
