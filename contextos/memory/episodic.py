"""Finished trajectories, found again by task similarity and shown as demonstrations."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ConfigDict, Field, field_validator

from contextos.context.items import ContextItem, Step
from contextos.context.source_names import DEMONSTRATIONS
from contextos.embed.base import Embedder
from contextos.errors import MemoryStoreError
from contextos.memory.index_text import content_only
from contextos.memory.records import CheckedModel, Filters, MemoryHit, MemoryRecord
from contextos.memory.scoring import ScoringWeights
from contextos.memory.vector import VectorMemory


class TrajectoryStep(CheckedModel):
    """One step of a finished run."""

    model_config = ConfigDict(frozen=True)
    _what: ClassVar[str] = "trajectory step"

    thought: str = ""
    """What the agent said or reasoned at this step."""
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    """The calls it made: ``{"name": ..., "arguments": {...}}`` (or OpenAI ``tool_calls`` entries)."""
    observation: str = ""
    """What came back (tool results), as text."""

    @field_validator("tool_calls")
    @classmethod
    def _calls_are_named(cls, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for n, call in enumerate(calls):
            fn = call.get("function", call)
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                raise ValueError(
                    f'call {n} has no name: give {{"name", "arguments"}} or an OpenAI tool_calls entry'
                )
        return calls


class Trajectory(CheckedModel):
    """A finished task: what was asked, what was done, how it ended.

    ```python
    Trajectory(task="Book a table for two at 8pm", steps=[TrajectoryStep(tool_calls=[{"name": "book", "arguments": {"time": "20:00"}}])],
               outcome="Booked at Chez Nous, 20:00", success=True)
    ```
    """

    model_config = ConfigDict(frozen=True)
    _what: ClassVar[str] = "trajectory"

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    """Unique within the store."""
    task: str = Field(min_length=1)
    """The task as the user gave it; similar tasks find this trajectory."""
    steps: list[TrajectoryStep] = Field(default_factory=list)
    """The steps, in order."""
    outcome: str = ""
    """The final answer or result."""
    success: bool | None = None
    """Whether it succeeded (None: unknown)."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """User, session, run id, or anything else (scalar values are filterable)."""
    finished_at: float = Field(default_factory=time.time)
    """When the run ended (Unix seconds)."""

    @field_validator("task")
    @classmethod
    def _task_not_blank(cls, task: str) -> str:
        if not task.strip():
            raise ValueError("task is empty; a trajectory is found again by its task")
        return task

    def as_demonstration(self, max_steps: int | None = None) -> str:
        """The trajectory as a worked example: task, each step's calls and results, outcome."""
        lines = [f"Task: {self.task}"]
        for n, step in enumerate(self.steps[:max_steps] if max_steps else self.steps, 1):
            if step.thought:
                lines.append(f"Step {n}: {step.thought}")
            for call in step.tool_calls:
                fn = call.get("function", call)
                args = fn.get("arguments", {})
                args = (
                    args
                    if isinstance(args, str)
                    else json.dumps(args, ensure_ascii=False, sort_keys=True)
                )
                lines.append(f"  call {fn.get('name')}({args})")
            if step.observation:
                lines.append(f"  result: {step.observation}")
        if self.outcome:
            lines.append(f"Outcome: {self.outcome}")
        return "\n".join(lines)


class EpisodicMemory:
    """Trajectories in LanceDB, searched by task. A ``MemoryStore`` (of ``episode`` records) and a
    ``ContextSource`` named ``demonstrations``.

    ```python
    episodes = EpisodicMemory("./memory", embedder=default_embedder())
    episodes.record(trajectory)
    for t in episodes.similar("book a table for four", k=2): print(t.as_demonstration())
    ```
    """

    name = DEMONSTRATIONS

    def __init__(
        self,
        uri: str | Path,
        *,
        embedder: Embedder | None = None,
        table: str = "episodes",
        weights: ScoringWeights | None = None,
        k: int = 3,
        successful_only: bool = True,
        connect_options: dict[str, Any] | None = None,
    ) -> None:
        if k < 1:
            raise MemoryStoreError(
                f"k must be at least 1 (demonstrations offered per step), got {k}"
            )
        # Relevance to the task is what makes a demonstration useful; recency only breaks near-ties.
        self.store = VectorMemory(
            uri,
            embedder=embedder,
            table=table,
            dedup_threshold=None,
            connect_options=connect_options,
            index_text=content_only,  # a task is found by its own words
            weights=weights or ScoringWeights(recency=0.02, importance=0.0),
        )
        self.k = k
        self.successful_only = successful_only

    # ------------------------------------------------------------------ trajectories
    def record(self, trajectory: Trajectory) -> MemoryRecord:
        """Store a finished trajectory (replacing one with the same id)."""
        return self.store.add(self._to_record(trajectory))

    def trajectory(self, id: str) -> Trajectory:
        """The trajectory ``id`` (``RecordNotFoundError`` when there is none)."""
        return _from_record(self.store.get(id))

    def similar(
        self,
        task: str,
        k: int = 3,
        filters: Filters | None = None,
        *,
        successful_only: bool | None = None,
    ) -> list[Trajectory]:
        """The ``k`` stored trajectories whose tasks are most like ``task``."""
        return [_from_record(h.record) for h in self._hits(task, k, filters, successful_only)]

    def _hits(
        self, task: str, k: int, filters: Filters | None, successful_only: bool | None
    ) -> list[MemoryHit]:
        only = self.successful_only if successful_only is None else successful_only
        filters = dict(filters or {})
        if only and self.store.count() and "success" not in filters:
            filters["success"] = True
        return self.store.search(task, k, filters)

    def _to_record(self, t: Trajectory) -> MemoryRecord:
        scalars = {
            k: v
            for k, v in t.metadata.items()
            if isinstance(v, (str, int, float, bool)) and k not in ("trajectory", "success")
        }
        named = {
            k: scalars.pop(k)
            for k in ("user", "session")
            if isinstance(scalars.get(k), (str, int)) and not isinstance(scalars[k], bool)
        }
        return MemoryRecord(
            id=t.id,
            kind="episode",
            content=t.task,
            created_at=t.finished_at,
            importance=1.0 if t.success else 0.5,
            metadata={**named, **scalars, "success": t.success, "trajectory": t.model_dump_json()},
        )

    # ------------------------------------------------------------------ MemoryStore
    def add(self, record: MemoryRecord) -> MemoryRecord:
        """Store an ``episode`` record (its metadata must hold the trajectory JSON); prefer ``record()``."""
        if "trajectory" not in record.metadata.free:
            raise MemoryStoreError(
                "an episodic record needs metadata 'trajectory' (use EpisodicMemory.record(trajectory))"
            )
        return self.store.add(record)

    def get(self, id: str) -> MemoryRecord:
        return self.store.get(id)

    def update(self, id: str, **changes: Any) -> MemoryRecord:
        return self.store.update(id, **changes)

    def delete(self, id: str) -> None:
        self.store.delete(id)

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[MemoryHit]:
        return self._hits(query, k, filters, False)

    # ------------------------------------------------------------------ as a source
    async def candidates(self, step: Step) -> list[ContextItem]:
        """The ``k`` most similar successful trajectories to ``step.input``, as demonstrations."""
        if not step.input.strip() or self.store.count() == 0:
            return []
        return [
            ContextItem(
                id=f"episode-{h.record.id}",
                source=self.name,
                content=_from_record(h.record).as_demonstration(),
                score=h.relevance,
                metadata={"record_id": h.record.id},
            )
            for h in self._hits(step.input, self.k, step.metadata.get("memory_filters"), None)
        ]


def _from_record(record: MemoryRecord) -> Trajectory:
    try:
        return Trajectory.model_validate_json(record.metadata.free["trajectory"])
    except (KeyError, ValueError) as exc:
        raise MemoryStoreError(
            f"record {record.id!r} holds no readable trajectory: {exc}"
        ) from None


def trajectory_from_messages(
    task: str,
    messages: Sequence[dict[str, Any]],
    outcome: str = "",
    success: bool | None = None,
    **metadata: Any,
) -> Trajectory:
    """A trajectory from an OpenAI-style message list (assistant tool calls and their tool results)."""
    steps: list[TrajectoryStep] = []
    results: dict[str, str] = {
        m.get("tool_call_id", ""): m.get("content") or ""
        for m in messages
        if m.get("role") == "tool"
    }
    for m in messages:
        if m.get("role") != "assistant":
            continue
        calls = list(m.get("tool_calls") or [])
        observation = "\n".join(results.get(c.get("id", ""), "") for c in calls).strip()
        steps.append(
            TrajectoryStep(
                thought=m.get("content") or "", tool_calls=calls, observation=observation
            )
        )
    return Trajectory(task=task, steps=steps, outcome=outcome, success=success, metadata=metadata)
