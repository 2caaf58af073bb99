"""Every example runs offline, as a user would run it (a real subprocess), and shows what it claims."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_example(name: str, *args: str, model_env: dict[str, str] | None = None) -> str:
    env = {
        k: v for k, v in os.environ.items() if k not in ("CONTEXTOS_MODEL", "CONTEXTOS_API_BASE")
    }
    env["PYTHONPATH"] = str(ROOT)
    env.update(model_env or {})
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / f"{name}.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert ("offline backend" in done.stdout) is (model_env is None)
    return done.stdout


def test_tool_catalog_agent():
    out = run_example("tool_catalog_agent", "--limit", "60")
    assert "60 tools in the catalog (indexed now)" in out
    # The offline backend calls the first offered tool its words match: tools are offered in
    # retrieval order, so that is a weather tool retrieved for the weather request.
    called = re.search(r"step 0: \d+ tools offered; calls: \['(\w+)'\]", out)
    assert (
        called
        and re.search("weather|forecast", called.group(1), re.I)
        and '"simulated": true' in out
    )


def test_rag_agent():
    out = run_example("rag_agent")
    assert "documents-vllm" in out and "answer: [offline]" in out
    # the budget at work
    assert "dropped  documents-" in out and "section cap of documents (120 tokens) reached" in out


def test_chat_agent_with_memory():
    out = run_example("chat_agent_with_memory")
    assert "moved to long-term memory" in out
    # what was recalled, not just its id; on failure the example's own lines say why
    assert re.search(r"recalled for the last question: memory-\S+: [\"'].+[\"']", out), out[-1500:]


def test_handoff_graph():
    out = run_example("handoff_graph")
    assert "path: triage -> billing" in out
    assert "Refund for order A-1001 issued" in out


def test_handoff_graph_on_a_configured_model_server():
    from contextos.testing import FakeModelServer, Reply

    def responder(request):
        names = [t["function"]["name"] for t in request.body.get("tools") or []]
        if request.messages[-1]["role"] == "tool":
            return Reply.text("Your refund is on its way.")
        if "transfer_to_billing" in names:
            return Reply.tool_call("transfer_to_billing", {})
        return Reply.tool_call("issue_refund", {"order_id": "A-1001"})

    with FakeModelServer(responder=responder) as server:
        out = run_example(
            "handoff_graph",
            model_env={
                "CONTEXTOS_MODEL": "hosted_vllm/fake-model",
                "CONTEXTOS_API_BASE": server.api_base,
            },
        )
        assert len(server.completion_requests()) == 3
    assert "model: hosted_vllm/fake-model" in out and "path: triage -> billing" in out
    assert "answer: Your refund is on its way." in out


@pytest.mark.parametrize(
    "name, args, shows",
    [
        (
            "tool_catalog_agent",
            ["--limit", "60"],
            "answer (final_answer): The configured model answers.",
        ),
        ("rag_agent", [], "answer: The configured model answers."),
        ("chat_agent_with_memory", [], "assistant: The configured model answers."),
        ("inspect_trace", [], "chat hosted_vllm/fake-model"),
    ],
)
def test_the_other_examples_on_a_configured_model_server(name, args, shows):
    from contextos.testing import FakeModelServer, Reply

    def responder(request):
        if request.last_user_text.startswith("You help an assistant find the tools"):
            return Reply.text('{"queries": ["weather forecast for a city"]}')
        return Reply.text("The configured model answers.")

    with FakeModelServer(responder=responder) as server:
        out = run_example(
            name,
            *args,
            model_env={
                "CONTEXTOS_MODEL": "hosted_vllm/fake-model",
                "CONTEXTOS_API_BASE": server.api_base,
            },
        )
        assert server.completion_requests()
    assert "model: hosted_vllm/fake-model" in out and shows in out


def test_inspect_trace():
    out = run_example("inspect_trace")
    assert "invoke_agent weather" in out and "execute_tool get_weather" in out
    assert "tools         included  get_weather" in out


def test_demonstrations_agent():
    out = run_example("demonstrations_agent", "I was billed twice this month")
    selected = ast.literal_eval(re.search(r"label these first \(vote-k\): (\[.*\])", out).group(1))
    shown = ast.literal_eval(re.search(r"examples shown \(closest last\): (\[.*\])", out).group(1))
    assert len(selected) == len(set(selected)) == 5
    assert len(shown) == 2 and set(shown) <= set(selected)
    assert "answer: [offline]" in out


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("[!_]*.py")))
def test_every_example_has_a_header_and_a_test(path):
    text = path.read_text()
    assert text.startswith('"""') and "python examples/" in text.split('"""')[1]
    assert f"test_{path.stem}" in Path(__file__).read_text()
