"""What the package ships besides code: only third-party files whose licence allows it, each
attributed in NOTICE. The non-commercial data sets in ../shared/data must never be among them."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ATTRIBUTED = {  # folder inside the package -> what NOTICE must name
    "contextos/context/encodings": "contextos/context/encodings/",
    "contextos/embed/models/all-MiniLM-L6-v2": "contextos/embed/models/all-MiniLM-L6-v2/",
    "contextos/agents/demo_data": "contextos/agents/demo_data/toolbench_tools.jsonl",
}


OURS = {ROOT / "contextos" / "py.typed"}  # the PEP 561 marker: typed, not third-party


def data_files() -> list[Path]:
    return [
        p
        for p in (ROOT / "contextos").rglob("*")
        if p.is_file()
        and p.suffix not in (".py", ".pyc")
        and "__pycache__" not in p.parts
        and p not in OURS
    ]


def test_every_data_file_is_in_an_attributed_folder():
    notice = (ROOT / "NOTICE").read_text()
    folders = {str(p.parent.relative_to(ROOT)) for p in data_files()}
    assert folders == set(ATTRIBUTED)
    for named in ATTRIBUTED.values():
        assert named in notice


def test_package_data_globs_cover_the_shipped_files():
    """A wheel (not only an editable install) carries the catalog, the encodings and the embedder."""
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    covered = {
        p
        for package, patterns in globs.items()
        for pattern in patterns
        for p in (ROOT / package.replace(".", "/")).glob(pattern)
    }
    assert set(data_files()) | OURS == covered


def test_no_file_of_the_non_commercial_data_sets_is_shipped(shared_data):
    shipped = {hashlib.sha256(p.read_bytes()).hexdigest() for p in data_files()}
    for folder in shared_data.iterdir():
        if folder.name == "toolret":  # Apache-2.0: its tools.jsonl is the demo catalog
            continue
        for path in folder.rglob("*"):
            if path.is_file() and path.stat().st_size > 1000:
                assert hashlib.sha256(path.read_bytes()).hexdigest() not in shipped, path
