"""Reading the time a record's metadata gives (``date_time``, ``timestamp``...) and writing it in one format.

Users write times as they have them: Unix seconds, ISO 8601, or a human date such as LoCoMo's
``1:56 pm on 8 May, 2023``. A record's indexed text carries the time in one normalised form, so
that the same day reads the same whatever the source wrote. A time without a zone is read as UTC.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from contextos.errors import MemoryStoreError

TIME_FIELDS = ("date_time", "timestamp", "time", "date")
"""Metadata fields read as the time a record's content happened, the first one present wins."""

_FORMATS = (
    "%I:%M %p on %d %B, %Y",  # 1:56 pm on 8 May, 2023
    "%I:%M %p on %d %b, %Y",
    "%d %B %Y %H:%M",
    "%d %B %Y",
    "%d %B, %Y",
    "%B %d, %Y %I:%M %p",
    "%B %d, %Y",
    "%b %d, %Y",
    "%d %b %Y",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
)
"""Human formats read besides ISO 8601 (English month names, as ``strptime`` reads them in the C locale)."""


def parse_time(value: Any, *, field: str = "time") -> float:
    """Unix seconds of ``value``: a number (Unix seconds), a ``datetime``, or a string in ISO 8601
    or one of the common human formats (``1:56 pm on 8 May, 2023``, ``8 May 2023``, ``May 8, 2023``).

    ```python
    >>> parse_time("2023-05-08T13:56") == parse_time("1:56 pm on 8 May, 2023")
    True

    ```

    Raises ``MemoryStoreError`` naming ``field`` for anything else: a time read wrongly would
    silently misplace the record in the timeline.
    """
    if isinstance(value, bool):
        raise MemoryStoreError(
            f"{field} {value!r} is not a time: give Unix seconds, ISO 8601 or a date like '8 May 2023'"
        )
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise MemoryStoreError(f"{field} {value!r} is not a finite number of Unix seconds")
        return float(value)
    if isinstance(value, datetime):
        return _aware(value).timestamp()
    if isinstance(value, str) and value.strip():
        text = " ".join(value.split())
        try:
            return _aware(datetime.fromisoformat(text.replace("Z", "+00:00"))).timestamp()
        except ValueError:
            pass
        for fmt in _FORMATS:
            try:
                return _aware(datetime.strptime(text, fmt)).timestamp()
            except ValueError:
                continue
    raise MemoryStoreError(
        f"cannot read {field} {value!r} as a time: give Unix seconds, ISO 8601 ('2023-05-08T13:56') "
        "or a date such as '8 May 2023', '1:56 pm on 8 May, 2023' or 'May 8, 2023'"
    )


def format_time(seconds: float) -> str:
    """The one form times take in indexed text: ``8 May 2023, 13:56`` (UTC; the clock time left out at midnight)."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    day = f"{moment.day} {moment:%B %Y}"
    return day if (moment.hour, moment.minute) == (0, 0) else f"{day}, {moment:%H:%M}"


def record_time(metadata: dict[str, Any]) -> tuple[str, float] | None:
    """The first time field in ``metadata`` and its Unix seconds, or None when there is none."""
    for name in TIME_FIELDS:
        if metadata.get(name) is not None:
            return name, parse_time(metadata[name], field=f"metadata field {name!r}")
    return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
