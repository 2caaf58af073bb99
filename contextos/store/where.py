"""Filter expressions for ``VectorTable`` (LanceDB's SQL ``where``), with values quoted safely.

```python
table.search("will it rain", k=5, where=f"category = {quote(category)}")
table.count(id_in(["a", "b"]))
```
"""

from __future__ import annotations

from collections.abc import Iterable


def quote(value: str) -> str:
    """``value`` as an SQL string literal (single quotes, inner quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def id_in(ids: Iterable[str], column: str = "id") -> str:
    """``column IN (...)`` over ``ids``."""
    return f"{column} IN ({', '.join(quote(i) for i in ids)})"
