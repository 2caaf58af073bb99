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


def validation_problems(exc: ValidationError, default: str = "value", *, skip: int = 0) -> str:
    """Each failure of ``exc`` as ``field: what is wrong`` (``default`` where no field is named),
    joined by ``; ``: the words every ``ContextOSError`` for invalid input quotes. ``skip``: leading
    parts of each location to leave out (a tagged union's tag)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'][skip:]) or default}: {e['msg']}" for e in exc.errors()
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
