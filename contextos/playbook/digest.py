"""What a reflector needs to know about one finished run, read from a ``RunResult`` (online) or from the
run's spans in the trace store (offline)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from contextos.context.items import CITE_ID
from contextos.context.source_names import MESSAGE_SOURCES, PLAYBOOK
from contextos.errors import TraceError
from contextos.tracing import _attributes as A
from contextos.tracing.records import SpanRecord
from contextos.tracing.view import _json_attr, step_context, steps

if TYPE_CHECKING:
    from contextos.agents.result import RunResult

_CLIP = 300


class RunDigest(BaseModel):
    """One run, as the reflector is shown it."""

    run_id: str
    """The run's id (its trace id when traced)."""
    task: str
    """What the agent was asked."""
    answer: str | None = None
    """Its final answer (None: it never wrote one)."""
    stop_reason: str | None = None
    """Why the run stopped (``final_answer``, ``max_steps``, ...)."""
    used: list[str] = Field(default_factory=list)
    """Ids of the playbook bullets that were in the model's context at some step."""
    cited: list[str] = Field(default_factory=list)
    """Ids of the bullets the model's answers cited."""
    actions: list[str] = Field(default_factory=list)
    """The tool calls, one line each: ``name(arguments) -> result`` (clipped)."""
    tool_errors: list[str] = Field(default_factory=list)
    """The tool calls that failed, one line each."""
    steps: int = 0
    """How many steps the run took."""

    @property
    def step_ids(self) -> list[str]:
        """``<run_id>:<step>`` for every step: the provenance a bullet learned from this run records."""
        return [f"{self.run_id}:{n}" for n in range(self.steps)]

    @classmethod
    def from_result(cls, result: RunResult, task: str, *, source: str = PLAYBOOK) -> RunDigest:
        """The digest of a run the caller just made (online mode)."""
        used: list[str] = []
        actions: list[str] = []
        errors: list[str] = []
        for step in result.steps:
            kept = {d.id for d in step.context.decisions if d.status != "dropped"}
            used += [
                i.metadata[CITE_ID]
                for i in step.context.items
                if i.source == source and CITE_ID in i.metadata and i.id in kept
            ]
            for r in step.tool_results:
                line = _clip(
                    f"{r.name}({json.dumps(r.arguments, ensure_ascii=False)}) -> {r.content}"
                )
                actions.append(line)
                if not r.ok:
                    errors.append(line)
        return cls(
            run_id=result.run_id,
            task=task,
            answer=result.answer,
            stop_reason=result.stop_reason,
            used=list(dict.fromkeys(used)),
            cited=list(dict.fromkeys(i for s in result.steps for i in s.cited)),
            actions=actions,
            tool_errors=errors,
            steps=len(result.steps),
        )

    @classmethod
    def from_spans(
        cls, run_id: str, spans: list[SpanRecord], *, source: str = PLAYBOOK
    ) -> RunDigest:
        """The digest of a stored run (offline mode); it must have been recorded with content."""
        assembled = steps(spans)
        if not assembled:
            raise TraceError(
                f"run {run_id} assembled no step: it is not an agent run a playbook can learn from"
            )
        first = step_context(spans, assembled[0])
        if first.items is None:
            raise TraceError(
                f"run {run_id} was recorded without content; a reflector needs the task and answer "
                "(record runs with TracingConfig(capture_content=True), the local store's default)"
            )
        task = next(
            (
                i["content"]
                for i in first.items
                if i.get("role") == "user" and i["source"] in MESSAGE_SOURCES
            ),
            "",
        )
        used: list[str] = []
        prefix = f"{source}-"
        for n in assembled:
            for d in step_context(spans, n).decisions:
                if (
                    d["source"] == source
                    and d["status"] != "dropped"
                    and d["id"].startswith(prefix)
                    and d["id"] != f"{source}-instruction"
                ):
                    used.append(d["id"][len(prefix) :])
        ordered = sorted(spans, key=lambda s: s.start_time)
        cited = [
            i for s in ordered if s.name == A.STEP_SPAN for i in s.attributes.get(A.STEP_CITED, [])
        ]
        answer = None
        for s in ordered:
            if s.attributes.get(A.OPERATION) == "chat":
                for message in _json_attr(s, A.OUTPUT_MESSAGES, None) or []:
                    if isinstance(message, dict) and message.get("content"):
                        answer = str(message["content"])
        actions, errors = [], []
        for s in ordered:
            if s.attributes.get(A.OPERATION) == "execute_tool":
                line = _clip(
                    f"{s.attributes.get(A.TOOL_NAME)}({s.attributes.get(A.TOOL_ARGUMENTS, '')}) -> "
                    f"{s.attributes.get(A.TOOL_RESULT, '')}"
                )
                actions.append(line)
                if s.attributes.get(A.ERROR_TYPE) or s.status == "ERROR":
                    errors.append(line)
        root = next((s for s in ordered if s.attributes.get(A.OPERATION) == "invoke_agent"), None)
        stop = root.attributes.get("contextos.agent.stop_reason") if root is not None else None
        return cls(
            run_id=run_id,
            task=task,
            answer=answer,
            stop_reason=stop,
            used=list(dict.fromkeys(used)),
            cited=list(dict.fromkeys(cited)),
            actions=actions,
            tool_errors=errors,
            steps=len(assembled),
        )


def _clip(text: str) -> str:
    return text if len(text) <= _CLIP else text[:_CLIP] + " ..."
