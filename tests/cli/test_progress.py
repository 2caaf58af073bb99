"""The indexing progress display: counts, rate and time left in a terminal; plain lines elsewhere."""

from __future__ import annotations

import io

from rich.console import Console

from contextos.cli.progress import IndexProgress, PlainProgress, index_progress


def test_plain_lines_when_the_output_is_not_a_terminal():
    out = io.StringIO()
    with index_progress("indexing", Console(file=out, force_terminal=False, width=200)) as progress:
        assert isinstance(progress, PlainProgress)
        progress.start(1000)
        progress.advance(500)
        progress.advance(500)
    lines = out.getvalue().splitlines()
    assert lines[0] == "indexing: 1,000 tools"
    assert (
        lines[1].startswith("indexing: 500/1,000 tools (")
        and "tools/s, about" in lines[1]
        and "left)" in lines[1]
    )
    assert lines[2].startswith("indexing: 1,000/1,000 tools (") and " in " in lines[2]
    assert lines[3] == "indexing: then the tool families"
    assert lines[4].startswith("indexing: done in ")


def test_a_terminal_shows_a_bar_with_count_rate_and_time_left():
    out = io.StringIO()
    with index_progress("indexing", Console(file=out, force_terminal=True, width=160)) as progress:
        assert isinstance(progress, IndexProgress)
        progress.start(1000)
        progress.advance(400)
        progress.advance(600)
    screen = out.getvalue()
    assert "1000/1000" in screen and "tools/s" in screen and "then the tool families" in screen
