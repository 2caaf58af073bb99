"""Every help screen of ``contextos`` reads right: flags without a type label, arguments by name.

typer 0.27 to 0.29 print ``<bool>`` on every flag, ``<str>``-style labels and ``{run}`` for
arguments in usage lines; pyproject pins typer below 0.27, and this test fails on a typer that
renders help that way.
"""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from contextos.cli.main import app

PLACEHOLDER = re.compile(r"\{[A-Za-z_]\w*\}")
"""A parameter name left in braces, e.g. ``{run}`` or ``{file}``."""
ANGLE_TYPE = re.compile(r"<(?:bool|str|int|float|path|file|list\[[^>]*\]|[a-z]+\|[^>]*)>")
"""A type label in angle brackets, e.g. ``<bool>``, ``<str>``, ``<list[str]>``."""


def _command_paths() -> list[tuple[str, ...]]:
    """Every group and command, as the words typed after ``contextos``."""
    paths: list[tuple[str, ...]] = [()]
    stack = [((), typer.main.get_command(app))]
    while stack:
        path, command = stack.pop()
        for name, sub in getattr(command, "commands", {}).items():
            paths.append((*path, name))
            stack.append(((*path, name), sub))
    return sorted(paths)


def _help(*words: str) -> str:
    result = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_is_reached():
    paths = _command_paths()
    assert ("trace", "show") in paths and ("tools", "search") in paths and ("demo",) in paths
    assert len(paths) > 20


@pytest.mark.parametrize("words", _command_paths(), ids=lambda w: " ".join(w) or "contextos")
def test_help_screen_has_no_type_labels_or_placeholders(words):
    text = _help(*words)
    assert "Usage:" in text and "--help" in text
    assert not ANGLE_TYPE.search(text), ANGLE_TYPE.search(text).group()
    assert not PLACEHOLDER.search(text), PLACEHOLDER.search(text).group()


def test_flags_and_arguments_read_right():
    top = _help()
    flag = next(line for line in top.splitlines() if "--version" in line)
    assert re.search(r"--version\s+Print the version", flag), flag
    show = _help("trace", "show")
    assert re.search(r"Usage: .* trace show \[OPTIONS\] RUN\b", show), show
    assert re.search(r"--full\s+Print item contents", show), show
    assert re.search(r"--step\s+INTEGER", show), show
