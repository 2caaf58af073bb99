"""Compact JSON text for span attributes and the store's lines, with the least work per call.

``json.JSONEncoder.encode`` builds a new C encoder on every call (with its options, and a dict for
cycle checks); spans encode many small values, so here the C encoder is made once. That halves the
cost of encoding a message.
"""

from __future__ import annotations

import json
from json import encoder as _encoder
from typing import Any

_SLOW = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":"))
_make = getattr(_encoder, "c_make_encoder", None)  # None where CPython's _json accelerator is missing
_FAST = (
    _make(None, str, _encoder.c_encode_basestring, None, ":", ",", False, False, True)  # type: ignore[attr-defined]
    if _make is not None else None
)


def compact_json(value: Any) -> str:
    """``value`` as compact JSON (non-ASCII kept, non-JSON values as their ``str``)."""
    if _FAST is None:
        return _SLOW.encode(value)
    try:
        return "".join(_FAST(value, 0))
    except (RecursionError, ValueError):  # a cycle (the fast encoder does not look for them), a bad float
        return _SLOW.encode(value)
