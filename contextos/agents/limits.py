"""When a run stops without a final answer: ``RunLimits`` (steps, tokens, cost, time) and ``Cancellation``."""

from __future__ import annotations

from typing import ClassVar, Protocol

from pydantic import ConfigDict, Field

from contextos._checked import CheckedModel
from contextos.agents.result import StopReason
from contextos.errors import ConfigError, ContextOSError
from contextos.llm.types import Usage


class Cancellation(Protocol):
    """Anything with ``is_set()``: a ``threading.Event`` or an ``asyncio.Event``."""

    def is_set(self) -> bool: ...


class RunLimits(CheckedModel):
    """When a run stops even without a final answer."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    _error: ClassVar[type[ContextOSError]] = ConfigError
    _what: ClassVar[str] = "run limits"

    max_steps: int = Field(default=10, ge=1)
    """Model calls at most."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Stop once the run's prompt plus completion tokens reach this many."""
    max_cost_usd: float | None = Field(default=None, gt=0)
    """Stop once the estimated cost reaches this (needs the prices below)."""
    usd_per_million_input: float = Field(default=0.0, ge=0)
    """Price of a million prompt tokens, for the cost estimate."""
    usd_per_million_output: float = Field(default=0.0, ge=0)
    """Price of a million completion tokens, for the cost estimate."""
    max_seconds: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Stop once the run has taken this long; a step under way then is cut short (and not recorded)."""

    def cost(self, usage: Usage) -> float:
        """The estimated cost of ``usage`` in USD."""
        return (
            usage.prompt_tokens * self.usd_per_million_input
            + usage.completion_tokens * self.usd_per_million_output
        ) / 1e6

    def spent(self, usage: Usage) -> StopReason | None:
        """``"max_tokens"`` or ``"max_cost"`` when ``usage`` has reached that limit; None while neither."""
        if self.max_tokens is not None and usage.total_tokens >= self.max_tokens:
            return "max_tokens"
        if self.max_cost_usd is not None and self.cost(usage) >= self.max_cost_usd:
            return "max_cost"
        return None
