"""Hooks: where user code sees and steers an agent run.

Subclass ``AgentHooks`` and override what you need; each method may be sync or async. Several
hooks compose in order: each ``on_context`` sees the previous one's edit, and for a tool call the
first ``deny`` wins while ``edit``s apply one after another.

```python
class ConfirmPayments(AgentHooks):
    def on_tool_call(self, step, call):
        if call.name.startswith("pay_") and call.arguments.get("amount", 0) > 100:
            return ToolDecision.deny("payments above 100 need a person's approval")
        return ToolDecision.approve()

agent = Agent(client, tools=[pay_invoice], hooks=[ConfirmPayments()])
```
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import ConfigDict

from contextos._checked import CheckedModel
from contextos.errors import ConfigError, ContextOSError

if TYPE_CHECKING:
    from contextos.agents.result import StepRecord
    from contextos.context.items import AssembledContext, Step
    from contextos.llm.types import ToolCall


class ToolDecision(CheckedModel):
    """What ``on_tool_call`` decides about one call: run it, refuse it, or run it with other arguments."""

    model_config = ConfigDict(frozen=True)
    _error: ClassVar[type[ContextOSError]] = ConfigError
    _what: ClassVar[str] = "tool decision"

    action: Literal["approve", "deny", "edit"] = "approve"
    """approve: run as called; deny: do not run (the model reads ``reason``); edit: run with ``arguments``."""
    reason: str | None = None
    """Why it was denied (or edited), for the model and the trace."""
    arguments: dict[str, Any] | None = None
    """The arguments to run with instead, for ``edit``."""

    @classmethod
    def approve(cls) -> ToolDecision:
        """Run the call as the model made it."""
        return cls(action="approve")

    @classmethod
    def deny(cls, reason: str) -> ToolDecision:
        """Do not run it; the model reads ``Error: denied: <reason>`` as the result."""
        return cls(action="deny", reason=reason)

    @classmethod
    def edit(cls, arguments: dict[str, Any], reason: str | None = None) -> ToolDecision:
        """Run it with ``arguments`` instead of the model's (also when the model's were not valid JSON)."""
        return cls(action="edit", arguments=arguments, reason=reason)


class AgentHooks:
    """Override any of these; the defaults do nothing. Methods may be ``async``."""

    def before_step(self, step: Step) -> Any:
        """Called before each step's context is assembled."""

    def on_context(self, step: Step, context: AssembledContext) -> AssembledContext | None:
        """Inspect the assembled context; return an edited copy to send that instead (None: unchanged)."""

    def on_tool_call(self, step: Step, call: ToolCall) -> ToolDecision | None:
        """Approve, deny or edit a tool call before it runs (None: approve)."""

    def after_step(self, record: StepRecord) -> Any:
        """Called once a step is done (model answered, tools ran)."""


async def call_hook(method: Any, *args: Any) -> Any:
    """Call a hook method, awaiting it when it is async."""
    value = method(*args)
    if inspect.isawaitable(value):
        value = await value
    return value
