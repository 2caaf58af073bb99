"""Pydantic models whose bad input raises a ``ContextOSError``, not pydantic's ``ValidationError``.

Every public constructor of contextos raises under the one root: a model here names its error class
and what it is called, and a failed validation becomes that error, listing each bad field.

```python
class RunLimits(CheckedModel):
    _error: ClassVar[type[ContextOSError]] = ConfigError
    _what: ClassVar[str] = "run limits"
```
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from contextos.errors import ContextOSError


def validation_problems(exc: ValidationError, default: str = "value") -> str:
    """Each failure of ``exc`` as ``field: what is wrong``, joined by ``; ``."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or default}: {e['msg']}" for e in exc.errors()
    )


class CheckedModel(BaseModel):
    """A model whose invalid input raises ``_error`` naming ``_what`` (and the ``id`` when given)."""

    _error: ClassVar[type[ContextOSError]] = ContextOSError
    """The exception raised for invalid input."""
    _what: ClassVar[str] = "value"
    """How the message names the thing, e.g. ``memory record``."""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            where = f" {data['id']!r}" if isinstance(data.get("id"), str) else ""
            raise self._error(
                f"invalid {self._what}{where} ({validation_problems(exc, self._what)})"
            ) from None
