"""Reading a stored run back as people ask about it: the span tree, one step's context, two steps' difference,
and the exact request a step sent (for replay)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from contextos.errors import TraceError
from contextos.tracing import _attributes as A
from contextos.tracing.records import SpanRecord


def span_tree(spans: list[SpanRecord]) -> list[tuple[int, SpanRecord]]:
    """Spans depth-first in start order, each with its depth; spans whose parent never finished are roots."""
    ids = {s.span_id for s in spans}
    children: dict[str | None, list[SpanRecord]] = {}
    for s in spans:
        parent = s.parent_span_id if s.parent_span_id in ids else None
        children.setdefault(parent, []).append(s)
    out: list[tuple[int, SpanRecord]] = []

    def walk(parent: str | None, depth: int) -> None:
        for s in sorted(children.get(parent, []), key=lambda x: x.start_time):
            out.append((depth, s))
            walk(s.span_id, depth + 1)

    walk(None, 0)
    return out


def effective_steps(spans: list[SpanRecord]) -> dict[str, int]:
    """The step of each span that belongs to one: its own ``contextos.step``, an ancestor's, or, for a
    model call beside the assembly (no step span around them), the latest assembled step before it
    (step 0 when none was assembled before it, as in ``contextos complete``)."""
    by_id = {s.span_id: s for s in spans}
    out: dict[str, int] = {}
    assemblies = sorted(
        (s for s in spans if s.name == A.ASSEMBLE_SPAN and s.step is not None),
        key=lambda s: s.end_time,
    )
    for s in spans:
        node: SpanRecord | None = s
        while node is not None and node.step is None:
            node = by_id.get(node.parent_span_id or "")
        if node is not None:
            out[s.span_id] = node.step  # type: ignore[assignment]
        elif s.attributes.get(A.OPERATION) in ("chat", "execute_tool"):
            before = [a for a in assemblies if a.end_time <= s.start_time]
            out[s.span_id] = before[-1].step if before else 0  # type: ignore[assignment]
    return out


def _json_attr(span: SpanRecord, key: str, default: Any) -> Any:
    value = span.attributes.get(key)
    if not isinstance(value, str):
        return default
    try:
        return json.loads(value)
    except ValueError:
        return default


class StepContext(BaseModel):
    """What the model saw at one step, and what was left out."""

    step: int
    """The step index."""
    budget: int
    """Tokens available for the request."""
    request_tokens: int
    """Tokens the assembled request used."""
    per_source: dict[str, dict[str, int]]
    """Per source: offered, offered_tokens, kept, kept_tokens."""
    decisions: list[dict[str, Any]]
    """Every ContextDecision (id, source, status, tokens_before, tokens_after, score, reason)."""
    items: list[dict[str, Any]] | None = None
    """The included items with their content, in render order (``None``: content was not captured)."""
    messages: list[dict[str, Any]] | None = None
    """The rendered messages, as the step's model call sent them (``None``: content was not captured, or
    the context was never sent)."""
    tools: list[dict[str, Any]] | None = None
    """The tool schemas the step's model call offered (``None``: not captured, or never sent)."""
    span_id: str = ""
    """The assembly span this came from."""

    def sections(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """Decisions grouped by source, sources in the order they were offered."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for d in self.decisions:
            groups.setdefault(d["source"], []).append(d)
        return list(groups.items())

    def kept(self) -> dict[str, dict[str, Any]]:
        """Decisions of the items that made it into the request, by id."""
        return {d["id"]: d for d in self.decisions if d["status"] != "dropped"}


def steps(spans: list[SpanRecord]) -> list[int]:
    """The steps a run assembled, in order."""
    return sorted({s.step for s in spans if s.name == A.ASSEMBLE_SPAN and s.step is not None})


def step_context(spans: list[SpanRecord], step: int) -> StepContext:
    """The context of ``step`` (the last assembly of that step, if it was assembled more than once)."""
    found = [s for s in spans if s.name == A.ASSEMBLE_SPAN and s.step == step]
    if not found:
        raise TraceError(
            f"the run has no assembled step {step}; its steps are {steps(spans) or 'none'}"
        )
    s = max(found, key=lambda x: x.end_time)
    sent = _sending_chat(spans, s)
    # where runs recorded by earlier versions kept them
    messages = _json_attr(s, A.CONTEXT_MESSAGES, None)
    if messages is None:
        messages = _json_attr(sent, A.INPUT_MESSAGES, None) if sent is not None else None
    return StepContext(
        step=step,
        budget=int(s.attributes.get(A.BUDGET, 0)),
        request_tokens=int(s.attributes.get(A.REQUEST_TOKENS, 0)),
        per_source=_json_attr(s, A.PER_SOURCE, {}),
        decisions=_json_attr(s, A.DECISIONS, []),
        items=_json_attr(s, A.CONTEXT_ITEMS, None),
        messages=messages,
        tools=_json_attr(sent, A.TOOL_DEFINITIONS, None) if sent is not None else None,
        span_id=s.span_id,
    )


def final_answer(spans: list[SpanRecord]) -> str | None:
    """The run's answer: the text of the last model call when it called no tool (``None`` when the run
    ended otherwise, or its content was not captured)."""
    chats = [
        s
        for s in spans
        if s.attributes.get(A.OPERATION) == "chat" and A.OUTPUT_MESSAGES in s.attributes
    ]
    if not chats:
        return None
    output = _json_attr(max(chats, key=lambda s: s.end_time), A.OUTPUT_MESSAGES, [])
    last = (
        output[-1] if isinstance(output, list) and output and isinstance(output[-1], dict) else {}
    )
    content = last.get("content")
    if last.get("tool_calls") or not isinstance(content, str) or not content:
        return None
    return content


def _sending_chat(spans: list[SpanRecord], assembly: SpanRecord) -> SpanRecord | None:
    """The model call that sent an assembled context: the first ``chat`` span beside the assembly (same
    parent) that started after it ended and before the next assembly beside it. (A query-writing call
    made while gathering is inside the assembly, not beside it.)"""
    beside = sorted(
        (
            s
            for s in spans
            if s.parent_span_id == assembly.parent_span_id and s.start_time >= assembly.end_time
        ),
        key=lambda s: s.start_time,
    )
    for s in beside:
        if s.name == A.ASSEMBLE_SPAN:
            return None
        if s.attributes.get(A.OPERATION) == "chat":
            return s
    return None


class ContextDiff(BaseModel):
    """What entered and left the context between two steps."""

    step_a: int
    """The earlier step."""
    step_b: int
    """The later step."""
    entered: list[dict[str, Any]]
    """Items in B's request that were not in A's (B's decisions)."""
    left: list[dict[str, Any]]
    """Items in A's request that are not in B's, each with ``why`` (B's reason, or not offered)."""
    changed: list[dict[str, Any]]
    """Items in both whose token count changed (id, source, tokens_a, tokens_b, status_b)."""
    tokens_a: int
    """Request tokens at A."""
    tokens_b: int
    """Request tokens at B."""


def context_diff(spans: list[SpanRecord], a: int, b: int) -> ContextDiff:
    """The difference between the contexts of steps ``a`` and ``b``."""
    ca, cb = step_context(spans, a), step_context(spans, b)
    ka, kb = ca.kept(), cb.kept()
    all_b = {d["id"]: d for d in cb.decisions}
    left = []
    for item_id, d in ka.items():
        if item_id not in kb:
            later = all_b.get(item_id)
            why = f"dropped: {later['reason']}" if later else "not offered"
            left.append({**d, "why": why})
    changed = [
        {
            "id": i,
            "source": d["source"],
            "tokens_a": ka[i]["tokens_after"],
            "tokens_b": d["tokens_after"],
            "status_b": d["status"],
        }
        for i, d in kb.items()
        if i in ka and ka[i]["tokens_after"] != d["tokens_after"]
    ]
    return ContextDiff(
        step_a=a,
        step_b=b,
        entered=[d for i, d in kb.items() if i not in ka],
        left=left,
        changed=changed,
        tokens_a=ca.request_tokens,
        tokens_b=cb.request_tokens,
    )


class ReplayRequest(BaseModel):
    """The exact request a step sent to a model, rebuilt from its ``chat`` span."""

    model: str
    """The model the request named."""
    messages: list[dict[str, Any]]
    """The messages, as sent (secrets redacted)."""
    tools: list[dict[str, Any]] = Field(default_factory=list)
    """The tool schemas, as sent."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Sampling and other request parameters (temperature, max_tokens, ...)."""

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for a completion call (``litellm.acompletion(**r.kwargs())``)."""
        out: dict[str, Any] = {"model": self.model, "messages": self.messages, **self.params}
        if self.tools:
            out["tools"] = self.tools
        return out


def replay_request(spans: list[SpanRecord], step: int, *, call: int = 0) -> ReplayRequest:
    """The request that model call number ``call`` (0: the first) of ``step`` sent."""
    stepped = effective_steps(spans)
    chats = [
        s
        for s in spans
        if s.attributes.get(A.OPERATION) == "chat" and stepped.get(s.span_id) == step
    ]
    if not chats:
        raise TraceError(f"the run has no model call at step {step}")
    if call >= len(chats):
        raise TraceError(f"step {step} made {len(chats)} model call(s); call {call} does not exist")
    chat = chats[call]
    request = _json_attr(chat, A.REQUEST, None)
    messages = _json_attr(chat, A.INPUT_MESSAGES, None)
    if request is None or messages is None:
        raise TraceError(
            f"the model call of step {step} was recorded without content; turn content capture on "
            "(TracingConfig(capture_content=True), the default for the local store) to replay it"
        )
    return ReplayRequest(
        model=request.get("model") or chat.attributes.get(A.REQUEST_MODEL, ""),
        messages=messages,
        tools=_json_attr(chat, A.TOOL_DEFINITIONS, []),
        params=request.get("params") or {},
    )
