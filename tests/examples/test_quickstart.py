"""The quickstart's Python snippets run, in order, as one script (offline)."""

from __future__ import annotations

import re

from tests.examples.test_docs_guides import run_blocks


def test_quickstart_snippets_run(tmp_path):
    lines = run_blocks(tmp_path, "quickstart.md", 3).splitlines()
    assert lines[0].startswith(
        "[offline] The tool get_weather returned: 18 degrees celsius and sunny in Paris"
    )
    assert lines[1] == "final_answer"
    assert re.match(r"0 \d+ \['get_weather'\]", lines[2]) and re.match(r"1 \d+ \[\]", lines[3])
    # the catalog tool ran the bound function, its argument converted to the pydantic model
    assert lines[4] == "booked Chez Panisse for 2"
    assert any(line.startswith("step 0: ") and "ms overhead" in line for line in lines)
