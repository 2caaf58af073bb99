import json

ITEMS = [
    {
        "id": "sys",
        "source": "instructions",
        "role": "system",
        "content": "Answer briefly.",
        "pinned": True,
    },
    {
        "id": "paris",
        "source": "documents",
        "content": "Paris is the capital of France. " * 3,
        "score": 0.9,
    },
    {
        "id": "filler",
        "source": "documents",
        "content": "Unrelated filler text about nothing. " * 80,
        "score": 0.1,
        "compressible": False,
    },
    {
        "id": "q",
        "source": "input",
        "role": "user",
        "content": "What is the capital of France?",
        "pinned": True,
    },
]


def write_items(tmp_path, rows):
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_assemble_json_reports_messages_and_decisions(cli, tmp_path):
    out = cli(
        "assemble",
        "--items",
        str(write_items(tmp_path, ITEMS)),
        "--budget",
        "300",
        "--reserve-output",
        "50",
        "--model",
        "gpt-4o",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    statuses = {d["id"]: d["status"] for d in result["decisions"]}
    assert statuses == {
        "sys": "included",
        "paris": "included",
        "filler": "dropped",
        "q": "included",
    }
    assert result["messages"][0]["role"] == "system" and "Paris" in result["messages"][0]["content"]
    assert result["messages"][-1] == {"role": "user", "content": "What is the capital of France?"}
    assert result["usage"]["request_tokens"] <= 250
    dropped = next(d for d in result["decisions"] if d["id"] == "filler")
    assert (
        dropped["tokens_before"] > 0
        and dropped["tokens_after"] == 0
        and dropped["reason"] == "over budget"
    )


def test_assemble_table_is_readable(cli, tmp_path):
    out = cli(
        "assemble",
        "--items",
        str(write_items(tmp_path, ITEMS)),
        "--budget",
        "300",
        env={"COLUMNS": "160"},
    )
    assert out.returncode == 0, out.stderr
    assert "filler" in out.stdout and "dropped" in out.stdout and "over budget" in out.stdout
    assert "tokens per source" in out.stdout


def test_sections_are_applied_and_checked(cli, tmp_path):
    path = write_items(tmp_path, ITEMS)
    out = cli(
        "assemble",
        "--items",
        str(path),
        "--budget",
        "2000",
        "--section",
        "documents=0:30",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    assert {d["id"]: d["status"] for d in json.loads(out.stdout)["decisions"]}[
        "filler"
    ] == "dropped"
    bad = cli("assemble", "--items", str(path), "--budget", "2000", "--section", "memroy=0:30")
    assert bad.returncode == 1
    assert "unknown sources ['memroy']" in bad.stderr


def test_bad_input_gets_a_clear_message(cli, tmp_path):
    bad_line = write_items(tmp_path, [ITEMS[0], {"id": "x", "source": "documents", "content": 5}])
    out = cli("assemble", "--items", str(bad_line), "--budget", "300")
    assert out.returncode == 1
    assert "items.jsonl:2" in out.stderr and "content must be text" in out.stderr
    assert "Traceback" not in out.stderr
    good = write_items(tmp_path, ITEMS)
    negative = cli("assemble", "--items", str(good), "--budget", "-3")
    assert negative.returncode == 1 and "context_window must be positive" in negative.stderr
    too_small = cli("assemble", "--items", str(good), "--budget", "12")
    assert too_small.returncode == 1 and "pinned items need" in too_small.stderr


def test_version_and_help_are_fast_and_light(cli):
    out = cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("contextos ")
    help_out = cli("--help")
    assert help_out.returncode == 0 and "assemble" in help_out.stdout
