"""How many tokens a step may use, and how they are shared between sources."""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict, Field, model_validator

from contextos._checked import CheckedModel
from contextos.errors import BudgetError, ContextOSError


class _BudgetModel(CheckedModel):
    """Validation failures of budgets surface as ``BudgetError``, like every other budget problem."""

    _error: ClassVar[type[ContextOSError]] = BudgetError


class Section(_BudgetModel):
    """The share of the budget one source may take.

    ```python
    Section(floor=200, cap=2_000, weight=1.5)
    ```
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    _what: ClassVar[str] = "section"

    floor: int = Field(default=0, ge=0)
    """Tokens reserved for this source: its best items are taken first, up to this many tokens."""
    cap: int | None = Field(default=None, ge=0)
    """The most tokens this source may take (None: no limit beyond the budget)."""
    weight: float = Field(default=1.0, gt=0)
    """Multiplies the relevance of this source's items when items compete for the rest."""

    @model_validator(mode="after")
    def _floor_within_cap(self) -> Section:
        if self.cap is not None and self.floor > self.cap:
            raise ValueError(f"floor ({self.floor}) is above cap ({self.cap})")
        return self


class Budget(_BudgetModel):
    """The token budget of one request.

    ```python
    >>> budget = Budget(context_window=8_192, reserve_output=1_024, sections={"tools": Section(cap=2_000)})
    >>> budget.available  # tokens the prompt may use
    7168
    >>> budget.section("tools").cap, budget.section("memory").cap  # a source without a section: no cap
    (2000, None)

    ```
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    _what: ClassVar[str] = "budget"

    context_window: int
    """The model's context length in tokens."""
    reserve_output: int = 0
    """Tokens kept free for the model's answer."""
    sections: dict[str, Section] = Field(default_factory=dict)
    """Per-source floors, caps and weights, keyed by source name."""
    redundancy_penalty: float = Field(default=0.5, ge=0, le=1)
    """How much an item's utility falls when it repeats an item already selected (0: not at all)."""
    min_truncated_tokens: int = Field(default=64, ge=1)
    """An item that does not fit whole is truncated into the space left only if at least this
    many of its tokens would remain; otherwise it is dropped."""

    @model_validator(mode="after")
    def _is_possible(self) -> Budget:
        if self.context_window <= 0:
            raise ValueError(f"context_window must be positive, got {self.context_window}")
        if self.reserve_output < 0:
            raise ValueError(f"reserve_output must not be negative, got {self.reserve_output}")
        if self.reserve_output >= self.context_window:
            raise ValueError(
                f"reserve_output ({self.reserve_output}) leaves no room for a prompt in a "
                f"{self.context_window}-token window; lower it or raise context_window"
            )
        floors = sum(s.floor for s in self.sections.values())
        if floors > self.available:
            raise ValueError(
                f"section floors add up to {floors} tokens but only {self.available} are available; lower the floors"
            )
        return self

    @property
    def available(self) -> int:
        """Tokens the request itself may use."""
        return self.context_window - self.reserve_output

    def section(self, source: str) -> Section:
        """The section of ``source`` (an unlimited one when the budget names none)."""
        return self.sections.get(source, _OPEN)

    def check_sections(self, sources: set[str] | list[str]) -> None:
        """Raise ``BudgetError`` if a section names a source that is not among ``sources``."""
        unknown = sorted(set(self.sections) - set(sources))
        if unknown:
            raise BudgetError(
                f"the budget has sections for unknown sources {unknown}; known sources are "
                f"{sorted(set(sources))}. Fix the section names or register those sources."
            )


_OPEN = Section()
