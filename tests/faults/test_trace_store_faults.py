"""The trace store under faults (issue 26, items 6 and 9): damaged files, a full disk, a bad folder,
and a long run's growth. Real files, real spans; the full disk is a real file-size limit
(``RLIMIT_FSIZE``) in a child process, which makes writes fail as ``ENOSPC`` would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contextos.errors import ConfigError
from contextos.tracing import (
    chat_span,
    configure_tracing,
    record_tool_result,
    run_span,
    step_span,
    tool_span,
)
from contextos.tracing.store import TraceStore
from contextos.tracing.view import replay_request

ROOT = Path(__file__).resolve().parents[2]


def _invoke(*args: str):
    from contextos.cli.main import app

    return CliRunner().invoke(app, list(args))


def _conversation_run(
    folder: Path, steps: int, result_chars: int, name: str = "long run"
) -> tuple[str, int]:
    """A traced run of ``steps`` model calls, each sending the whole conversation so far and adding a
    tool result of ``result_chars`` characters; the run id and the characters of content sent once."""
    tracing = configure_tracing(trace_dir=folder)
    messages = [{"role": "user", "content": "summarise the logs, é ü 日本"}]
    tools = [
        {"type": "function", "function": {"name": "read_log", "parameters": {"type": "object"}}}
    ]
    try:
        with run_span(name) as root:
            for step in range(steps):
                with (
                    step_span(step),
                    chat_span("offline/demo", messages=messages, tools=tools, step=step),
                ):
                    pass
                with tool_span("read_log", call_id=f"c{step}", arguments={"part": step}) as span:
                    result = f"part {step}: " + ("log line é\n" * (result_chars // 11))
                    record_tool_result(span, result)
                messages = [
                    *messages,
                    {"role": "assistant", "content": f"reading part {step}"},
                    {"role": "tool", "tool_call_id": f"c{step}", "content": result},
                ]
            run_id = format(root.get_span_context().trace_id, "032x")
    finally:
        tracing.shutdown()
    return run_id, sum(len(json.dumps(m)) for m in messages)


# ---------------------------------------------------------------- growth (item 9)


def test_a_long_run_writes_linear_bytes_not_quadratic(tmp_path):
    steps, chars = 30, 20_000
    run_id, content = _conversation_run(tmp_path, steps, chars)
    size = TraceStore(tmp_path).path(run_id).stat().st_size
    # Every tool result is recorded twice (its execute_tool span, and once as a message); re-recording
    # the conversation at each step would write about steps / 2 = 15 times the content.
    assert size < 3 * content, f"{size} bytes for {content} characters of content"
    # The last step's request reads back whole, in order.
    spans = TraceStore(tmp_path).spans(run_id)
    request = replay_request(spans, steps - 1)
    assert len(request.messages) == 1 + 2 * (steps - 1)
    assert request.messages[0]["content"] == "summarise the logs, é ü 日本"
    assert request.messages[-1]["content"].startswith(f"part {steps - 2}: log line é")
    assert request.tools[0]["function"]["name"] == "read_log"


def test_exports_resolve_the_messages_stored_once(tmp_path):
    run_id, _ = _conversation_run(tmp_path, 4, 200)
    exported = _invoke("trace", "export", run_id, "--trace-dir", str(tmp_path))
    assert exported.exit_code == 0, exported.output
    chats = [s for s in json.loads(exported.output)["spans"] if s["name"] == "chat offline/demo"]
    assert [len(json.loads(c["attributes"]["gen_ai.input.messages"])) for c in chats] == [
        1,
        3,
        5,
        7,
    ]
    otlp = _invoke("trace", "export", run_id, "--format", "otlp-json", "--trace-dir", str(tmp_path))
    assert "$parts" not in otlp.output and "reading part 2" in otlp.output
    html = _invoke("trace", "export", run_id, "--format", "html", "--trace-dir", str(tmp_path))
    assert "$parts" not in html.output and "reading part 2" in html.output
    shown = _invoke("trace", "show", run_id, "--json", "--trace-dir", str(tmp_path))
    assert "$parts" not in shown.output and "reading part 2" in shown.output


# ---------------------------------------------------------------- damaged files (item 6)


def _damaged_store(tmp_path: Path) -> tuple[Path, str, dict[str, str]]:
    """A store with one good run and four damaged ones; the good run's id and each damage's run id."""
    good, _ = _conversation_run(tmp_path, 2, 100, name="good run")
    text = (tmp_path / f"{good}.jsonl").read_bytes()
    lines = text.splitlines(keepends=True)
    ids = {kind: f"{n:032x}" for n, kind in enumerate(("torn", "garbage", "tokens", "folder"), 1)}

    def rewrite(kind: str, data: bytes) -> None:
        (tmp_path / f"{ids[kind]}.jsonl").write_bytes(
            data.replace(good.encode(), ids[kind].encode())
        )

    cut = text.rindex("é".encode()) + 1  # inside the two bytes of é: the file ends mid-character
    rewrite("torn", text + text[:cut])
    rewrite("garbage", lines[0] + b"\x00\xff garbage {{{\n" + b"".join(lines[1:]))
    rewrite(
        "tokens",
        text.replace(b'"gen_ai.usage.input_tokens":', b'"gen_ai.usage.input_tokens":"many","x":')
        if b"input_tokens" in text
        else text + b'{"not": "a span"}\n',
    )
    (tmp_path / f"{ids['folder']}.jsonl").mkdir()
    return tmp_path, good, ids


def test_trace_list_reads_every_readable_run_and_names_the_damaged_ones(tmp_path):
    folder, good, ids = _damaged_store(tmp_path)
    out = _invoke("trace", "list", "--json", "--trace-dir", str(folder))
    assert out.exit_code == 0, out.output
    listed = {r["run_id"] for r in json.loads(out.stdout)}
    assert listed == {good, ids["torn"], ids["garbage"], ids["tokens"]}
    for kind in ("torn", "garbage", "folder"):
        assert f"warning: run {ids[kind][:12]}" in out.stderr, (kind, out.stderr)
    assert "is a folder, not a run file" in out.stderr


@pytest.mark.parametrize("kind", ["torn", "garbage", "tokens"])
def test_trace_show_reads_a_damaged_run(tmp_path, kind):
    folder, _, ids = _damaged_store(tmp_path)
    for args in (
        ("trace", "show", ids[kind]),
        ("trace", "show", ids[kind], "--json"),
        ("trace", "export", ids[kind], "--format", "html"),
        ("trace", "replay", ids[kind], "--step", "1"),
    ):
        out = _invoke(*args, "--trace-dir", str(folder))
        assert out.exit_code == 0, (args, out.output)
    if kind != "tokens":
        assert "skipped 1 unreadable part(s)" in out.stderr


def test_a_trace_dir_that_is_a_file_is_an_error(tmp_path):
    a_file = tmp_path / "traces"
    a_file.write_text("not a folder")
    out = _invoke("trace", "list", "--trace-dir", str(a_file))
    assert out.exit_code == 1 and "is not a folder" in out.stderr
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        configure_tracing(trace_dir=a_file)
    with pytest.raises(ConfigError, match="cannot create"):
        configure_tracing(trace_dir=a_file / "below")


def test_complete_with_an_unwritable_trace_dir_says_so(cli, tmp_path):
    a_file = tmp_path / "traces"
    a_file.write_text("not a folder")
    out = cli("complete", "hello", "--model", "offline/demo", "--trace-dir", str(a_file))
    assert out.returncode != 0 and "trace_dir" in out.stderr and "is a file" in out.stderr, (
        out.stderr
    )


def test_an_unwritable_default_folder_is_a_warning(tmp_path):
    # No folder was named: the default one (under the user data dir) cannot be made.
    (tmp_path / "data").write_text("a file where the data dir should be")
    code = (
        "import warnings\nfrom contextos.tracing import configure_tracing, run_span\n"
        "t = configure_tracing()\nwith run_span('r'):\n    pass\nprint('ran')"
    )
    env = {k: v for k, v in os.environ.items() if k != "CONTEXTOS_TRACE_DIR"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **env,
            "PYTHONPATH": str(ROOT),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "HOME": str(tmp_path),
        },
    )
    assert out.returncode == 0 and "ran" in out.stdout, out.stderr
    assert "TraceStoreWarning" in out.stderr and "runs are not recorded" in out.stderr


# ---------------------------------------------------------------- a full disk (item 6)

FULL_DISK = """
import os, resource, signal, sys
from contextos.tracing import configure_tracing, run_span, tool_span
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing
folder = sys.argv[1]
tracing = configure_tracing(trace_dir=folder)
hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
with run_span("full disk") as root:
    with tool_span("before"):
        pass
    size = os.path.getsize(os.path.join(folder, os.listdir(folder)[0]))
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 40, hard))  # the disk fills 40 bytes on
    for i in range(5):
        with tool_span(f"lost {i}"):
            pass
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # space freed
    with tool_span("after"):
        pass
tracing.shutdown()
print(format(root.get_span_context().trace_id, "032x"))
"""


def test_a_full_disk_warns_once_and_marks_the_run_incomplete(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("TraceStoreWarning") == 1, out.stderr  # once, not per lost span
    assert "cannot write" in out.stderr and "incomplete" in out.stderr
    run_id = out.stdout.strip()
    store = TraceStore(tmp_path)
    names = [s.name for s in store.spans(run_id)]
    assert names == ["full disk", "execute_tool before", "execute_tool after"]
    summary = store.summary(run_id)
    assert summary.status == "incomplete" and summary.lost_spans == 5
    # the write that hit the limit stored its first 40 bytes: that torn line is skipped, the next starts anew
    (torn,) = store.problems[run_id]
    assert "not JSON" in torn
    shown = _invoke("trace", "show", run_id, "--trace-dir", str(tmp_path))
    assert shown.exit_code == 0 and "could not write 5 span(s)" in shown.stderr
    listed = _invoke("trace", "list", "--trace-dir", str(tmp_path))
    assert "incomplete" in listed.stdout
