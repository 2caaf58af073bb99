"""The guides run as written: each one's Python blocks, in order, as one script (offline)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import ROOT


def run_blocks(tmp_path, name: str, blocks: int, epilogue: str = "") -> str:
    """The stdout of docs/``name``'s ``blocks`` Python blocks (and ``epilogue``) run as one script."""
    found = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / name).read_text(), flags=re.S)
    assert len(found) == blocks
    script = tmp_path / "guide.py"
    script.write_text("\n".join(found) + epilogue)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTEXTOS_MODEL")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def run_guide(tmp_path, name: str, blocks: int) -> str:
    out = run_blocks(tmp_path, name, blocks, epilogue='\nprint("all asserts held")\n')
    assert out.strip().endswith("all asserts held")
    return out


def test_testing_guide(tmp_path):
    run_guide(tmp_path, "testing.md", 2)


def test_agents_guide(tmp_path):
    out = run_guide(tmp_path, "agents.md", 3)
    assert "calls get_weather({'city': 'Oslo'})" in out and "final_answer" in out
    assert "from Bergen to Oslo on 24 December (step 0)" in out
