"""One-line span helpers, following the OpenTelemetry GenAI conventions (``contextos.*`` beyond them).

```python
with chat_span("hosted_vllm/qwen", messages=messages, tools=tools, params={"temperature": 0}) as s:
    response = await call_model(...)
    record_chat_response(s, input_tokens=812, output_tokens=40, output_messages=[reply])
with tool_span("search", call_id="call_1", arguments={"q": "x"}) as s:
    record_tool_result(s, run_tool(...))
retry_event(2, "ModelServerError: 503", delay_s=0.5)      # on the current span
```

Content (messages, tool arguments and results) is serialized only while some exporter captures it
(``content_encoder()``); exporters that do not are handed spans without it. Secrets are redacted whatever
these helpers are given: attributes holding JSON piece by piece as ``to_json`` makes them
(``Redactor.json``), everything else as spans are exported (``SpanFilter``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from contextos.tracing import _attributes as A
from contextos.tracing._jsontext import compact_json
from contextos.tracing.spans import content_encoder, open_span

if TYPE_CHECKING:
    from contextos.context.items import AssembledContext, Step
    from contextos.llm.types import Attempt, Completion

# request parameters that have a GenAI attribute of their own
_PARAMS = {
    "temperature": A.REQUEST_TEMPERATURE,
    "max_tokens": A.REQUEST_MAX_TOKENS,
    "top_p": A.REQUEST_TOP_P,
    "seed": A.REQUEST_SEED,
}


def provider_of(model: str) -> str:
    """``gen_ai.provider.name`` for a litellm model string (``hosted_vllm/x`` → ``vllm``)."""
    prefix = model.split("/", 1)[0] if "/" in model else "openai"
    return {
        "hosted_vllm": "vllm",
        "offline": "contextos.offline",
        "azure": "azure.ai.openai",
        "gemini": "gcp.gemini",
    }.get(prefix, prefix)


def _open(
    name: str, attributes: dict[str, Any], *, kind: SpanKind = SpanKind.INTERNAL, root: bool = False
) -> Any:
    # an empty context: the span starts a new trace
    return open_span(name, attributes, kind=kind, context=otel_context.Context() if root else None)


def run_span(name: str, attributes: Mapping[str, Any] | None = None) -> Any:
    """The root span of a run (a new trace: one file in the trace store), e.g. ``contextos complete``."""
    return _open(name, {A.RUN: name, **(attributes or {})}, root=True)


def agent_span(
    agent_name: str,
    *,
    agent_id: str | None = None,
    conversation_id: str | None = None,
    model: str | None = None,
) -> Any:
    """``invoke_agent {agent_name}``: one agent run (a new trace unless inside a run span)."""
    attrs: dict[str, Any] = {A.OPERATION: "invoke_agent", A.AGENT_NAME: agent_name}
    if agent_id:
        attrs[A.AGENT_ID] = agent_id
    if conversation_id:
        attrs[A.CONVERSATION_ID] = conversation_id
    if model:
        attrs[A.REQUEST_MODEL] = model
        attrs[A.PROVIDER] = provider_of(model)
    root = not trace.get_current_span().get_span_context().is_valid
    return _open(f"invoke_agent {agent_name}", attrs, root=root)


def step_span(index: int, attributes: Mapping[str, Any] | None = None) -> Any:
    """``contextos.step``: one step of an agent (assembly, model call, tool calls)."""
    return _open(A.STEP_SPAN, {A.STEP: index, **(attributes or {})})


def assembly_span(step: Step | None = None) -> Any:
    """``contextos.assemble``: gathering, compressing, selecting and rendering one step's context."""
    return _open(A.ASSEMBLE_SPAN, {A.STEP: step.index if step is not None else 0})


def record_assembly(span: Span, assembled: AssembledContext) -> None:
    """Put what was offered, kept and dropped (and, while capturing, the items with their content) on
    ``span``. The rendered messages and tool schemas are recorded once, on the ``chat`` span that sends
    them (``step_context`` reads them there)."""
    if not span.is_recording():
        return
    usage = assembled.usage
    decisions = assembled.decisions
    attrs: dict[str, Any] = {  # set at once: one call into the span, not one per attribute
        A.BUDGET: usage.budget,
        A.REQUEST_TOKENS: usage.request_tokens,
        A.SOURCES: list(usage.per_source),
        # a SourceUsage's fields are its __dict__ (four numbers): a third of what model_dump costs
        A.PER_SOURCE: compact_json({name: vars(u) for name, u in usage.per_source.items()}),
        # ContextDecision is a dataclass: orjson writes its fields (id, source, status, tokens_before,
        # tokens_after, score, reason) in C, without a dict per decision
        A.DECISIONS: compact_json(decisions),
        A.DROPPED: sum(1 for d in decisions if d.status == "dropped"),  # a str enum
    }
    encode = content_encoder()
    if encode is not None:
        from contextos.context.items import FULL_CONTENT  # here: context/ imports this module

        kept = {d.id: d.tokens_after for d in decisions}
        attrs[A.CONTEXT_ITEMS] = encode(
            [
                {
                    "id": i.id,
                    "source": i.source,
                    "role": i.role,
                    "tokens": kept.get(i.id),
                    "content": i.content,
                }
                # an item shortened to fit: the text it was cut from
                | ({"full_content": i.metadata[FULL_CONTENT]} if FULL_CONTENT in i.metadata else {})
                for i in assembled.items
            ]
        )
    span.set_attributes(attrs)


def chat_span(
    model: str,
    *,
    messages: Sequence[Mapping[str, Any]] | None = None,
    tools: Sequence[Mapping[str, Any]] | None = None,
    params: Mapping[str, Any] | None = None,
    provider: str | None = None,
    step: int | None = None,
) -> Any:
    """``chat {model}``: one model call. While capturing, the whole request is kept for replay (messages,
    tool definitions, and ``contextos.request`` with the model and parameters)."""
    params = dict(params or {})
    attrs: dict[str, Any] = {
        A.OPERATION: "chat",
        A.REQUEST_MODEL: model,
        A.PROVIDER: provider or provider_of(model),
    }
    for key, attr in _PARAMS.items():
        if isinstance(params.get(key), (int, float)):
            attrs[attr] = params[key]
    if params.get("stop"):
        stop = params["stop"]
        attrs[A.REQUEST_STOP] = [stop] if isinstance(stop, str) else list(stop)
    if step is not None:
        attrs[A.STEP] = step
    if messages is not None and (encode := content_encoder()) is not None:
        attrs[A.INPUT_MESSAGES] = encode(list(messages))
        if tools:
            attrs[A.TOOL_DEFINITIONS] = encode(list(tools))
        # the rest of the request (messages and tools are above: not serialized, redacted and stored twice)
        attrs[A.REQUEST] = encode({"model": model, "params": params})
    return _open(f"chat {model}", attrs, kind=SpanKind.CLIENT)


def record_chat_response(
    span: Span,
    *,
    response_model: str | None = None,
    response_id: str | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    finish_reasons: Sequence[str] = (),
    output_messages: Sequence[Mapping[str, Any]] | None = None,
) -> None:
    """Put what the model answered on a ``chat`` span."""
    if not span.is_recording():
        return
    attrs: dict[str, Any] = {}
    if response_model:
        attrs[A.RESPONSE_MODEL] = response_model
    if response_id:
        attrs[A.RESPONSE_ID] = response_id
    if input_tokens is not None:
        attrs[A.INPUT_TOKENS] = int(input_tokens)
    if output_tokens is not None:
        attrs[A.OUTPUT_TOKENS] = int(output_tokens)
    if finish_reasons:
        attrs[A.RESPONSE_FINISH_REASONS] = [str(r) for r in finish_reasons]
    if output_messages is not None and (encode := content_encoder()) is not None:
        attrs[A.OUTPUT_MESSAGES] = encode(list(output_messages))
    span.set_attributes(attrs)


def record_completion(span: Span, completion: Completion) -> None:
    """``record_chat_response`` with what a ``Completion`` says: model, tokens, finish reason, message."""
    record_chat_response(
        span,
        response_model=completion.model,
        input_tokens=completion.usage.prompt_tokens,
        output_tokens=completion.usage.completion_tokens,
        finish_reasons=[completion.finish_reason] if completion.finish_reason else (),
        output_messages=[completion.message()],
    )


def tool_span(
    name: str,
    *,
    call_id: str | None = None,
    arguments: Any = None,
    description: str | None = None,
    tool_type: str = "function",
) -> Any:
    """``execute_tool {name}``: one tool call (arguments recorded while capturing)."""
    attrs: dict[str, Any] = {A.OPERATION: "execute_tool", A.TOOL_NAME: name, A.TOOL_TYPE: tool_type}
    if call_id:
        attrs[A.TOOL_CALL_ID] = call_id
    if description:
        attrs[A.TOOL_DESCRIPTION] = description
    if arguments is not None and (encode := content_encoder()) is not None:
        attrs[A.TOOL_ARGUMENTS] = arguments if isinstance(arguments, str) else encode(arguments)
    return _open(f"execute_tool {name}", attrs)


def record_tool_result(span: Span, result: Any) -> None:
    """Put a tool's result on its ``execute_tool`` span (while capturing)."""
    if span.is_recording() and (encode := content_encoder()) is not None:
        span.set_attribute(A.TOOL_RESULT, result if isinstance(result, str) else encode(result))


def retrieval_span(queries: Sequence[str], *, k: int | None = None) -> Any:
    """``contextos.tool_retrieval``: finding tools for the queries the model wrote."""
    attrs: dict[str, Any] = {A.RETRIEVAL_QUERIES: [str(q) for q in queries]}
    if k is not None:
        attrs[A.RETRIEVAL_K] = k
    return _open(A.RETRIEVAL_SPAN, attrs)


def record_retrieval(
    span: Span, ranked_ids: Sequence[str], scores: Sequence[float] | None = None
) -> None:
    """Put the ranked tool ids (best first) and their scores on a retrieval span."""
    if not span.is_recording():
        return
    span.set_attribute(A.RETRIEVAL_RANKED, [str(i) for i in ranked_ids])
    if scores is not None:
        span.set_attribute(A.RETRIEVAL_SCORES, [float(s) for s in scores])


def compressor_span(
    name: str,
    *,
    tokens_in: int,
    items_in: int,
    target_tokens: int | None = None,
    source: str | None = None,
) -> Any:
    """``contextos.compress``: one compressor's pass over the compressible items (of one source)."""
    attrs: dict[str, Any] = {
        A.COMPRESSOR: name,
        A.COMPRESS_TOKENS_IN: tokens_in,
        A.COMPRESS_ITEMS_IN: items_in,
    }
    if target_tokens is not None:
        attrs[A.COMPRESS_TARGET] = target_tokens
    if source is not None:
        attrs[A.COMPRESS_SOURCE] = source
    return _open(A.COMPRESS_SPAN, attrs)


def record_compression(
    span: Span, *, tokens_out: int, items_out: int, tokens_in: int | None = None
) -> None:
    """Put what a compressor returned on its span (and the ratio, given the tokens it was given)."""
    if span.is_recording():
        attrs: dict[str, Any] = {A.COMPRESS_TOKENS_OUT: tokens_out, A.COMPRESS_ITEMS_OUT: items_out}
        if tokens_in:
            attrs[A.COMPRESS_RATIO] = round(tokens_out / tokens_in, 4)
        span.set_attributes(attrs)


def retry_event(
    attempt: int,
    cause: BaseException | str,
    *,
    delay_s: float | None = None,
    model: str | None = None,
    span: Span | None = None,
) -> None:
    """Record that call ``attempt`` failed with ``cause`` and will be retried (on ``span`` or the current one)."""
    target = span or trace.get_current_span()
    if not target.is_recording():
        return
    text = f"{type(cause).__name__}: {cause}" if isinstance(cause, BaseException) else str(cause)
    attrs: dict[str, Any] = {A.RETRY_ATTEMPT: attempt, A.RETRY_CAUSE: text}
    if delay_s is not None:
        attrs[A.RETRY_DELAY] = float(delay_s)
    if model:
        attrs[A.RETRY_MODEL] = model
    target.add_event(A.RETRY_EVENT, attrs)


def record_attempt(attempt: Attempt, *, span: Span | None = None) -> None:
    """Put a failed model call on the current (``chat``) span as a ``contextos.retry`` event: its cause
    (error class, HTTP status, message) and the wait before the next try. Successful attempts add nothing.

    ``ModelClient`` calls this for every attempt it makes, so retries and fallbacks show in the trace."""
    if attempt.ok:
        return
    status = f" (HTTP {attempt.status_code})" if attempt.status_code else ""
    cause = (
        f"{attempt.outcome}{status}: {attempt.error}"
        if attempt.error
        else f"{attempt.outcome}{status}"
    )
    retry_event(attempt.number, cause, delay_s=attempt.wait_s, model=attempt.model, span=span)
