"""The HTML view in a real headless Chromium: the tree renders, planted markup stays text, screenshots work."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from contextos.tracing.html import html_report
from tests.tracing.conftest import SCRIPT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.chromium,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="chromium is not installed (scripts/test installs Debian's chromium package as root)",
    ),
]


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )


def dump_dom(page: Path, profile: Path) -> str:
    out = chromium(profile, "--dump-dom", page.as_uri())
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.fixture(scope="module")
def page(traced_run, tmp_path_factory) -> Path:
    store, run_id = traced_run
    path = tmp_path_factory.mktemp("html") / "run.html"
    path.write_text(html_report(store.summary(run_id), store.spans(run_id)), encoding="utf-8")
    return path


def test_the_planted_script_would_run_in_a_page_that_did_not_escape_it(tmp_path):
    # the control: the same detection catches the script when it is injected raw
    raw = tmp_path / "raw.html"
    raw.write_text(
        f"<!DOCTYPE html><html><head><title>clean</title></head><body>{SCRIPT}</body></html>"
    )
    dom = dump_dom(raw, tmp_path / "profile")
    assert "<title>pwned</title>" in dom and "<planted-by-tool>" in dom


def test_span_tree_renders_and_planted_script_stays_text(page, traced_run, tmp_path):
    store, run_id = traced_run
    dom = dump_dom(page, tmp_path / "profile")
    assert 'data-rendered="yes"' in dom  # the page's own script ran to the end
    assert f"<title>contextos trace {run_id[:12]}</title>" in dom
    assert "<planted-by-tool>" not in dom and "pwned</title>" not in dom
    rows = re.findall(r'<div class="span[^"]*" data-span-id="([0-9a-f]{16})">', dom)
    assert sorted(rows) == sorted(s.span_id for s in store.spans(run_id))
    assert '<span class="name" style="padding-left: 0px;">invoke_agent weather</span>' in dom
    assert (
        '<span class="name" style="padding-left: 32px;">execute_tool lookup_weather</span>' in dom
    )
    assert re.search(r'<section class="step" data-step="0">', dom) and re.search(
        r'<section class="step" data-step="1">', dom
    )
    # the tool result is shown as text in step 1's messages
    assert "&lt;script&gt;document.title='pwned'" in dom


def test_escaping_alone_keeps_the_script_inert_without_the_csp(page, tmp_path):
    # take the Content-Security-Policy away: the page must still not run the planted script
    bare = tmp_path / "bare.html"
    bare.write_text(
        re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page.read_text())
    )
    assert "Content-Security-Policy" not in bare.read_text()
    dom = dump_dom(bare, tmp_path / "profile")
    assert 'data-rendered="yes"' in dom
    assert "<planted-by-tool>" not in dom and "pwned</title>" not in dom


def test_screenshot_is_a_png(page, tmp_path):
    shot = tmp_path / "run.png"
    out = chromium(
        tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,1400", page.as_uri()
    )
    assert out.returncode == 0, out.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_the_answer_the_tools_offered_and_decoded_attributes_show(page, traced_run, tmp_path):
    dom = dump_dom(page, tmp_path / "profile")
    answer = re.search(r'<div id="answer"><pre class="answer-text">(.*?)</pre>', dom, flags=re.S)
    assert answer and answer.group(1).startswith("[offline] The tool lookup_weather returned:")
    # each step lists the tool schemas its model call offered, pretty-printed
    assert dom.count("<summary>Tools offered (1): lookup_weather</summary>") == 2
    assert (
        '"name": "lookup_weather"' in dom
        and '"description": "Look up the weather for a city.' in dom
    )
    # JSON-valued attributes (the chat span's messages) are structures, not strings of escaped quotes
    assert '\\"role\\"' not in dom and '"role": "user"' in dom
