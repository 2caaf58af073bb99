import gzip
import json

import pytest

from contextos import TiktokenCounter


@pytest.fixture
def questions(tmp_path, shared_data):
    with gzip.open(
        shared_data / "nq_open_multidoc20" / "dev.jsonl.gz", "rt", encoding="utf-8"
    ) as f:
        rows = [json.loads(next(f)) for _ in range(3)]
    path = tmp_path / "in.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": r["id"], "question": r["question"], "passages": r["passages"]}) + "\n"
            for r in rows
        )
    )
    return path, rows


def test_compress_writes_one_row_per_question_within_the_ratio(cli, tmp_path, questions):
    path, rows = questions
    out = tmp_path / "out.jsonl"
    done = cli("compress", "--input", str(path), "--ratio", "0.25", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "3 rows" in done.stdout and "method extractive" in done.stdout
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in results] == [r["id"] for r in rows]
    counter = TiktokenCounter()
    for r in results:
        assert set(r) == {"id", "context", "input_tokens", "output_tokens"}
        assert r["output_tokens"] == counter.count(r["context"]) <= int(0.25 * r["input_tokens"])
        assert r["context"].startswith("Document [")


def test_compress_with_a_named_method(cli, tmp_path, questions):
    path, _ = questions
    out = tmp_path / "out.jsonl"
    done = cli(
        "compress", "--input", str(path), "--method", "cutoff", "--ratio", "0.5", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert "method cutoff" in done.stdout


@pytest.mark.parametrize("ratio, message", [("0", "between 0"), ("1.5", "between 0")])
def test_bad_ratios_are_clear_errors_and_write_nothing(cli, tmp_path, questions, ratio, message):
    path, _ = questions
    out = tmp_path / "out.jsonl"
    done = cli("compress", "--input", str(path), "--ratio", ratio, "--out", str(out))
    assert done.returncode == 1 and message in done.stderr and not out.exists()


def test_rows_without_passages_are_named(cli, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "a", "question": "q", "passages": []}) + "\n")
    out = tmp_path / "out.jsonl"
    done = cli("compress", "--input", str(path), "--ratio", "0.5", "--out", str(out))
    assert (
        done.returncode == 1
        and "in.jsonl:1" in done.stderr
        and "no passages" in done.stderr
        and not out.exists()
    )
    missing = cli(
        "compress", "--input", str(tmp_path / "nope.jsonl"), "--ratio", "0.5", "--out", str(out)
    )
    assert missing.returncode == 1 and "does not exist" in missing.stderr
