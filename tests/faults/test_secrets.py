"""Secrets never leave the process (issue 26, item 2): not in the run file, the JSON / OTLP-JSON / HTML
exports, ``trace show``, ``trace replay``, an OTLP exporter without content, or CLI stderr.

The table of shapes in docs/tracing.md is read here and every row checked, so the docs say what the
redactor does."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from typer.testing import CliRunner

from contextos.agents import Agent
from contextos.errors import ContextOSError, ModelConnectionError
from contextos.llm import ModelClient
from contextos.tracing import configure_tracing
from contextos.tracing.redact import REDACTED, Redactor

ROOT = Path(__file__).resolve().parents[2]


def _docs_rows() -> list[tuple[str, str, str]]:
    text = (ROOT / "docs" / "tracing.md").read_text(encoding="utf-8")
    table = text.split("| shape | example | becomes |", 1)[1].split("\n\n", 1)[0]
    rows = []
    for line in table.splitlines()[2:]:
        shape, example, becomes = (cell.strip() for cell in line.strip().strip("|").split(" | "))
        rows.append(
            (
                shape,
                example.strip("`").replace("\\n", "\n"),
                becomes.strip("`").replace("\\n", "\n"),
            )
        )
    return rows


ROWS = _docs_rows()


def test_the_docs_table_lists_every_shape_the_issue_names():
    shapes = {shape for shape, _, _ in ROWS}
    assert {
        "URL with a password",
        "database URL",
        "api_base with a password",
        "AWS secret access key",
        "PEM private key",
        "Set-Cookie header",
        "token in a query string",
    } <= shapes
    assert len(ROWS) >= 15


@pytest.mark.parametrize(("shape", "example", "becomes"), ROWS, ids=[r[0] for r in ROWS])
def test_each_shape_in_the_docs_table(shape, example, becomes):
    r = Redactor()
    assert r.text(example) == becomes
    # the same inside JSON text (a tool result, a message, where a line break is written \n) stays
    # JSON and loses the secret
    wrapped = r.text(json.dumps({"content": f"before\n{example}"}))
    assert json.loads(wrapped)["content"] == f"before\n{becomes}"


# Every shape at once, as a tool might return it (an HTTP response dump, a config file).
PASSWORD = "hunter2pw"
SECRETS = {
    "url": ("https://ada:s3cretURLpw@example.com/x", "s3cretURLpw"),
    "database": ("postgres://app:DBpw9931@db/x", "DBpw9931"),
    "aws": (
        "aws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
    ),
    "pem": (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowPLANTEDpemBODY\n-----END RSA PRIVATE KEY-----",
        "MIIEowPLANTEDpemBODY",
    ),
    "cookie": ("Set-Cookie: sid=PLANTEDcookie77; Path=/", "PLANTEDcookie77"),
    "query": ("https://h/cb?token=PLANTEDquery55&x=1", "PLANTEDquery55"),
}


def dump_config(name: str) -> str:
    """Dump a service's configuration.

    Args:
        name: The service.
    """
    return f"config of {name}:\n" + "\n".join(text for text, _ in SECRETS.values())


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Collected(SpanExporter):
    """What an OTLP collector would receive (spans without content)."""

    def __init__(self) -> None:
        self.spans: list = []

    def export(self, spans):
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def _planted() -> list[str]:
    return [secret for _, secret in SECRETS.values()] + [PASSWORD]


def _assert_clean(where: str, text: str) -> None:
    leaked = [s for s in _planted() if s in text]
    assert not leaked, f"{leaked} leaked into {where}"


@pytest.fixture(scope="module")
def leaky_runs(tmp_path_factory):
    """Two traced runs: the offline agent reading a tool result full of secrets (the task names them
    too), and an agent whose model's api_base carries a password and cannot be reached (retried)."""
    folder = tmp_path_factory.mktemp("traces")
    collected = _Collected()
    tracing = configure_tracing(trace_dir=folder)
    tracing.add_exporter(collected, capture_content=False)
    try:
        ok = Agent(ModelClient("offline/demo"), name="leaky", tools=[dump_config]).run(
            "dump the config of billing " + SECRETS["url"][0]
        )
        base = f"http://app:{PASSWORD}@127.0.0.1:{_closed_port()}/v1"
        client = ModelClient("hosted_vllm/qwen", api_base=base, max_retries=1, timeout=5)
        with pytest.raises(ContextOSError) as failed:
            Agent(client, name="unreachable").run("hello")
    finally:
        tracing.shutdown()
    assert ok.stop_reason == "final_answer"
    return folder, ok.run_id, collected, failed.value


def test_the_run_files_hold_no_secret(leaky_runs):
    folder, *_ = leaky_runs
    raw = b"".join(p.read_bytes() for p in folder.iterdir() if p.suffix == ".jsonl").decode()
    _assert_clean("the trace store", raw)
    assert "config of billing" in raw and REDACTED in raw  # content is kept, secrets replaced
    # the failing call's retry events and status name the server
    assert f"app:{REDACTED}@127.0.0.1" in raw


def test_a_model_error_names_the_server_without_its_password(leaky_runs):
    error = leaky_runs[3]
    assert f"app:{REDACTED}@" in str(error)
    _assert_clean("the error message", str(error))
    assert isinstance(error, ModelConnectionError) or PASSWORD not in repr(error)


def test_an_exporter_without_content_gets_no_secret(leaky_runs):
    collected = leaky_runs[2]
    texts = []
    for s in collected.spans:
        texts += [s.name, str(s.status.description), json.dumps(dict(s.attributes), default=str)]
        texts += [json.dumps(dict(e.attributes), default=str) for e in s.events]
    joined = "\n".join(texts)
    _assert_clean("the OTLP exporter", joined)
    assert "contextos.retry" in {e.name for s in collected.spans for e in s.events}


@pytest.mark.parametrize(
    "args",
    [
        ("trace", "show", "{run}"),
        ("trace", "show", "{run}", "--json"),
        ("trace", "show", "{run}", "--step", "0", "--full"),
        ("trace", "export", "{run}"),
        ("trace", "export", "{run}", "--format", "otlp-json"),
        ("trace", "export", "{run}", "--format", "html"),
        ("trace", "replay", "{run}", "--step", "1"),
        ("trace", "list", "--json"),
        ("trace", "show", "{failed}"),
    ],
)
def test_trace_commands_print_no_secret(leaky_runs, args):
    from contextos.cli.main import app
    from contextos.tracing.store import TraceStore

    folder, run_id, _, _ = leaky_runs
    failed = next(r.run_id for r in TraceStore(folder).runs() if r.run_id != run_id)
    args = [a.format(run=run_id, failed=failed) for a in args]
    result = CliRunner().invoke(app, [*args, "--trace-dir", str(folder)])
    assert result.exit_code == 0, result.output
    _assert_clean(" ".join(args), result.output)


def test_cli_stderr_names_the_server_without_its_password(cli, tmp_path):
    base = f"http://app:{PASSWORD}@127.0.0.1:{_closed_port()}/v1"
    out = cli(
        "complete",
        "hello",
        "--model",
        "hosted_vllm/qwen",
        "--api-base",
        base,
        "--timeout",
        "5",
        "--trace-dir",
        str(tmp_path),
        env={"CONTEXTOS_MAX_RETRIES": "0"},
    )
    assert out.returncode != 0
    assert re.search(r"app:\[REDACTED\]@127\.0\.0\.1", out.stderr), out.stderr
    _assert_clean("stderr", out.stderr + out.stdout)
    _assert_clean("the run file", "".join(p.read_text() for p in tmp_path.glob("*.jsonl")))


def test_attempts_and_reprs_do_not_carry_the_password():
    # attempts are printed by `contextos complete --json` and handed to on_attempt hooks that log them
    from contextos.llm.types import Attempt

    base = f"http://app:{PASSWORD}@127.0.0.1:9/v1"
    attempt = Attempt(
        model="m",
        api_base=base,
        number=1,
        outcome="ModelConnectionError",
        error=f"m at {base}: could not connect",
        latency_s=0.1,
    )
    client = ModelClient("hosted_vllm/qwen", api_base=base, api_key="sk-PLANTEDapikey123456")
    for text in (attempt.model_dump_json(), repr(attempt), repr(client), repr(client.endpoints[0])):
        _assert_clean("an attempt or a repr", text)
        assert "sk-PLANTEDapikey123456" not in text
    assert attempt.api_base == f"http://app:{REDACTED}@127.0.0.1:9/v1"
