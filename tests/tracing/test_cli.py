"""``contextos trace list|show|diff|export|replay`` as real subprocesses over a stored agent run."""

from __future__ import annotations

import json

from tests.tracing.conftest import API_KEY, SCRIPT


def _args(store, *args: str) -> tuple[str, ...]:
    return (*args, "--trace-dir", str(store.folder))


def test_list_as_text_and_json(cli, traced_run):
    store, run_id = traced_run
    text = cli(*_args(store, "trace", "list"))
    assert text.returncode == 0, text.stderr
    row = next(line for line in text.stdout.splitlines() if line.startswith(run_id[:12]))
    assert "offline/demo" in row and "invoke_agent weather" in row and " ok " in row
    out = cli(*_args(store, "trace", "list", "--json"))
    runs = {r["run_id"]: r for r in json.loads(out.stdout)}
    run = runs[run_id]
    summary = store.summary(run_id)
    assert run["steps"] == 2 and run["status"] == "ok" and run["models"] == ["offline/demo"]
    assert run["tokens"] == summary.tokens > 0


def test_show_tree_and_json_by_prefix_and_last(cli, traced_run):
    store, run_id = traced_run
    out = cli(*_args(store, "trace", "show", run_id[:8]))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"run {run_id}")
    assert lines[1].startswith("invoke_agent weather")
    assert any(line.startswith("  contextos.step") for line in lines)
    chat_lines = [line for line in lines if line.startswith("    chat offline/demo")]
    assert len(chat_lines) == 2 and all("tokens in=" in line for line in chat_lines)
    assert any(line.startswith("    execute_tool lookup_weather") for line in lines)

    shown = json.loads(cli(*_args(store, "trace", "show", "last", "--json")).stdout)
    assert shown["run"]["run_id"] == run_id  # the only run in this folder
    spans = shown["spans"]
    assert {s["span_id"] for s in spans} == {s.span_id for s in store.spans(run_id)}
    by_id = {s["span_id"]: s for s in spans}
    for s in spans:
        assert set(s) >= {
            "span_id",
            "parent",
            "name",
            "start_time",
            "end_time",
            "duration_ms",
            "attributes",
        }
        assert s["parent"] is None or s["parent"] in by_id
    chat = next(s for s in spans if s["name"] == "chat offline/demo")
    assert chat["attributes"]["gen_ai.operation.name"] == "chat"


def test_show_step_lists_sections_and_content(cli, traced_run):
    store, run_id = traced_run
    out = cli(*_args(store, "trace", "show", run_id, "--step", "1"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("step 1: ")
    for source in ("instructions", "tools", "conversation"):
        assert f"## {source}: kept" in out.stdout
    assert "Weather in Oslo: sunny" in out.stdout and API_KEY not in out.stdout
    step = json.loads(cli(*_args(store, "trace", "show", run_id, "--step", "1", "--json")).stdout)[
        "step"
    ]
    assert step["step"] == 1 and step["per_source"]["conversation"]["kept"] == 3
    missing = cli(*_args(store, "trace", "show", run_id, "--step", "7"))
    assert missing.returncode != 0 and "no assembled step 7" in missing.stderr


def test_diff_shows_what_entered(cli, traced_run):
    store, run_id = traced_run
    out = cli(*_args(store, "trace", "diff", run_id, "--step", "0", "--step", "1", "--json"))
    assert out.returncode == 0, out.stderr
    diff = json.loads(out.stdout)
    assert [d["source"] for d in diff["entered"]] == ["conversation", "conversation"]
    assert diff["left"] == [] and diff["tokens_b"] > diff["tokens_a"]
    text = cli(*_args(store, "trace", "diff", run_id, "--step", "0", "--step", "1")).stdout
    assert "entered (2):" in text and "left (0):" in text
    one = cli(*_args(store, "trace", "diff", run_id, "--step", "0"))
    assert one.returncode != 0 and "exactly two steps" in one.stderr


def test_export_json_otlp_and_html(cli, traced_run, tmp_path):
    store, run_id = traced_run
    data = json.loads(cli(*_args(store, "trace", "export", run_id, "--format", "json")).stdout)
    assert data["run"]["run_id"] == run_id and len(data["spans"]) == len(store.spans(run_id))
    otlp = json.loads(cli(*_args(store, "trace", "export", run_id, "--format", "otlp-json")).stdout)
    spans = otlp["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert {s["traceId"] for s in spans} == {run_id}
    chat = next(s for s in spans if s["name"] == "chat offline/demo")
    attrs = {a["key"]: a["value"] for a in chat["attributes"]}
    assert attrs["gen_ai.operation.name"] == {"stringValue": "chat"}
    assert int(attrs["gen_ai.usage.input_tokens"]["intValue"]) > 0
    page = tmp_path / "run.html"
    out = cli(*_args(store, "trace", "export", run_id, "--format", "html", "--out", str(page)))
    assert out.returncode == 0 and f"wrote {page}" in out.stderr
    html = page.read_text()
    assert (
        html.startswith("<!DOCTYPE html>")
        and SCRIPT not in html
        and "http://" not in html.split("</style>")[1]
    )
    bad = cli(*_args(store, "trace", "export", run_id, "--format", "yaml"))
    assert bad.returncode != 0 and "unknown format" in bad.stderr


def test_replay_prints_the_request(cli, traced_run):
    store, run_id = traced_run
    out = cli(*_args(store, "trace", "replay", run_id, "--step", "1"))
    assert out.returncode == 0, out.stderr
    request = json.loads(out.stdout)
    assert request["model"] == "offline/demo"
    assert [m["role"] for m in request["messages"]] == ["system", "user", "assistant", "tool"]
    assert request["tools"][0]["function"]["name"] == "lookup_weather"


def test_unknown_run_is_a_clear_error(cli, traced_run, tmp_path):
    store, _ = traced_run
    out = cli(*_args(store, "trace", "show", "ffff0000"))
    assert out.returncode != 0 and "no run id starts with 'ffff0000'" in out.stderr
    empty = cli("trace", "list", "--trace-dir", str(tmp_path / "none"))
    assert empty.returncode == 0 and "no runs in" in empty.stdout
