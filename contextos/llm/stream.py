"""``CompletionStream``: text deltas as they arrive, and the whole ``Completion`` once they stop."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from contextos.llm.types import Completion

DeltaProducer = Callable[[Callable[[Completion], None]], AsyncIterator[str]]
"""Given ``finish``, yields text deltas and calls ``finish(completion)`` at the end."""


class CompletionStream:
    """An async iterator of text deltas; ``completion`` holds the whole answer once it is exhausted.

    ```python
    stream = client.astream(messages)
    async for delta in stream:
        print(delta, end="")
    print(stream.completion.usage)
    ```
    """

    def __init__(self, produce: DeltaProducer) -> None:
        self._produce = produce
        self._completion: Completion | None = None

    @property
    def completion(self) -> Completion:
        """The whole answer (text, tool calls, usage); available after the iteration ended."""
        if self._completion is None:
            raise RuntimeError(
                "The stream has not been read to its end yet: iterate over it first."
            )
        return self._completion

    def _finish(self, completion: Completion) -> None:
        self._completion = completion

    def __aiter__(self) -> AsyncIterator[str]:
        return self._produce(self._finish)


class EventCheck:
    """Watches the raw server-sent events under a litellm stream, which skips what it cannot parse.

    litellm turns an event stream that is empty, cut inside its first event, or full of garbage into
    a complete, empty answer. ``watch`` puts itself between the HTTP lines and litellm's parser;
    after the stream ends, ``problem`` says what was wrong (None: every event was JSON and the
    server ended the stream itself). Streams litellm does not read line by line are not checked.
    """

    def __init__(self) -> None:
        self.events = 0
        """``data:`` events seen, ``[DONE]`` not counted."""
        self.problem: str | None = None
        """What was wrong with the stream, once it ended; None when nothing was."""
        self._finished = False

    def watch(self, stream: Any) -> None:
        """Check ``stream`` (a litellm ``CustomStreamWrapper``) from now on, forgetting earlier streams."""
        self.events, self.problem, self._finished = 0, None, False
        handler: Any = getattr(stream, "completion_stream", None)
        lines = getattr(handler, "streaming_response", None)
        if lines is None or not hasattr(lines, "__aiter__"):
            return
        handler.streaming_response = self._checked(lines)
        if hasattr(handler, "response_iterator"):
            handler.response_iterator = handler.streaming_response

    async def _checked(self, lines: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for line in lines:
            text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
            if isinstance(text, str) and text.startswith("data:"):
                payload = text[5:].strip()
                if payload == "[DONE]":
                    self._finished = True
                    yield line
                    continue
                self.events += 1
                event = _json_object(payload)
                if event is None:
                    # Stop here: what follows a corrupt event cannot be trusted either.
                    self.problem = f"event {self.events} of the stream is not a JSON object ({payload[:60]!r}...)"
                    return
                choices = event.get("choices")
                if isinstance(choices, list) and any(
                    isinstance(c, dict) and c.get("finish_reason") for c in choices
                ):
                    self._finished = True
            yield line
        if self.events == 0:
            self.problem = "the server's event stream ended without a single event (an answer of status 200 but no data)"
        elif not self._finished:
            self.problem = f"the event stream ended after {self.events} events, before the server finished its answer"


def _json_object(payload: str) -> dict[str, Any] | None:
    try:
        value = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None
