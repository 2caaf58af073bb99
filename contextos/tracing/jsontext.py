"""Compact JSON for span attributes and the store's lines, with orjson: encoding is the largest part of
what tracing costs a step (a span's content, then the span's line), and orjson does it several times
faster than the standard library's C encoder.

Values orjson refuses (an integer beyond 64 bits, a string with a lone surrogate, a dict with non-string
keys, nesting deeper than 254 levels) go through ``json`` instead, so every value still makes JSON.
Values JSON has no type for are written as their ``str``, except enums (their value) and UUIDs; JSON has
no NaN or infinity, so non-finite floats are written as ``null``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME  # as their str, like json's default=str
_TEXT = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":"))
_ASCII = json.JSONEncoder(ensure_ascii=True, default=str, separators=(",", ":"))  # valid UTF-8 whatever the strings


def compact_json(value: Any) -> str:
    """``value`` as compact JSON text (non-ASCII characters kept)."""
    try:
        return orjson.dumps(value, default=str, option=_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return _TEXT.encode(value)


def json_line(value: Any) -> bytes:
    """``value`` as one line of UTF-8 JSON, newline included (a lone surrogate is written escaped)."""
    try:
        return orjson.dumps(value, default=str, option=_OPTIONS | orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return (_ASCII.encode(value) + "\n").encode("ascii")
