"""``contextos demos select / retrieve`` as real subprocesses."""

from __future__ import annotations

import json


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


INPUTS = [
    {"id": "a", "input": "how many moons does mars have"},
    {"id": "b", "input": "how many legs does a spider have"},
    {"id": "c", "input": "who wrote the novel hamlet"},
    {"id": "d", "input": "who painted the mona lisa"},
    {"id": "e", "input": "where is the eiffel tower"},
]


def test_select_writes_the_chosen_rows_in_order(cli, tmp_path):
    pool = write_jsonl(tmp_path / "inputs.jsonl", INPUTS)
    for method in ("votek", "ideal", "kmeans", "random"):
        out = tmp_path / f"{method}.jsonl"
        r = cli(
            "demos",
            "select",
            "--pool",
            str(pool),
            "--budget",
            "3",
            "--method",
            method,
            "--out",
            str(out),
            "--embedder",
            "hashing",
        )
        assert r.returncode == 0, r.stderr
        assert f"selected 3 of 5 inputs by {method}" in r.stdout
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert (
            len(rows) == 3
            and len({row["id"] for row in rows}) == 3
            and all(row in INPUTS for row in rows)
        )


def test_retrieve_ranks_examples_per_query(cli, tmp_path):
    pool = write_jsonl(
        tmp_path / "pool.jsonl",
        [
            {**row, "output": label, "label": label}
            for row, label in zip(INPUTS, ["NUM", "NUM", "HUM", "HUM", "LOC"])
        ],
    )
    queries = write_jsonl(
        tmp_path / "q.jsonl",
        [
            {"id": "q1", "query": "how many moons does jupiter have"},
            {"id": "q2", "query": "who wrote the novel ulysses"},
        ],
    )
    out = tmp_path / "pred.jsonl"
    for method in ("knn", "mmr", "balanced"):
        r = cli(
            "demos",
            "retrieve",
            "--pool",
            str(pool),
            "--queries",
            str(queries),
            "-k",
            "2",
            "--method",
            method,
            "--out",
            str(out),
            "--embedder",
            "hashing",
            "--db",
            str(tmp_path / "db"),
        )
        assert r.returncode == 0, r.stderr
        pred = [json.loads(line) for line in out.read_text().splitlines()]
        assert [p["id"] for p in pred] == ["q1", "q2"] and all(len(p["ranked"]) == 2 for p in pred)
        assert pred[0]["ranked"][0] == "a" and pred[1]["ranked"][0] == "c"
    # The kept table follows the file: a row removed from it is no longer retrieved.
    write_jsonl(pool, [{**INPUTS[1], "output": "NUM"}, {**INPUTS[2], "output": "HUM"}])
    r = cli(
        "demos",
        "retrieve",
        "--pool",
        str(pool),
        "--queries",
        str(queries),
        "-k",
        "5",
        "--out",
        str(out),
        "--embedder",
        "hashing",
        "--db",
        str(tmp_path / "db"),
    )
    assert r.returncode == 0, r.stderr
    assert all(
        set(json.loads(line)["ranked"]) == {"b", "c"} for line in out.read_text().splitlines()
    )


def test_bad_input_gives_clear_errors_and_no_output(cli, tmp_path):
    out = tmp_path / "out.jsonl"
    pool = write_jsonl(tmp_path / "inputs.jsonl", INPUTS)
    select = ["demos", "select", "--pool", str(pool), "--out", str(out), "--embedder", "hashing"]
    r = cli(*select, "--budget", "9")
    assert r.returncode == 1 and "--budget 9 is larger than the pool (5 inputs" in r.stderr
    r = cli(*select, "--budget", "2", "--method", "best")
    assert r.returncode == 1 and "--method must be one of votek, ideal, kmeans, random" in r.stderr
    write_jsonl(pool, [*INPUTS, {"id": "a", "input": "again"}])
    r = cli(*select, "--budget", "2")
    assert r.returncode == 1 and "inputs.jsonl:6 repeats id 'a' of line 1" in r.stderr
    write_jsonl(pool, [{"id": "a", "text": "wrong field"}])
    r = cli(*select, "--budget", "1")
    assert r.returncode == 1 and "inputs.jsonl:1 has no string 'input'" in r.stderr
    pool.write_text("\n")
    r = cli(*select, "--budget", "1")
    assert r.returncode == 1 and "the pool is empty" in r.stderr
    examples = write_jsonl(tmp_path / "pool.jsonl", [{"id": "a", "input": "x"}])
    queries = write_jsonl(tmp_path / "q.jsonl", [{"id": "q", "query": "x"}])
    r = cli(
        "demos",
        "retrieve",
        "--pool",
        str(examples),
        "--queries",
        str(queries),
        "--out",
        str(out),
        "--embedder",
        "hashing",
    )
    assert (
        r.returncode == 1
        and "pool.jsonl:1 is not a valid demonstration (output: Field required" in r.stderr
    )
    assert not out.exists()


def test_help_shows_the_row_formats(cli):
    r = cli("demos", "retrieve", "--help", env={"COLUMNS": "200"})
    assert r.returncode == 0 and '"ranked": [example ids, best first]' in r.stdout
    r = cli("demos", "select", "--help", env={"COLUMNS": "200"})
    assert r.returncode == 0 and "votek, ideal, kmeans or random" in r.stdout
