"""Compact JSON for span attributes and the store's lines, with orjson: encoding is the largest part of
what tracing costs a step (a span's content, then the span's line), and orjson does it several times
faster than the standard library's C encoder.

Dataclasses become objects, enums their value, dates and times ISO 8601 text, and any other value JSON
has no type for its ``str``. Values orjson refuses (an integer beyond 64 bits, a string with a lone
surrogate, a dict with non-string keys, nesting deeper than 254 levels) go through ``json`` instead,
with the same conversions, so every value still makes JSON. JSON has no NaN or infinity: orjson writes
them as ``null``.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
from collections.abc import Sequence
from typing import Any

import orjson


def _plain(value: Any) -> Any:
    """What ``json`` writes for a value it has no type for, as orjson does."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


_TEXT = json.JSONEncoder(ensure_ascii=False, default=_plain, separators=(",", ":"))
# valid UTF-8 whatever the strings
_ASCII = json.JSONEncoder(ensure_ascii=True, default=_plain, separators=(",", ":"))


def compact_json(value: Any) -> str:
    """``value`` as compact JSON text (non-ASCII characters kept)."""
    try:
        return orjson.dumps(value, default=str).decode()
    except orjson.JSONEncodeError:
        return _TEXT.encode(value)


def json_line(value: Any) -> bytes:
    """``value`` as one line of UTF-8 JSON, newline included (a lone surrogate is written escaped)."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return (_ASCII.encode(value) + "\n").encode("ascii")


def json_texts(values: Sequence[Any]) -> list[str]:
    """``compact_json`` of each value, in one pass (a list's elements, each to be remembered apart)."""
    try:
        return [orjson.dumps(v, default=str).decode() for v in values]
    except orjson.JSONEncodeError:
        return [compact_json(v) for v in values]
