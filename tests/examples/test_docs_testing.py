"""docs/testing.md runs as written: its Python blocks, in order, as one script (offline)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import ROOT


def test_testing_guide_blocks_run(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "testing.md").read_text(), flags=re.S)
    assert len(blocks) == 2
    script = tmp_path / "testing_guide.py"
    script.write_text("\n".join(blocks) + '\nprint("all asserts held")\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTEXTOS_MODEL")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("all asserts held")
