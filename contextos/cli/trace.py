"""``contextos trace``: list, show, diff, export and replay runs from the local trace store."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import typer

from contextos.cli.errors import reported_errors

app = typer.Typer(
    help="Inspect recorded runs: list, show, diff, export, replay.", no_args_is_help=True
)

TRACE_DIR = typer.Option(
    None,
    "--trace-dir",
    help="The trace store folder (default: $CONTEXTOS_TRACE_DIR or the user data dir).",
)
RUN = typer.Argument(..., help="A run id, a unique prefix of one, or 'last'.")


def _store(trace_dir: Path | None) -> Any:
    from contextos.tracing.store import TraceStore

    return TraceStore(trace_dir)


def _warn_damage(store: Any, run_id: str | None = None) -> None:
    """Say on stderr what reading skipped (torn or damaged lines, unreadable run files), per run."""
    for rid, problems in sorted(store.problems.items()):
        if run_id is None or rid == run_id:
            shown = "; ".join(problems[:3]) + (
                f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
            )
            typer.echo(
                f"warning: run {rid[:12]}: skipped {len(problems)} unreadable part(s) of {store.path(rid)}: {shown}",
                err=True,
            )


def _warn_lost(summary: Any) -> None:
    if summary.lost_spans:
        typer.echo(
            f"warning: run {summary.run_id[:12]}: the store could not write {summary.lost_spans} span(s) "
            "(a full disk?); the run is incomplete",
            err=True,
        )


def _span_json(s: Any) -> dict[str, Any]:
    return {
        "span_id": s.span_id,
        "parent": s.parent_span_id,
        "name": s.name,
        "kind": s.kind,
        "start_time": s.start_time,
        "end_time": s.end_time,
        "duration_ms": round(s.duration_ms, 3),
        "status": s.status,
        "attributes": s.attributes,
        "events": [e.model_dump() for e in s.events],
    }


def _summary_json(r: Any) -> dict[str, Any]:
    return {**r.model_dump(mode="json"), "tokens": r.tokens}


def _ms(ms: float) -> str:
    return f"{ms:.1f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


@app.command("list")
def list_runs(
    as_json: bool = typer.Option(False, "--json", help="Print the runs as JSON."),
    limit: int = typer.Option(50, "--limit", help="Show at most this many runs, newest first."),
    trace_dir: Path | None = TRACE_DIR,
) -> None:
    """List recorded runs: time, duration, steps, tokens, model, status."""
    with reported_errors():
        store = _store(trace_dir)
        runs = store.runs()[:limit]
    _warn_damage(store)
    if as_json:
        typer.echo(json.dumps([_summary_json(r) for r in runs], indent=2, ensure_ascii=False))
        return
    if not runs:
        typer.echo(f"no runs in {store.folder}")
        return
    typer.echo(
        f"{'RUN':<12}  {'STARTED (UTC)':<19}  {'DURATION':>9}  {'STEPS':>5}  {'TOKENS':>7}  {'STATUS':<10}  MODEL  NAME"
    )
    for r in runs:
        typer.echo(
            f"{r.run_id[:12]:<12}  {r.start_time:%Y-%m-%d %H:%M:%S}  {_ms(r.duration_s * 1000):>9}  {r.steps:>5}  "
            f"{r.tokens:>7}  {r.status:<10}  {','.join(r.models) or '-'}  {r.name}"
        )


@app.command("show")
def show(
    run: str = RUN,
    step: int | None = typer.Option(
        None, "--step", help="Show this step's context, section by section."
    ),
    full: bool = typer.Option(
        False, "--full", help="Print item contents in full (default: first 300 characters)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    trace_dir: Path | None = TRACE_DIR,
) -> None:
    """Show a run's span tree (durations, tokens), or with --step one step's context and what was dropped."""
    from contextos.tracing.view import span_tree, step_context

    with reported_errors():
        store = _store(trace_dir)
        run_id = store.resolve(run)
        # the tree shows no content
        spans = store.spans(run_id, content=as_json or step is not None)
        summary = store.summary(run_id)
        context = step_context(spans, step) if step is not None else None
    _warn_damage(store, run_id)
    _warn_lost(summary)
    if as_json:
        out: dict[str, Any] = {"run": _summary_json(summary)}
        if context is not None:
            out["step"] = context.model_dump()
        else:
            out["spans"] = [_span_json(s) for s in spans]
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    if context is None:
        typer.echo(
            f"run {run_id}  {summary.name}  {summary.status}  {summary.tokens} tokens  {', '.join(summary.models) or '-'}"
        )
        for depth, s in span_tree(spans):
            a = s.attributes
            tokens = ""
            if "gen_ai.usage.input_tokens" in a or "gen_ai.usage.output_tokens" in a:
                tokens = f"  tokens in={a.get('gen_ai.usage.input_tokens', 0)} out={a.get('gen_ai.usage.output_tokens', 0)}"
            elif "contextos.context.request_tokens" in a:
                tokens = f"  context={a['contextos.context.request_tokens']}/{a.get('contextos.context.budget')} tokens"
            marks = "".join(
                f"  [retry {e.attributes.get('contextos.retry.attempt')}: {e.attributes.get('contextos.retry.cause')}]"
                if e.name == "contextos.retry"
                else f"  [{e.name}]"
                for e in s.events
            )
            error = f"  ERROR {s.status_description or ''}".rstrip() if s.status == "ERROR" else ""
            typer.echo(f"{'  ' * depth}{s.name}  {_ms(s.duration_ms)}{tokens}{marks}{error}")
        return
    typer.echo(f"step {context.step}: {context.request_tokens} of {context.budget} tokens")
    contents = {i["id"]: i.get("content", "") for i in (context.items or [])}
    for source, decisions in context.sections():
        u = context.per_source.get(source, {})
        typer.echo(
            f"\n## {source}: kept {u.get('kept', 0)}/{u.get('offered', 0)} items, "
            f"{u.get('kept_tokens', 0)}/{u.get('offered_tokens', 0)} tokens"
        )
        for d in decisions:
            typer.echo(
                f"  {d['status']:<10} {d['id']}  {d['tokens_before']}→{d['tokens_after']} tokens  ({d['reason']})"
            )
            text = contents.get(d["id"])
            if text:
                shown = text if full or len(text) <= 300 else text[:300] + "…"
                typer.echo("\n".join("      " + line for line in shown.splitlines()))
    if context.items is None:
        typer.echo("\n(content was not captured for this run)")


@app.command("diff")
def diff(
    run: str = RUN,
    step: list[int] = typer.Option(..., "--step", help="Two steps: --step A --step B."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    trace_dir: Path | None = TRACE_DIR,
) -> None:
    """What entered and left the context between two steps of a run."""
    from contextos.errors import TraceError
    from contextos.tracing.view import context_diff

    with reported_errors():
        if len(step) != 2:
            raise TraceError(f"give exactly two steps (--step A --step B), got {len(step)}")
        store = _store(trace_dir)
        result = context_diff(store.spans(store.resolve(run)), step[0], step[1])
    _warn_damage(store)
    if as_json:
        typer.echo(json.dumps(result.model_dump(), indent=2, ensure_ascii=False))
        return
    typer.echo(
        f"step {result.step_a} → {result.step_b}: {result.tokens_a} → {result.tokens_b} tokens"
    )
    typer.echo(f"entered ({len(result.entered)}):")
    for d in result.entered:
        typer.echo(f"  + {d['id']}  [{d['source']}]  {d['tokens_after']} tokens  {d['status']}")
    typer.echo(f"left ({len(result.left)}):")
    for d in result.left:
        typer.echo(f"  - {d['id']}  [{d['source']}]  {d['tokens_after']} tokens  {d['why']}")
    if result.changed:
        typer.echo(f"changed ({len(result.changed)}):")
        for d in result.changed:
            typer.echo(
                f"  ~ {d['id']}  [{d['source']}]  {d['tokens_a']} → {d['tokens_b']} tokens  {d['status_b']}"
            )


@app.command("export")
def export(
    run: str = RUN,
    fmt: str = typer.Option("json", "--format", help="json, otlp-json or html."),
    out: Path | None = typer.Option(
        None, "--out", help="Write to this file (default: standard output)."
    ),
    trace_dir: Path | None = TRACE_DIR,
) -> None:
    """Export a run as JSON, OTLP/JSON or a self-contained HTML page."""
    from contextos.errors import TraceError

    with reported_errors():
        if fmt not in ("json", "otlp-json", "html"):
            raise TraceError(f"unknown format {fmt!r}; use json, otlp-json or html")
        store = _store(trace_dir)
        run_id = store.resolve(run)
        spans = store.spans(run_id)
        if fmt == "json":
            text = json.dumps(
                {
                    "run": _summary_json(store.summary(run_id)),
                    "spans": [_span_json(s) for s in spans],
                },
                indent=2,
                ensure_ascii=False,
            )
        elif fmt == "otlp-json":
            from contextos.tracing.otlp_json import otlp_json

            text = json.dumps(otlp_json(spans), ensure_ascii=False)
        else:
            from contextos.tracing.html import html_report

            text = html_report(store.summary(run_id), spans)
        _warn_damage(store, run_id)
        if out is None:
            typer.echo(text)
            return
        _write_atomic(out, text)
    typer.echo(f"wrote {out}", err=True)


@app.command("replay")
def replay(
    run: str = RUN,
    step: int = typer.Option(..., "--step", help="The step whose model request to rebuild."),
    call: int = typer.Option(0, "--call", help="Which model call of the step (0: the first)."),
    trace_dir: Path | None = TRACE_DIR,
) -> None:
    """Print the exact request a step sent (model, messages, tools, params) as JSON, to resend it."""
    from contextos.tracing.view import replay_request

    with reported_errors():
        store = _store(trace_dir)
        request = replay_request(store.spans(store.resolve(run)), step, call=call)
    _warn_damage(store)
    typer.echo(json.dumps(request.kwargs(), indent=2, ensure_ascii=False))


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all."""
    from contextos.errors import TraceError

    path = path.expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise TraceError(f"cannot write {path}: {exc}") from exc
