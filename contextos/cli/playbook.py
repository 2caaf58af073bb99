"""``contextos playbook``: apply deltas to a versioned playbook, show, diff, revert, export, import, and learn
it offline from stored runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import typer

from contextos.cli.errors import reported_errors

app = typer.Typer(
    help="Evolving playbooks (ACE): versioned bullets changed by validated deltas.",
    no_args_is_help=True,
)

DB = typer.Option(..., "--db", help="The playbook store folder (LanceDB).")


def _open(db: Path, *, create: bool = False) -> Any:
    from contextos.errors import PlaybookError
    from contextos.playbook import Playbook

    if not create and not db.is_dir():
        raise PlaybookError(
            f"no playbook store at {db}: create one with `contextos playbook apply --db {db} DELTAS.jsonl`"
        )
    return Playbook(db, create=create)


@app.command("apply")
def apply(
    deltas: Path = typer.Argument(
        ...,
        help='JSONL, one operation a line: {"op": "add", "section": S, "content": C}, '
        '{"op": "update"|"delete"|"tag"|"merge", ...}.',
    ),
    db: Path = DB,
) -> None:
    """Apply every operation of DELTAS atomically, as one new version (an invalid line applies nothing)."""
    from contextos._jsonl import jsonl_rows
    from contextos.errors import InvalidDeltaError
    from contextos.playbook.delta import parse_delta

    existed = db.exists()
    try:
        with reported_errors():
            if not deltas.is_file():
                raise InvalidDeltaError(f"delta file {deltas} does not exist")
            rows = jsonl_rows(deltas, InvalidDeltaError)
            labels = [f"{deltas}:{n}" for n, _ in rows]
            # shape checked before the store is touched
            ops = parse_delta([row for _, row in rows], labels)
            if not ops:
                raise InvalidDeltaError(f"{deltas} holds no operations")
            playbook = _open(db, create=True)
            state = playbook.apply(ops, labels=labels)
    except typer.Exit:
        if not existed and db.is_dir() and not any(db.iterdir()):
            shutil.rmtree(db)  # leave no empty store behind a rejected first delta
        raise
    typer.echo(
        f"applied {len(ops)} operations: version {state.version}, {len(state.bullets)} bullets"
    )


@app.command("show")
def show(
    db: Path = DB,
    as_json: bool = typer.Option(
        False, "--json", help='One object: {"version": N, "bullets": [...]}.'
    ),
) -> None:
    """Print the current version (Markdown, or JSON with --json)."""
    with reported_errors():
        playbook = _open(db)
    typer.echo(
        json.dumps(playbook.to_json(), ensure_ascii=False)
        if as_json
        else playbook.to_markdown().rstrip()
    )


@app.command("diff")
def diff(
    db: Path = DB,
    from_version: int = typer.Option(..., "--from", help="The earlier version."),
    to_version: int = typer.Option(..., "--to", help="The later version."),
) -> None:
    """What changed between two versions: + added, - removed, ~ before and > after a change."""
    with reported_errors():
        changes = _open(db).diff(from_version, to_version)
    lines = changes.lines()
    typer.echo(
        "\n".join(lines)
        if lines
        else f"versions {from_version} and {to_version} hold the same bullets"
    )


@app.command("revert")
def revert(
    db: Path = DB, to_version: int = typer.Option(..., "--to", help="The version to restore.")
) -> None:
    """Restore an earlier version, as a new version."""
    with reported_errors():
        state = _open(db).revert(to_version)
    typer.echo(
        f"restored version {to_version} as version {state.version}, {len(state.bullets)} bullets"
    )


@app.command("export")
def export(
    db: Path = DB, format: str = typer.Option("json", "--format", help="json or md.")
) -> None:
    """Print the current version as JSON or Markdown (both can be imported)."""
    from contextos.errors import PlaybookError

    with reported_errors():
        if format not in ("json", "md"):
            raise PlaybookError(f"--format must be json or md, not {format!r}")
        playbook = _open(db)
    typer.echo(
        json.dumps(playbook.to_json(), indent=2, ensure_ascii=False)
        if format == "json"
        else playbook.to_markdown().rstrip()
    )


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="An export, JSON or Markdown."), db: Path = DB
) -> None:
    """Replace the bullets by those of FILE (ids and counters kept), as a new version."""
    from contextos._jsonl import read_text
    from contextos.errors import PlaybookError
    from contextos.playbook import Playbook

    with reported_errors():
        bullets = Playbook.parse_export(
            read_text(file, PlaybookError, what="playbook export"), where=str(file)
        )
        state = _open(db, create=True).import_bullets(bullets)
    typer.echo(f"imported {len(bullets)} bullets: version {state.version}")


@app.command("learn", context_settings={"allow_extra_args": True})
def learn(
    ctx: typer.Context,
    db: Path = DB,
    traces: list[str] = typer.Option(
        ...,
        "--traces",
        help="Run ids (or unique prefixes, or 'last') to learn from: --traces A B C.",
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help="litellm model string for the reflector and curator (default: CONTEXTOS_MODEL).",
    ),
    api_base: str | None = typer.Option(
        None, "--api-base", help="Server URL ending in /v1 (default: CONTEXTOS_API_BASE)."
    ),
    epochs: int = typer.Option(1, "--epochs", help="Passes over the runs."),
    budget: int = typer.Option(2000, "--budget", help="The playbook's token budget."),
    trace_dir: Path | None = typer.Option(
        None,
        "--trace-dir",
        help="The trace store (default: $CONTEXTOS_TRACE_DIR or the user data dir).",
    ),
) -> None:
    """Learn the playbook offline from stored runs: reflect, tag, curate; every delta is a version and a span."""
    from contextos.llm import ModelClient
    from contextos.playbook import PlaybookLearner
    from contextos.tracing import TracingConfig, configure_tracing
    from contextos.tracing.store import TraceStore

    run_ids = [*traces, *ctx.args]
    with reported_errors():
        client = ModelClient.from_config(model, api_base=api_base)
        playbook = _open(db, create=True)
        start = playbook.version
        tracing = configure_tracing(
            TracingConfig.from_env(**({"trace_dir": trace_dir} if trace_dir else {}))
        )
        try:
            outcomes = PlaybookLearner(playbook, client, token_budget=budget).learn_offline(
                run_ids, store=TraceStore(trace_dir), epochs=epochs
            )
        finally:
            tracing.shutdown()
    for o in outcomes:
        made = ", ".join(str(v) for v in o.versions) or "none"
        typer.echo(f"epoch {o.epoch} run {o.run_id[:12]}: {o.feedback.outcome}; versions {made}")
        for line in o.rejected:
            typer.echo(f"  {line}", err=True)
    typer.echo(f"playbook version {start} -> {playbook.version}, {len(playbook.bullets)} bullets")
