"""``contextos demo`` end to end in a real subprocess: offline, says so, indexes, runs, points at the trace."""

from __future__ import annotations

import json
import re

import pytest

from contextos.agents._demo import demo_catalog_path, open_demo_catalog, simulated_response
from contextos.errors import InvalidToolError
from contextos.tools import Tool


def small_catalog(path, category="Weather"):
    """Part of the shipped catalog (one category's APIs), so that indexing stays quick in a test."""
    rows = [json.loads(line) for line in demo_catalog_path().read_text().splitlines()]
    keep = [r for r in rows if r["metadata"]["category"] == category]
    path.write_text("".join(json.dumps(r) + "\n" for r in keep))
    return len(keep)


def test_demo_runs_offline_end_to_end(cli, tmp_path):
    n = small_catalog(tmp_path / "tools.jsonl")
    args = [
        "demo",
        "--catalog",
        str(tmp_path / "tools.jsonl"),
        "--db",
        str(tmp_path / "db"),
        "--trace-dir",
        str(tmp_path / "traces"),
        "--request",
        "What is the weather forecast in Oslo?",
    ]
    env = {"CONTEXTOS_MODEL": "", "CONTEXTOS_API_BASE": ""}
    first = cli(*args, env=env, timeout=600)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "OFFLINE backend" in out
    # Not a terminal: progress comes as plain lines, with a count and a rate.
    assert re.search(
        rf"indexing the demo catalog: {n}/{n} tools \(\d[\d,]* tools/s in \d+ s\)", out
    )
    assert "indexing the demo catalog: then the tool families" in out
    assert f"catalog: {n} tools" in out
    assert re.search(r"tools: offered 8 \(8 new at this step\), kept \d+ within the budget", out)
    # Step 1 asks again; the offline backend falls back to the request text, so the hits are reused.
    assert "same queries as step 0: 8 tools reused (no new search)" in out
    assert re.search(r"step 1\n.*\n  tools: offered 8 \(0 new at this step\)", out)
    assert "model called" in out and '"simulated": true' in out
    assert "answer (final_answer, 2 steps): [offline]" in out
    trace = re.search(r"trace: (\S+\.jsonl)", out).group(1)
    run_id = re.search(r"contextos trace show ([0-9a-f]{32})", out).group(1)
    assert trace.endswith(run_id + ".jsonl") and (tmp_path / "traces" / f"{run_id}.jsonl").is_file()
    shown = cli("trace", "show", run_id, "--trace-dir", str(tmp_path / "traces"))
    assert (
        shown.returncode == 0
        and "invoke_agent demo" in shown.stdout
        and "execute_tool" in shown.stdout
    )

    again = cli(*args, env=env, timeout=600)
    assert again.returncode == 0 and "reusing the index" in again.stdout


def test_simulated_response_is_labelled_and_follows_the_template():
    tool = Tool(
        name="forecast",
        metadata={"response_template": {"city": "str", "temp": "float", "days": [{"day": "int"}]}},
    )
    body = simulated_response(tool, {"city": "Oslo"})
    assert body["simulated"] is True and "no real API was called" in body["note"]
    assert body["arguments"] == {"city": "Oslo"}
    assert set(body["response"]) == {"city", "temp", "days"} and isinstance(
        body["response"]["temp"], float
    )
    assert isinstance(body["response"]["days"][0]["day"], int)


def test_demo_uses_the_configured_model_for_queries_and_steps(cli, tmp_path):
    """The model from $CONTEXTOS_MODEL, the server from --api-base."""
    from contextos.testing import FakeModelServer, Reply

    def responder(request):
        text = request.last_user_text
        if text.startswith("You help an assistant find the tools"):
            return Reply.text('{"queries": ["daily weather forecast for a city"]}')
        if request.messages[-1]["role"] == "tool":
            return Reply.text("Here is the (simulated) forecast.")
        free = [
            t
            for t in request.body.get("tools", [])
            if not t["function"]["parameters"].get("required")
        ]
        return Reply.tool_call((free or request.body["tools"])[0]["function"]["name"], {})

    small_catalog(tmp_path / "tools.jsonl")
    with FakeModelServer(responder=responder) as server:
        done = cli(
            "demo",
            "--catalog",
            str(tmp_path / "tools.jsonl"),
            "--db",
            str(tmp_path / "db"),
            "--trace-dir",
            str(tmp_path / "traces"),
            "--request",
            "Will it rain in Oslo tomorrow?",
            "--api-base",
            server.api_base,
            env={"CONTEXTOS_MODEL": "hosted_vllm/fake-model"},
            timeout=600,
        )
        asked = server.completion_requests()
    assert done.returncode == 0, done.stderr
    assert "OFFLINE" not in done.stdout and "model: hosted_vllm/fake-model" in done.stdout
    assert "retrieval queries, written by hosted_vllm/fake-model" in done.stdout
    assert "• daily weather forecast for a city" in done.stdout
    assert "answer (final_answer, 2 steps): Here is the (simulated) forecast." in done.stdout
    assert "same queries as step 0:" in done.stdout  # the writer repeated its queries at step 1
    assert len(asked) == 4  # the query writer at each of the two agent steps, and the steps


def test_a_bad_catalog_file_is_reported_before_the_index_is_touched(cli, tmp_path):
    db = tmp_path / "db"
    with pytest.raises(InvalidToolError, match="no tool catalog file at"):
        open_demo_catalog(db, source=tmp_path / "missing.jsonl")
    (tmp_path / "broken.jsonl").write_text('{"name": "half a row"\n')
    with pytest.raises(InvalidToolError, match="broken.jsonl"):
        open_demo_catalog(db, source=tmp_path / "broken.jsonl")
    assert not db.exists()
    done = cli(
        "demo",
        "--catalog",
        str(tmp_path / "missing.jsonl"),
        "--db",
        str(db),
        env={"CONTEXTOS_MODEL": ""},
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "error: no tool catalog file at" in done.stderr and not db.exists()


def test_indexing_another_catalog_in_the_same_folder_replaces_the_first(tmp_path):
    crypto = small_catalog(tmp_path / "crypto.jsonl", category="Cryptography")
    first, built = open_demo_catalog(tmp_path / "db", source=tmp_path / "crypto.jsonl")
    assert built and len(first) == crypto
    # reused
    assert open_demo_catalog(tmp_path / "db", source=tmp_path / "crypto.jsonl")[1] is False
    n = small_catalog(tmp_path / "translation.jsonl", category="Translation")
    second, built = open_demo_catalog(tmp_path / "db", source=tmp_path / "translation.jsonl")
    assert built and len(second) == n
    stored = {row["id"] for row in second.table.scan(columns=["id"])}
    assert stored == {
        json.loads(line)["id"] for line in (tmp_path / "translation.jsonl").read_text().splitlines()
    }
    assert all(
        h.tool.metadata["category"] == "Translation"
        for h in second.search("encrypt a password", k=5)
    )
