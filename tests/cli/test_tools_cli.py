"""``contextos tools index`` and ``contextos tools search`` as real subprocesses."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli
from tests.tools.conftest import ROWS, write_jsonl


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """One catalog indexed through the CLI, shared by the tests that only read it."""
    folder = tmp_path_factory.mktemp("cli-tools")
    done = run_cli(
        "tools", "index", str(write_jsonl(folder / "tools.jsonl", ROWS)), "--db", str(folder / "db")
    )
    assert done.returncode == 0, done.stderr
    assert (
        "indexed 8 tools" in done.stdout
        and "8/8" in done.stdout
        and "then the tool families" in done.stdout
    )
    return folder / "db"


def test_index_then_search_table_and_json(cli, db):
    table = cli("tools", "search", "--db", str(db), "send a text message to my phone", "-k", "2")
    assert table.returncode == 0, table.stderr
    assert "send_sms" in table.stdout and "no query model configured" in table.stdout
    as_json = cli(
        "tools",
        "search",
        "--db",
        str(db),
        "convert dollars to euros",
        "-k",
        "3",
        "--mode",
        "fts",
        "--json",
    )
    result = json.loads(as_json.stdout)
    assert [h["tool"]["id"] for h in result["hits"]] == ["c1"]  # BM25: only c1 shares a word
    assert result["hits"][0]["score"] == 1.0
    assert result["queries"]["written_by_model"] is False


def test_batch_search_writes_rankings(cli, db, tmp_path):
    queries = write_jsonl(
        tmp_path / "q.jsonl",
        [{"id": "a", "query": "weather forecast"}, {"id": 2, "query": "find recipes with rice"}],
    )
    out = tmp_path / "pred.jsonl"
    done = cli(
        "tools",
        "search",
        "--db",
        str(db),
        "--queries",
        str(queries),
        "-k",
        "4",
        "--out",
        str(out),
        "--mode",
        "dense",
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", 2]
    assert all(len(r["ranked"]) == 4 for r in rows)
    assert rows[0]["ranked"][0] in {"w1", "w2"} and rows[1]["ranked"][0] == "r1"


def test_query_model_offline_writes_the_queries(cli, db):
    done = cli(
        "tools",
        "search",
        "--db",
        str(db),
        "book a flight and find a hotel",
        "--query-model",
        "offline/demo",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    queries = json.loads(done.stdout)["queries"]
    assert queries["written_by_model"] is True and queries["model"] == "offline/demo"
    assert queries["queries"] == ["book flight", "hotel"]


def test_bad_catalog_leaves_the_store_intact(cli, tmp_path):
    db = tmp_path / "db"
    assert (
        cli(
            "tools",
            "index",
            str(write_jsonl(tmp_path / "good.jsonl", [*ROWS[:3], ROWS[4]])),
            "--db",
            str(db),
        ).returncode
        == 0
    )
    bad_rows = [
        dict(ROWS[3]),
        dict(ROWS[5], parameters={"type": "object", "properties": {"x": {"type": "nope"}}}),
    ]
    bad = cli("tools", "index", str(write_jsonl(tmp_path / "bad.jsonl", bad_rows)), "--db", str(db))
    assert bad.returncode == 1
    assert (
        "bad.jsonl line 2" in bad.stderr
        and "send_sms" in bad.stderr
        and "Traceback" not in bad.stderr
    )
    clash = cli(
        "tools",
        "index",
        str(
            write_jsonl(tmp_path / "clash.jsonl", [dict(ROWS[5], id="new"), dict(ROWS[4], id="c9")])
        ),
        "--db",
        str(db),
    )
    assert clash.returncode == 1 and "already has" in clash.stderr
    result = json.loads(
        cli("tools", "search", "--db", str(db), "flights", "-k", "10", "--json").stdout
    )
    # nothing of either bad file
    assert sorted(h["tool"]["id"] for h in result["hits"]) == [
        "c1",
        "f1",
        "w1",
        "w2",
    ]


def test_errors_are_clear(cli, tmp_path):
    missing = cli("tools", "search", "--db", str(tmp_path / "nowhere"), "x")
    assert missing.returncode == 1 and "contextos tools index" in missing.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert (
        "holds no tools" in cli("tools", "index", str(empty), "--db", str(tmp_path / "db")).stderr
    )
    assert "--mode" in cli("tools", "search", "--db", str(tmp_path), "x", "--mode", "sparse").stderr
    assert "--out" in cli("tools", "search", "--db", str(tmp_path), "--queries", str(empty)).stderr


def test_search_help_shows_the_batch_output_format(cli):
    r = cli("tools", "search", "--help", env={"COLUMNS": "200"})
    assert r.returncode == 0 and '"ranked": [tool ids]' in r.stdout
