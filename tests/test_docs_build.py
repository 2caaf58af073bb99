"""The manual and its API reference build with ``mkdocs build --strict``, and the reference covers
the public names: a docstring that breaks the build, a page left out of the nav, or a public
subpackage without a reference page fails here.

Needs the ``docs`` extra (``pip install -e ".[docs]"``; ``scripts/test`` installs it); skips without it.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="the docs extra is not installed (pip install -e '.[docs]')")
pytest.importorskip("mkdocstrings_handlers.python", reason="the docs extra is not installed")

ROOT = Path(__file__).resolve().parent.parent
NOT_REFERENCED = {"cli"}  # the command line is documented by its --help, not as an API


def public_subpackages() -> list[str]:
    return sorted(
        p.name
        for p in (ROOT / "contextos").iterdir()
        if (p / "__init__.py").is_file()
        and not p.name.startswith("_")
        and p.name not in NOT_REFERENCED
    )


def inventory_names(objects_inv: Path) -> set[str]:
    """Dotted names in a Sphinx ``objects.inv`` (four header lines, then zlib-compressed lines)."""
    data = objects_inv.read_bytes()
    body = data.split(b"\n", 4)[4]
    return {line.split(" ", 1)[0] for line in zlib.decompress(body).decode().splitlines() if line}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_every_manual_page_is_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = sorted(p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md"))
    assert [p for p in pages if p not in nav] == []


def test_every_public_subpackage_has_a_reference_page() -> None:
    for name in public_subpackages():
        page = ROOT / "docs" / "api" / f"{name}.md"
        assert page.is_file(), f"docs/api/{name}.md is missing"
        assert f"::: contextos.{name}" in page.read_text()


def test_the_strict_build_documents_every_exported_name(site: Path) -> None:
    documented = inventory_names(site / "objects.inv")
    last_parts = {n.rsplit(".", 1)[-1] for n in documented if n.startswith("contextos.")}
    missing = {
        f"contextos.{sub}.{name}"
        for sub in public_subpackages()
        for name in importlib.import_module(f"contextos.{sub}").__all__
        if name not in last_parts
    }
    assert missing == set()
    page = (site / "api" / "context.html").read_text()
    assert re.search(r'id="contextos\.context\.Budget"', page)  # a class page, not only a heading
