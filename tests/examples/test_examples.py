"""Every example runs offline, as a user would run it (a real subprocess), and shows what it claims."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_example(name: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("CONTEXTOS_MODEL", "CONTEXTOS_API_BASE")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, str(ROOT / "examples" / f"{name}.py"), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "offline backend" in done.stdout
    return done.stdout


def test_tool_catalog_agent():
    out = run_example("tool_catalog_agent", "--limit", "60")
    assert "60 tools in the catalog (indexed now)" in out
    assert "step 0: " in out and "calls: ['AI_Weather" in out and '"simulated": true' in out


def test_rag_agent():
    out = run_example("rag_agent")
    assert "documents-vllm" in out and "answer: [offline]" in out


def test_chat_agent_with_memory():
    out = run_example("chat_agent_with_memory")
    assert "moved to long-term memory" in out
    assert "recalled for the last question: memory-" in out


def test_handoff_graph():
    out = run_example("handoff_graph")
    assert "path: triage -> billing" in out
    assert "Refund for order A-1001 issued" in out


def test_inspect_trace():
    out = run_example("inspect_trace")
    assert "invoke_agent weather" in out and "execute_tool get_weather" in out
    assert "tools         included  get_weather" in out


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("[!_]*.py")))
def test_every_example_has_a_header_and_a_test(path):
    text = path.read_text()
    assert text.startswith('"""') and "python examples/" in text.split('"""')[1]
    assert f"test_{path.stem}" in Path(__file__).read_text()
