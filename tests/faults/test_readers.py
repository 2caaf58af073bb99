"""Every JSONL reader refuses bytes that are not UTF-8, deep nesting, huge integers and NaN with an
error naming the line; accepts U+2028/U+2029 inside strings; path mistakes are errors, not tracebacks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from contextos import (
    ConfigError,
    ContextOSError,
    InvalidItemError,
    InvalidToolError,
    MemoryStoreError,
)
from contextos.cli.memory import _read_jsonl
from contextos.cli.tools import _read_queries
from contextos.context._itemsfile import read_items
from contextos.tools import load_tools

ITEM = {"id": "a", "source": "documents", "content": "fine"}
TOOL = {
    "id": "t1",
    "name": "t1",
    "description": "a tool",
    "parameters": {"type": "object", "properties": {}},
}
QUERY = {"id": "q1", "query": "something"}

READERS: dict[str, tuple[Callable[[Path], object], type[ContextOSError], dict]] = {
    "assemble --items": (read_items, InvalidItemError, ITEM),
    "memory add": (
        lambda p: _read_jsonl(p, "records"),
        MemoryStoreError,
        {"id": "r1", "content": "x"},
    ),
    "memory search --queries": (lambda p: _read_jsonl(p, "queries"), MemoryStoreError, QUERY),
    "tools index": (load_tools, InvalidToolError, TOOL),
    "tools search --queries": (_read_queries, ConfigError, QUERY),
}


def _deep(depth: int) -> str:
    return '{"id": "a", "x": ' + "[" * depth + "]" * depth + "}"


BAD_SECOND_LINES = {
    "not-utf8": (b'{"id": "b", "content": "caf\xe9"}', "not UTF-8"),
    "deep-10000": (_deep(10_000).encode(), "nested deeper"),
    "deep-150": (_deep(150).encode(), "nested deeper"),
    "huge-int": (b'{"id": "b", "n": ' + b"9" * 5000 + b"}", "does not fit in 64 bits"),
    "nan": (b'{"id": "b", "score": NaN}', "NaN is not a JSON number"),
    "infinity": (b'{"id": "b", "score": -Infinity}', "Infinity is not a JSON number"),
}


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("fault", BAD_SECOND_LINES)
def test_a_bad_line_is_a_clear_error_naming_it(tmp_path: Path, reader: str, fault: str) -> None:
    read, error, good = READERS[reader]
    line, says = BAD_SECOND_LINES[fault]
    path = tmp_path / "in.jsonl"
    path.write_bytes(json.dumps(good).encode() + b"\n" + line + b"\n")
    with pytest.raises(error, match=says) as caught:
        read(path)
    assert f"{path}:2" in str(caught.value)


@pytest.mark.parametrize("reader", READERS)
def test_line_and_paragraph_separators_inside_strings_are_text(tmp_path: Path, reader: str) -> None:
    read, _, good = READERS[reader]
    row = {**good, "description" if reader == "tools index" else "note": "one\u2028two\u2029three"}
    if reader == "assemble --items":
        row = {**good, "content": "one\u2028two\u2029three"}
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    assert read(path)


@pytest.mark.parametrize("reader", READERS)
def test_a_folder_or_a_missing_file_is_a_clear_error(tmp_path: Path, reader: str) -> None:
    read, error, _ = READERS[reader]
    with pytest.raises(error, match="is a folder"):
        read(tmp_path)
    with pytest.raises(error, match="does not exist"):
        read(tmp_path / "missing.jsonl")


def _no_traceback(done) -> str:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: "), done.stderr
    return done.stderr


def test_the_cli_names_the_line_of_bytes_that_are_not_utf8(cli, tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    items.write_bytes(
        json.dumps(ITEM).encode() + b'\n{"id": "b", "source": "documents", "content": "caf\xe9"}\n'
    )
    assert f"{items}:2 is not UTF-8" in _no_traceback(
        cli("assemble", "--items", str(items), "--budget", "1000")
    )


def test_the_cli_assembles_text_with_a_line_separator(cli, tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text(
        json.dumps({**ITEM, "content": "one\u2028two"}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    done = cli("assemble", "--items", str(items), "--budget", "1000", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["decisions"][0]["status"] == "included"


def test_path_mistakes_on_the_command_line_are_errors(cli, tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(
        json.dumps({"id": "r1", "content": "Oslo is rainy"}) + "\n", encoding="utf-8"
    )
    queries = tmp_path / "queries.jsonl"
    queries.write_text(json.dumps(QUERY) + "\n", encoding="utf-8")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")

    assert "is a folder" in _no_traceback(
        cli("assemble", "--items", str(tmp_path), "--budget", "1000")
    )
    _no_traceback(
        cli("memory", "add", str(records), "--db", str(blocker / "db"), "--embedder", "hashing")
    )
    db = tmp_path / "db"
    assert (
        cli("memory", "add", str(records), "--db", str(db), "--embedder", "hashing").returncode == 0
    )
    says = _no_traceback(
        cli(
            "memory",
            "search",
            "--queries",
            str(queries),
            "--out",
            str(tmp_path / "no" / "out.jsonl"),
            "--db",
            str(db),
        )
    )
    assert "does not exist; create it first" in says
    assert "is a folder" in _no_traceback(
        cli("memory", "search", "--queries", str(queries), "--out", str(tmp_path), "--db", str(db))
    )


def test_an_out_of_range_port_is_an_error(cli) -> None:
    assert "--port must be 0-65535" in _no_traceback(cli("serve", "some/model", "--port", "70000"))
