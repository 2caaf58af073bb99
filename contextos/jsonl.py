"""Reading JSON Lines files: one JSON value per line, blank lines skipped, bad lines named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contextos.errors import ContextOSError


def jsonl_rows(path: Path, error: type[ContextOSError], *, text: str | None = None) -> list[tuple[int, Any]]:
    """``(line number, value)`` for each non-blank line of ``path`` (or of ``text``, read from it).

    A line that is not JSON raises ``error`` with the file, the line and what to do.
    """
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append((n, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise error(f"{path}:{n} is not valid JSON ({exc.msg}); each line must be one JSON object") from None
    return rows
