"""examples/demonstrations_agent.py runs offline, as a user would run it, and shows what it claims."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys

from tests.conftest import ROOT


def test_demonstrations_agent_example():
    env = {k: v for k, v in os.environ.items() if k not in ("CONTEXTOS_MODEL", "CONTEXTOS_API_BASE")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "demonstrations_agent.py"), "I was billed twice this month"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    selected = ast.literal_eval(re.search(r"label these first \(vote-k\): (\[.*\])", done.stdout).group(1))
    shown = ast.literal_eval(re.search(r"examples shown \(closest last\): (\[.*\])", done.stdout).group(1))
    assert len(selected) == len(set(selected)) == 5
    assert len(shown) == 2 and set(shown) <= set(selected)
    assert "offline backend" in done.stdout and "answer: [offline]" in done.stdout
