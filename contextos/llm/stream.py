"""``CompletionStream``: text deltas as they arrive, and the whole ``Completion`` once they stop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

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
            raise RuntimeError("The stream has not been read to its end yet: iterate over it first.")
        return self._completion

    def _finish(self, completion: Completion) -> None:
        self._completion = completion

    def __aiter__(self) -> AsyncIterator[str]:
        return self._produce(self._finish)
