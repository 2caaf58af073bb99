"""The dispatch names are public where users look for them, and loading them stays cheap."""

from __future__ import annotations

import contextos
import contextos.llm
import contextos.testing

DISPATCH = ["Attempt", "Completion", "ModelClient", "RetryPolicy", "ToolCall", "Usage"]


def test_dispatch_names_are_exported_lazily_from_contextos() -> None:
    for name in DISPATCH:
        assert name in contextos.__all__
        assert contextos._LAZY[name] == "contextos.llm"
        assert getattr(contextos, name) is getattr(contextos.llm, name)
    assert contextos.__all__ == sorted(contextos.__all__)


def test_subpackage_exports_resolve() -> None:
    for module in (contextos.llm, contextos.testing):
        assert module.__all__ == sorted(module.__all__)
        for name in module.__all__:
            assert getattr(module, name) is not None
