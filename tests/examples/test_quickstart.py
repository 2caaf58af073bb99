"""The quickstart's Python snippets run, in order, as one script (offline)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quickstart_snippets_run(tmp_path):
    text = (ROOT / "docs" / "quickstart.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 3
    script = tmp_path / "quickstart.py"
    script.write_text("\n".join(blocks))
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
    lines = done.stdout.splitlines()
    assert lines[0].startswith(
        "[offline] The tool get_weather returned: 18 degrees celsius and sunny in Paris"
    )
    assert lines[1] == "final_answer"
    assert re.match(r"0 \d+ \['get_weather'\]", lines[2]) and re.match(r"1 \d+ \[\]", lines[3])
    # the catalog tool ran the bound function, its argument converted to the pydantic model
    assert lines[4] == "booked Chez Panisse for 2"
    assert any(line.startswith("step 0: ") and "ms overhead" in line for line in lines)
