"""The released surface, pinned: the names each public package exports and the signatures of the main
entry points, compared with tests/fixtures/api_contract.json. A change to the surface is then a
deliberate diff of that file, reviewed with the code:

    python -m tests.test_api_contract --update
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "api_contract.json"
UPDATE = "python -m tests.test_api_contract --update"

PACKAGES = (
    "contextos",
    "contextos.agents",
    "contextos.compress",
    "contextos.context",
    "contextos.demos",
    "contextos.embed",
    "contextos.llm",
    "contextos.memory",
    "contextos.playbook",
    "contextos.store",
    "contextos.testing",
    "contextos.tools",
    "contextos.tracing",
)
"""The packages users import from; every other module is implementation and may move."""

MAIN_CLASSES = (
    "Agent",
    "AgentGraph",
    "Budget",
    "ContextItem",
    "DemoPool",
    "EpisodicMemory",
    "ModelClient",
    "Orchestrator",
    "Playbook",
    "PlaybookLearner",
    "Tool",
    "ToolCatalog",
    "ToolExecutor",
    "VectorMemory",
    "WorkingMemory",
)
"""Top-level classes whose public methods are pinned too (every top-level callable's own signature is)."""

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _model_signature(cls: type[BaseModel]) -> str:
    """A pydantic model's fields as written in its source (pydantic's own ``__signature__`` prints
    evaluated types, whose text changes between pydantic and Python releases)."""
    written: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        written.update(getattr(klass, "__annotations__", {}))
    fields = []
    for name, field in cls.model_fields.items():
        annotation = written.get(name, field.annotation)
        text = f"{field.alias or name}: {annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)}"
        if not field.is_required():
            default = "<factory>" if field.default_factory is not None else repr(field.default)
            text += f" = {default}"
        fields.append(text)
    return "(*, " + ", ".join(fields) + ")" if fields else "()"


def _signature(obj: Any) -> str | None:
    if inspect.isclass(obj) and issubclass(obj, BaseModel) and "__init__" not in vars(obj):
        return _model_signature(obj)
    try:
        text = str(inspect.signature(obj))
    except (TypeError, ValueError):  # a builtin or a class without an inspectable constructor
        return None
    return _ADDRESS.sub("", text)


def _methods(cls: type) -> dict[str, str]:
    """Public methods and properties that contextos defines (not pydantic's or the standard library's)."""
    out: dict[str, str] = {}
    for klass in cls.__mro__:
        if not klass.__module__.startswith("contextos"):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or name in out:
                continue
            if isinstance(value, property):
                out[name] = "property"
            elif isinstance(value, (staticmethod, classmethod)) or inspect.isfunction(value):
                text = _signature(getattr(cls, name))
                if text is not None:
                    out[name] = text
    return dict(sorted(out.items()))


def current_surface() -> dict[str, Any]:
    """What the installed code exports today, in the fixture's shape."""
    exports = {name: sorted(importlib.import_module(name).__all__) for name in PACKAGES}
    import contextos

    signatures: dict[str, str] = {}
    methods: dict[str, dict[str, str]] = {}
    for name in contextos.__all__:
        value = getattr(contextos, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            text = _signature(value)
            if text is not None:
                signatures[name] = text
        if name in MAIN_CLASSES:
            methods[name] = _methods(value)
    return {"exports": exports, "signatures": signatures, "methods": methods}


def _differences(pinned: dict[str, Any], now: dict[str, Any]) -> list[str]:
    lines = []
    for package in sorted(set(pinned["exports"]) | set(now["exports"])):
        before, after = (
            set(pinned["exports"].get(package, [])),
            set(now["exports"].get(package, [])),
        )
        lines += [f"{package}: {n} no longer exported" for n in sorted(before - after)]
        lines += [f"{package}: {n} newly exported" for n in sorted(after - before)]
    pinned_calls = {**pinned["signatures"], **_flat(pinned["methods"])}
    now_calls = {**now["signatures"], **_flat(now["methods"])}
    for name in sorted(set(pinned_calls) | set(now_calls)):
        if pinned_calls.get(name) != now_calls.get(name):
            lines.append(
                f"{name}:\n  pinned: {pinned_calls.get(name)}\n  now:    {now_calls.get(name)}"
            )
    return lines


def _flat(methods: dict[str, dict[str, str]]) -> dict[str, str]:
    return {f"{cls}.{name}": text for cls, own in methods.items() for name, text in own.items()}


def test_the_exported_surface_matches_the_pinned_contract() -> None:
    pinned = json.loads(FIXTURE.read_text())
    now = current_surface()
    changes = _differences(pinned, now)
    assert not changes, (
        "the public surface changed:\n"
        + "\n".join(changes)
        + f"\nIf that is intended, regenerate the fixture with `{UPDATE}` and commit the diff."
    )


def test_every_pinned_export_resolves() -> None:
    for package, names in json.loads(FIXTURE.read_text())["exports"].items():
        module = importlib.import_module(package)
        for name in names:
            assert getattr(module, name, None) is not None, f"{package}.{name} does not resolve"


def test_no_public_package_exports_a_private_name() -> None:
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            if name.startswith("_") and name != "__version__":
                raise AssertionError(f"{package} exports the private name {name}")
            value = getattr(module, name)
            where = getattr(value, "__module__", None) or ""
            assert not any(part.startswith("_") for part in where.split(".")), (
                f"{package}.{name} is defined in the private module {where}: make that module public "
                "or stop exporting the name"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check or regenerate the pinned public surface.")
    parser.add_argument("--update", action="store_true", help=f"rewrite {FIXTURE.name}")
    args = parser.parse_args(argv)
    now = current_surface()
    if args.update:
        FIXTURE.parent.mkdir(exist_ok=True)
        FIXTURE.write_text(json.dumps(now, indent=2, sort_keys=True) + "\n")
        print(f"wrote {FIXTURE}")
        return 0
    changes = _differences(json.loads(FIXTURE.read_text()), now)
    print("\n".join(changes) or "the surface matches the fixture")
    return 1 if changes else 0


if __name__ == "__main__":
    sys.exit(main())
