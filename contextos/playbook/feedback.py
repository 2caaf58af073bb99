"""What a run's outcome was: ground truth, a user's scoring function, or the run's own execution signals.

A feedback function takes a ``RunDigest`` and returns ``Feedback``:

```python
learner.learn(result, task, feedback=ground_truth("391"))
learner.learn(result, task, feedback=scored(lambda run: 1.0 if "391" in (run.answer or "") else 0.0))
```
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pydantic import BaseModel, Field

from contextos.playbook.digest import RunDigest


class Feedback(BaseModel):
    """The outcome of one run, as the reflector is told it."""

    success: bool | None = None
    """Whether the run did what it should (None: unknown)."""
    score: float | None = None
    """A score in [0, 1] when one was computed."""
    expected: str | None = None
    """The ground-truth answer, when known."""
    notes: list[str] = Field(default_factory=list)
    """What the signals say, one line each (tool errors, a failed check, a mismatch)."""

    @property
    def outcome(self) -> str:
        """``succeeded``, ``failed`` or ``unknown``."""
        return "unknown" if self.success is None else "succeeded" if self.success else "failed"


FeedbackFn = Callable[[RunDigest], Feedback]


def execution_signals(run: RunDigest) -> Feedback:
    """Feedback from the run itself: it failed when it stopped without a final answer or its last tool call
    (its final check) failed; every tool error is noted. Otherwise it succeeded as far as execution shows."""
    notes = [f"tool error: {e}" for e in run.tool_errors]
    failed = False
    if run.stop_reason not in (None, "final_answer"):
        notes.append(f"the run stopped without a final answer ({run.stop_reason})")
        failed = True
    if run.actions and run.tool_errors and run.actions[-1] == run.tool_errors[-1]:
        notes.append("the last tool call (the final check) failed")
        failed = True
    return Feedback(success=not failed, notes=notes)


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def ground_truth(expected: str) -> FeedbackFn:
    """Feedback that compares the answer with ``expected``: success when the answer contains it (case and
    spacing ignored); execution signals are noted too."""

    def judge(run: RunDigest) -> Feedback:
        signals = execution_signals(run)
        ok = bool(run.answer) and _normal(expected) in _normal(run.answer or "")
        notes = signals.notes + (
            [] if ok else [f"the answer does not contain the expected {expected!r}"]
        )
        return Feedback(success=ok, score=1.0 if ok else 0.0, expected=expected, notes=notes)

    return judge


def scored(score: Callable[[RunDigest], float], *, threshold: float = 0.5) -> FeedbackFn:
    """Feedback from a user's scoring function (0..1): success when the score reaches ``threshold``."""

    def judge(run: RunDigest) -> Feedback:
        value = float(score(run))
        signals = execution_signals(run)
        ok = value >= threshold
        return Feedback(
            success=ok,
            score=value,
            notes=[*signals.notes, f"score {value:.2f} (threshold {threshold:.2f})"],
        )

    return judge
