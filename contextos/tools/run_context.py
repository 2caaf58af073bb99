"""``RunContext``: what a tool may receive besides the model's arguments (its dependencies, the run, the step).

A tool asks for it by annotating a parameter with it; that parameter is left out of the schema the
model sees, and the agent fills it in at each call:

```python
def lookup_order(ctx: RunContext[Database], order_id: str) -> dict:
    return ctx.deps.orders.get(order_id)

agent.run("Where is order A-1001?", deps=database)
```
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, get_origin

DepsT = TypeVar("DepsT")


@dataclass(frozen=True)
class RunContext(Generic[DepsT]):
    """The run a tool call belongs to."""

    deps: DepsT
    """What the caller passed as ``deps`` to ``Agent.run`` / ``arun`` (None when nothing was)."""
    run_id: str | None = None
    """The run's id (its trace id when traced)."""
    step: int | None = None
    """The step that made the call."""
    agent: str | None = None
    """The agent's name."""


_CURRENT: ContextVar[RunContext[Any] | None] = ContextVar("contextos_run_context", default=None)


def current_run_context() -> RunContext[Any]:
    """The context of the tool call being made (an empty one outside an agent run)."""
    return _CURRENT.get() or RunContext(deps=None)


@contextmanager
def using_run_context(context: RunContext[Any]) -> Iterator[None]:
    """Make ``context`` the one tools called inside this block receive."""
    token = _CURRENT.set(context)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def is_run_context(annotation: Any) -> bool:
    """True for ``RunContext`` and ``RunContext[...]`` annotations."""
    return annotation is RunContext or get_origin(annotation) is RunContext
