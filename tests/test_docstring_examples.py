"""The ``>>>`` examples in contextos's docstrings run, and print what they say they print.

Only modules whose source holds an example are imported. The same examples run with
``pytest --doctest-modules contextos/<module>.py`` (the option flags are in pyproject.toml).
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def modules_with_examples() -> list[str]:
    return sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (ROOT / "contextos").rglob("*.py")
        if ">>> " in path.read_text(encoding="utf-8")
    )


def examples() -> list[doctest.DocTest]:
    found = []
    for name in modules_with_examples():
        module = importlib.import_module(name)
        found += [t for t in doctest.DocTestFinder().find(module, name) if t.examples]
    return sorted(found, key=lambda t: t.name)


EXAMPLES = examples()


def test_the_main_entry_points_show_an_example() -> None:
    names = {t.name.rsplit(".", 1)[-1] for t in EXAMPLES}
    expected = {
        "Budget",
        "ContextItem",
        "Orchestrator",
        "TiktokenCounter",
        "counter_for_model",
        "shared_prefix_tokens",
        "ScriptedModel",
    }
    assert expected <= names, f"no example left in {sorted(expected - names)}"


@pytest.mark.parametrize("test", EXAMPLES, ids=lambda t: t.name)
def test_docstring_example(test: doctest.DocTest) -> None:
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    output: list[str] = []
    runner.run(test, out=output.append)
    assert runner.failures == 0, "".join(output)
