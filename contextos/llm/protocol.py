"""``ChatModel``: what code that needs a model depends on (``ModelClient`` and test doubles provide it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from contextos.llm.stream import CompletionStream
from contextos.llm.types import Completion


@runtime_checkable
class ChatModel(Protocol):
    """A chat model: ``ModelClient`` in production, ``contextos.testing.ScriptedModel`` in tests.

    Agents and other callers type their model parameter with this, not with ``ModelClient``.
    """

    @property
    def model(self) -> str:
        """The model string (``hosted_vllm/...``, ``offline/demo``, ``scripted``, ...)."""
        ...

    async def acomplete(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        **params: Any,
    ) -> Completion: ...

    def complete(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        **params: Any,
    ) -> Completion: ...

    def astream(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        **params: Any,
    ) -> CompletionStream: ...
