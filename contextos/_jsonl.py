"""Reading JSON Lines files: one JSON value per line, blank lines skipped, bad lines named.

Every reader of contextos (``assemble``, ``memory add`` / ``search``, ``tools index`` / ``search``)
goes through here, so each refuses the same things with an error naming the file and the line:
bytes that are not UTF-8, text that is not JSON (``NaN`` and ``Infinity`` included), values nested
deeper than ``MAX_DEPTH`` and integers beyond 64 bits. Lines end at ``\\n`` only: U+2028 and U+2029
are valid inside JSON strings and do not split a line (``str.splitlines()`` would).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contextos.errors import ContextOSError

MAX_DEPTH = 100
"""Deepest nesting of arrays and objects a line may have."""

_INT_LIMIT = 2**63


def read_text(path: Path, error: type[ContextOSError], *, what: str = "file") -> str:
    """The UTF-8 text of ``path``; ``error`` saying what is wrong (missing, a folder, unreadable, not UTF-8)."""
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise error(f"{path} is a folder; pass the {what} itself") from None
    except FileNotFoundError:
        raise error(f"no {what} at {path}: it does not exist") from None
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(
            f"{path}:{line} is not UTF-8 text (byte {data[exc.start]:#04x}); save the file as UTF-8"
        ) from None


def jsonl_rows(
    path: Path, error: type[ContextOSError], *, text: str | None = None
) -> list[tuple[int, Any]]:
    """``(line number, value)`` for each non-blank line of ``path`` (or of ``text``, read from it).

    A line that is not JSON, or that JSON this package will not take, raises ``error`` with the
    file, the line and what to do.
    """
    lines = (read_text(path, error, what="JSONL file") if text is None else text).split("\n")
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append((n, parse_line(line)))
        except ValueError as exc:
            raise error(
                f"{path}:{n} is not valid JSON ({exc}); each line must be one JSON object"
            ) from None
    return rows


def parse_line(line: str) -> Any:
    """One line's JSON value; ``ValueError`` saying why it is refused."""
    try:
        value = json.loads(line, parse_constant=_no_constant, parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    if _depth(value) > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; write a finite number or null")


def _bounded_int(text: str) -> int:
    # Checked on the digits first: int() of a very long string is itself refused (or slow).
    if len(text.lstrip("-")) > 19 or abs(int(text)) >= _INT_LIMIT:
        raise ValueError(
            f"the integer {text[:24]}{'...' if len(text) > 24 else ''} does not fit in 64 bits"
        )
    return int(text)


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            stack.extend(
                (child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)
            )
    return deepest
