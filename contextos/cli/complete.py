"""``contextos complete``: one completion through ``ModelClient``, the quickest check that a model server answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from contextos.cli.errors import reported_errors

if TYPE_CHECKING:
    from contextos.llm import Completion, ModelClient


def complete(
    prompt: str = typer.Argument(..., help="The user message to send."),
    model: str | None = typer.Option(
        None, "--model", help="litellm model string (default: CONTEXTOS_MODEL or the config file)."
    ),
    api_base: str | None = typer.Option(
        None, "--api-base", help="Server URL ending in /v1 (default: CONTEXTOS_API_BASE)."
    ),
    api_key: str | None = typer.Option(
        None, "--api-key", help="API key (default: CONTEXTOS_API_KEY)."
    ),
    timeout: float | None = typer.Option(
        None, "--timeout", help="Seconds per call (default: CONTEXTOS_TIMEOUT or 60)."
    ),
    max_tokens: int | None = typer.Option(None, "--max-tokens", help="Most tokens to generate."),
    system: str | None = typer.Option(None, "--system", help="A system message to send first."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole Completion as JSON."),
    trace_dir: Path | None = typer.Option(
        None,
        "--trace-dir",
        help="The trace store folder (default: $CONTEXTOS_TRACE_DIR or the user data dir; CONTEXTOS_TRACE=0 records nothing).",
    ),
) -> None:
    """Send PROMPT to the configured model and print its answer (non-zero exit with the reason on failure).

    The call is recorded as a run in the trace store (`contextos trace show last`)."""
    from contextos.llm import ModelClient

    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]
    with reported_errors():
        client = ModelClient.from_config(model, api_base=api_base, api_key=api_key, timeout=timeout)
        completion = _traced_complete(client, messages, max_tokens, trace_dir)
    if as_json:
        typer.echo(json.dumps(completion.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    if completion.content:
        typer.echo(completion.content)
    for call in completion.tool_calls:
        typer.echo(f"tool call: {call.name}({call.raw_arguments})")
    note = " offline backend, no model" if completion.offline else ""
    typer.echo(
        f"[{completion.model}{note}: {completion.usage.prompt_tokens} prompt + {completion.usage.completion_tokens} "
        f"completion tokens ({completion.usage.cached_tokens} cached), {completion.latency_s:.2f} s, "
        f"{len(completion.attempts)} attempt(s)]",
        err=True,
    )


def _traced_complete(
    client: ModelClient,
    messages: list[dict[str, Any]],
    max_tokens: int | None,
    trace_dir: Path | None,
) -> Completion:
    """``client.complete`` inside a ``contextos complete`` run span and a ``chat`` span (retries are its events)."""
    from contextos.tracing import TracingConfig, chat_span, configure_tracing, run_span
    from contextos.tracing.conventions import record_completion

    tracing = configure_tracing(
        TracingConfig.from_env(**({"trace_dir": trace_dir} if trace_dir else {}))
    )
    params = {"max_tokens": max_tokens} if max_tokens is not None else {}
    try:
        with (
            run_span("contextos complete"),
            chat_span(client.model, messages=messages, params=params) as span,
        ):
            completion = client.complete(messages, max_tokens=max_tokens)
            record_completion(span, completion)
    finally:
        tracing.shutdown()
    return completion
