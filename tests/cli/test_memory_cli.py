"""``contextos memory add / search`` as real subprocesses."""

from __future__ import annotations

import json


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_add_then_search_single_and_batch(cli, tmp_path):
    db = tmp_path / "db"
    records = write_jsonl(
        tmp_path / "r.jsonl",
        [
            {
                "id": "t1",
                "content": "Caroline went to the LGBTQ support group on 7 May",
                "conv_id": "conv-26",
                "speaker": "Caroline",
            },
            {
                "id": "t2",
                "content": "Melanie painted a sunrise over the lake",
                "conv_id": "conv-26",
                "speaker": "Melanie",
            },
            {
                "id": "t3",
                "content": "Caroline went to the support group again",
                "conv_id": "conv-30",
                "user": "x",
                "tags": ["group"],
            },
        ],
    )
    r = cli("memory", "add", "--db", str(db), str(records), "--embedder", "hashing")
    assert r.returncode == 0, r.stderr
    assert "stored 3 records" in r.stdout
    r = cli("memory", "search", "--db", str(db), "support group Caroline", "-k", "2", "--json")
    assert r.returncode == 0, r.stderr
    hits = [json.loads(line) for line in r.stdout.splitlines()]
    assert {h["id"] for h in hits} == {"t1", "t3"}
    assert next(h for h in hits if h["id"] == "t1")["metadata"] == {
        "conv_id": "conv-26",
        "speaker": "Caroline",
    }
    r = cli("memory", "search", "--db", str(db), "support group", "--filter", "conv_id=conv-30")
    assert r.returncode == 0 and r.stdout.split()[1] == "t3"
    queries = write_jsonl(
        tmp_path / "q.jsonl",
        [
            {
                "id": "q1",
                "query": "who went to the support group",
                "filters": {"conv_id": "conv-26"},
            },
            {"id": "q2", "query": "sunrise painting"},
        ],
    )
    out = tmp_path / "pred.jsonl"
    r = cli(
        "memory",
        "search",
        "--db",
        str(db),
        "--queries",
        str(queries),
        "-k",
        "10",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    pred = [json.loads(line) for line in out.read_text().splitlines()]
    assert pred[0] == {"id": "q1", "ranked": ["t1", "t2"]}
    assert pred[1]["id"] == "q2" and pred[1]["ranked"][0] == "t2" and len(pred[1]["ranked"]) == 3


def test_bad_input_gives_clear_errors_and_writes_nothing(cli, tmp_path):
    db = tmp_path / "db"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "content": "fine"}\n{"id": "b", "content": ""}\n')
    r = cli("memory", "add", "--db", str(db), str(bad), "--embedder", "hashing")
    assert r.returncode == 1 and "bad.jsonl:2" in r.stderr and "content is empty" in r.stderr
    assert not db.exists()  # validated before the first write
    bad.write_text('{"id": "a", "content": "fine"}\nnot json\n')
    r = cli("memory", "add", "--db", str(db), str(bad))
    assert r.returncode == 1 and "bad.jsonl:2 is not valid JSON" in r.stderr
    r = cli("memory", "search", "--db", str(tmp_path / "nowhere"), "hello")
    assert r.returncode == 1 and "no store" in r.stderr
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("x")
    r = cli("memory", "search", "--db", str(tmp_path / "junk"), "hello")
    assert r.returncode == 1 and "not a LanceDB store" in r.stderr
    good = write_jsonl(tmp_path / "g.jsonl", [{"id": "a", "content": "a fact", "conv_id": "c"}])
    assert cli("memory", "add", "--db", str(db), str(good), "--embedder", "hashing").returncode == 0
    queries = write_jsonl(
        tmp_path / "q.jsonl", [{"id": "q1", "query": "fact", "filters": {"conv": "c"}}]
    )
    out = tmp_path / "pred.jsonl"
    r = cli("memory", "search", "--db", str(db), "--queries", str(queries), "--out", str(out))
    assert r.returncode == 1 and "q.jsonl:1" in r.stderr and "metadata field 'conv'" in r.stderr
    assert not out.exists()


def test_filter_flag_matches_numbers_booleans_and_any_of_repeated_values(cli, tmp_path):
    db = tmp_path / "db"
    records = write_jsonl(
        tmp_path / "r.jsonl",
        [
            {"id": "y1", "content": "the trip to Oslo", "year": 2023, "done": True},
            {"id": "y2", "content": "the trip to Bergen", "year": "2023"},
            {"id": "y3", "content": "the trip to Rome", "year": 2024, "done": False},
        ],
    )
    assert (
        cli("memory", "add", "--db", str(db), str(records), "--embedder", "hashing").returncode == 0
    )

    def found(*filters: str) -> set[str]:
        args = [a for f in filters for a in ("--filter", f)]
        r = cli("memory", "search", "--db", str(db), "trip", "-k", "5", "--json", *args)
        assert r.returncode == 0, r.stderr
        return {json.loads(line)["id"] for line in r.stdout.splitlines()}

    assert found("year=2023") == {"y1", "y2"}  # the number 2023 and the text "2023"
    assert found("done=true") == {"y1"}
    assert found("year=2023", "year=2024") == {"y1", "y2", "y3"}
    assert found("year=2023", "done=false") == set()


def test_search_help_shows_the_batch_output_format(cli):
    r = cli("memory", "search", "--help", env={"COLUMNS": "200"})
    assert r.returncode == 0 and '"ranked": [record ids]' in r.stdout


def test_dialogue_rows_as_users_write_them(cli, tmp_path):
    db = tmp_path / "db"
    line = "Caroline: I went to the LGBTQ support group yesterday."
    rows = [
        {
            "id": f"{conv}/D1:1",
            "content": line,
            "conv_id": conv,
            "session": 1,
            "date_time": "1:56 pm on 8 May, 2023",
        }
        for conv in ("conv-1", "conv-2")
    ]
    rows.append(
        {
            "id": "conv-2/D2:1",
            "content": "Melanie: I painted a sunrise.",
            "conv_id": "conv-2",
            "session": 2,
            "date_time": "2023-05-25T10:00",
        }
    )
    r = cli(
        "memory",
        "add",
        "--db",
        str(db),
        str(write_jsonl(tmp_path / "r.jsonl", rows)),
        "--embedder",
        "hashing",
    )
    # nothing merged across conversations
    assert r.returncode == 0 and "stored 3 records" in r.stdout, r.stdout + r.stderr

    def found(*filters: str) -> list[str]:
        r = cli(
            "memory",
            "search",
            "--db",
            str(db),
            "support group",
            "-k",
            "5",
            "--json",
            *[a for f in filters for a in ("--filter", f)],
        )
        assert r.returncode == 0, r.stderr
        return [json.loads(h)["id"] for h in r.stdout.splitlines()]

    # an int session, found by session=1
    assert found("conv_id=conv-2", "session=1") == ["conv-2/D1:1"]
    assert found("conv_id=conv-1") == ["conv-1/D1:1"]
    r = cli("memory", "search", "--db", str(db), "support", "--filter", "session=first")
    assert (
        r.returncode == 1
        and "records hold 'session' as number, the filter gives string 'first'" in r.stderr
    )
    bad = write_jsonl(
        tmp_path / "bad.jsonl", [{"id": "x", "content": "fine", "date_time": "sometime in May"}]
    )
    r = cli("memory", "add", "--db", str(db), str(bad))
    assert (
        r.returncode == 1
        and "record 'x': cannot read metadata field 'date_time' 'sometime in May'" in r.stderr
    )
    r = cli("memory", "search", "--db", str(db), "fine", "--json")
    assert '"x"' not in r.stdout  # nothing written
