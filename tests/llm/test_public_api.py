"""The dispatch names are public where users look for them, and loading them stays cheap."""

from __future__ import annotations

import ast

import contextos
import contextos.llm
import contextos.testing
from tests.conftest import ROOT

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


def _imports_litellm(path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import) and any(
            alias.name.split(".")[0] == "litellm" for alias in node.names
        ):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] == "litellm"
        ):
            return True
    return False


def test_only_contextos_llm_imports_litellm() -> None:
    package = ROOT / "contextos"
    importers = sorted(
        str(p.relative_to(package)) for p in package.rglob("*.py") if _imports_litellm(p)
    )
    assert importers, "the scan found no litellm import at all, so it checks nothing"
    assert [p for p in importers if not p.startswith("llm/")] == []
