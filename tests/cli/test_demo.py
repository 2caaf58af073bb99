"""``contextos demo`` end to end in a real subprocess: offline, says so, indexes, runs, points at the trace."""

from __future__ import annotations

import json
import re

from contextos.agents.demo import demo_catalog_path, simulated_response
from contextos.tools import Tool


def small_catalog(path):
    """Part of the shipped catalog (the weather APIs), so that indexing stays quick in a test."""
    rows = [json.loads(line) for line in demo_catalog_path().read_text().splitlines()]
    keep = [r for r in rows if r["metadata"]["category"] == "Weather"]
    path.write_text("".join(json.dumps(r) + "\n" for r in keep))
    return len(keep)


def test_demo_runs_offline_end_to_end(cli, tmp_path):
    n = small_catalog(tmp_path / "tools.jsonl")
    args = ["demo", "--catalog", str(tmp_path / "tools.jsonl"), "--db", str(tmp_path / "db"),
            "--trace-dir", str(tmp_path / "traces"), "--request", "What is the weather forecast in Oslo?"]
    env = {"CONTEXTOS_MODEL": "", "CONTEXTOS_API_BASE": ""}
    first = cli(*args, env=env, timeout=600)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "OFFLINE backend" in out
    assert f"catalog: {n} tools" in out
    assert re.search(r"tools: retrieved 8, kept \d+ within the budget", out)
    assert "model called" in out and '"simulated": true' in out
    assert "answer (final_answer, 2 steps): [offline]" in out
    trace = re.search(r"trace: (\S+\.jsonl)", out).group(1)
    run_id = re.search(r"contextos trace show ([0-9a-f]{32})", out).group(1)
    assert trace.endswith(run_id + ".jsonl") and (tmp_path / "traces" / f"{run_id}.jsonl").is_file()
    shown = cli("trace", "show", run_id, "--trace-dir", str(tmp_path / "traces"))
    assert shown.returncode == 0 and "invoke_agent demo" in shown.stdout and "execute_tool" in shown.stdout

    again = cli(*args, env=env, timeout=600)
    assert again.returncode == 0 and "reusing the index" in again.stdout


def test_simulated_response_is_labelled_and_follows_the_template():
    tool = Tool(name="forecast", metadata={"response_template": {"city": "str", "temp": "float", "days": [{"day": "int"}]}})
    body = simulated_response(tool, {"city": "Oslo"})
    assert body["simulated"] is True and "no real API was called" in body["note"]
    assert body["arguments"] == {"city": "Oslo"}
    assert set(body["response"]) == {"city", "temp", "days"} and isinstance(body["response"]["temp"], float)
    assert isinstance(body["response"]["days"][0]["day"], int)


def test_demo_uses_the_configured_model_for_queries_and_steps(cli, tmp_path):
    from contextos.testing import FakeModelServer, Reply

    def responder(request):
        text = request.last_user_text
        if text.startswith("You help an assistant find the tools"):
            return Reply.text('{"queries": ["daily weather forecast for a city"]}')
        if request.messages[-1]["role"] == "tool":
            return Reply.text("Here is the (simulated) forecast.")
        free = [t for t in request.body.get("tools", []) if not t["function"]["parameters"].get("required")]
        return Reply.tool_call((free or request.body["tools"])[0]["function"]["name"], {})

    small_catalog(tmp_path / "tools.jsonl")
    with FakeModelServer(responder=responder) as server:
        done = cli("demo", "--catalog", str(tmp_path / "tools.jsonl"), "--db", str(tmp_path / "db"),
                   "--trace-dir", str(tmp_path / "traces"), "--request", "Will it rain in Oslo tomorrow?",
                   "--model", "hosted_vllm/fake-model", "--api-base", server.api_base, timeout=600)
        asked = server.completion_requests()
    assert done.returncode == 0, done.stderr
    assert "OFFLINE" not in done.stdout and "model: hosted_vllm/fake-model" in done.stdout
    assert "retrieval queries, written by hosted_vllm/fake-model" in done.stdout
    assert "• daily weather forecast for a city" in done.stdout
    assert "answer (final_answer, 2 steps): Here is the (simulated) forecast." in done.stdout
    assert len(asked) == 3  # the query writer once, then two agent steps
