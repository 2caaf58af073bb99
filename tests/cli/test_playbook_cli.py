"""``contextos playbook`` as real subprocesses: apply, show, diff, revert, export, import, learn."""

from __future__ import annotations

import json
from pathlib import Path


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_apply_show_diff_revert_export_import(cli, tmp_path: Path) -> None:
    db = tmp_path / "pb"
    first = write_jsonl(
        tmp_path / "d1.jsonl",
        [
            {
                "op": "add",
                "section": "pitfalls",
                "content": "Convert currencies before comparing prices.",
            },
            {
                "op": "add",
                "section": "strategies",
                "content": "Use the calculator for long arithmetic.",
            },
            {"op": "add", "section": "strategies", "content": "Check the answer's units."},
        ],
    )
    r = cli("playbook", "apply", "--db", str(db), str(first))
    assert r.returncode == 0, r.stderr
    assert "version 1, 3 bullets" in r.stdout
    second = write_jsonl(
        tmp_path / "d2.jsonl",
        [
            {"op": "tag", "id": "pb-0001", "helpful": 2},
            {"op": "tag", "id": "pb-0002", "harmful": 1},
            {
                "op": "merge",
                "ids": ["pb-0001", "pb-0002"],
                "content": "Convert currencies, then use the calculator.",
            },
            {"op": "update", "id": "pb-0003", "content": "Check the units of the answer."},
        ],
    )
    assert cli("playbook", "apply", "--db", str(db), str(second)).returncode == 0
    r = cli("playbook", "show", "--db", str(db), "--json")
    shown = json.loads(r.stdout)
    assert shown["version"] == 2
    assert [(b["id"], b["helpful"], b["harmful"]) for b in shown["bullets"]] == [
        ("pb-0001", 2, 1),
        ("pb-0003", 0, 0),
    ]
    assert {"id", "section", "content", "helpful", "harmful"} <= set(shown["bullets"][0])

    r = cli("playbook", "diff", "--db", str(db), "--from", "1", "--to", "2")
    assert r.returncode == 0, r.stderr
    assert (
        "- [pb-0002] Use the calculator" in r.stdout
        and "> [pb-0001] Convert currencies, then" in r.stdout
    )

    r = cli("playbook", "revert", "--db", str(db), "--to", "1")
    assert r.returncode == 0 and "as version 3" in r.stdout
    exported = json.loads(cli("playbook", "export", "--db", str(db), "--format", "json").stdout)
    assert exported["version"] == 3 and [b["id"] for b in exported["bullets"]] == [
        "pb-0001",
        "pb-0002",
        "pb-0003",
    ]
    assert [(b["helpful"], b["harmful"]) for b in exported["bullets"]] == [
        (0, 0)
    ] * 3  # version 1's counters

    md = cli("playbook", "export", "--db", str(db), "--format", "md").stdout
    assert (
        md.startswith("# Playbook (version 3)")
        and "## pitfalls" in md
        and "- [pb-0002] Use the calculator" in md
    )
    (tmp_path / "pb.md").write_text(md)
    r = cli("playbook", "import", "--db", str(tmp_path / "copy"), str(tmp_path / "pb.md"))
    assert r.returncode == 0, r.stderr
    copied = json.loads(cli("playbook", "show", "--db", str(tmp_path / "copy"), "--json").stdout)[
        "bullets"
    ]
    keep = ("id", "section", "content", "helpful", "harmful")
    assert [{k: b[k] for k in keep} for b in copied] == [
        {k: b[k] for k in keep} for b in exported["bullets"]
    ]


def test_an_invalid_line_applies_nothing_and_is_named(cli, tmp_path: Path) -> None:
    db = tmp_path / "pb"
    ok = write_jsonl(
        tmp_path / "ok.jsonl",
        [{"op": "add", "section": "pitfalls", "content": "Convert currencies first."}],
    )
    assert cli("playbook", "apply", "--db", str(db), str(ok)).returncode == 0
    cases = {
        "unknown_id.jsonl": (
            [{"op": "tag", "id": "pb-0001", "helpful": 1}, {"op": "delete", "id": "pb-0404"}],
            ":2",
            "unknown bullet id",
        ),
        "unknown_op.jsonl": (
            [{"op": "tag", "id": "pb-0001", "helpful": 1}, {"op": "rewrite", "content": "x"}],
            ":2",
            "unknown op",
        ),
        "missing.jsonl": ([{"op": "update", "id": "pb-0001"}], ":1", "content"),
        "oversize.jsonl": (
            [{"op": "add", "section": "s", "content": "lesson " * 500}],
            ":1",
            "over the limit",
        ),
        "not_json.jsonl": (
            ['{"op": "add", "section": "s", "content": "fine"}', "{oops"],
            ":2",
            "not valid JSON",
        ),
    }
    for name, (rows, line, why) in cases.items():
        r = cli("playbook", "apply", "--db", str(db), str(write_jsonl(tmp_path / name, rows)))
        assert r.returncode != 0, name
        assert f"{name}{line}" in r.stderr and why in r.stderr, r.stderr
    shown = json.loads(cli("playbook", "show", "--db", str(db), "--json").stdout)
    assert shown["version"] == 1 and shown["bullets"][0]["helpful"] == 0
    r = cli("playbook", "apply", "--db", str(tmp_path / "new"), str(tmp_path / "unknown_id.jsonl"))
    assert r.returncode != 0 and not (tmp_path / "new").exists()  # nothing left behind
    r = cli("playbook", "show", "--db", str(tmp_path / "absent"))
    assert r.returncode != 0 and "no playbook store" in r.stderr


def lookup_weather(city: str) -> str:
    """Look up the weather for a city.

    Args:
        city: The city name.
    """
    return f"Sunny in {city}"


def test_learn_offline_from_stored_runs(cli, tmp_path: Path) -> None:
    from contextos.agents import Agent
    from contextos.llm import ModelClient
    from contextos.tracing import configure_tracing

    traces = tmp_path / "traces"
    tracing = configure_tracing(trace_dir=traces)
    try:
        agent = Agent(ModelClient("offline/demo"), tools=[lookup_weather])
        first, second = (
            agent.run("Look up the weather in Paris"),
            agent.run("Look up the weather in Oslo"),
        )
    finally:
        tracing.shutdown()
    db = tmp_path / "pb"
    r = cli(
        "playbook",
        "learn",
        "--db",
        str(db),
        "--traces",
        first.run_id[:12],
        "last",
        "--model",
        "offline/demo",
        "--epochs",
        "2",
        "--trace-dir",
        str(traces),
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("epoch 1 run") == 2 and r.stdout.count("epoch 2 run") == 2
    shown = json.loads(cli("playbook", "show", "--db", str(db), "--json").stdout)
    assert [b["content"] for b in shown["bullets"]] == [
        "[offline] Task: Look up the weather in Paris (outcome: succeeded)",
        "[offline] Task: Look up the weather in Oslo (outcome: succeeded)",
    ]
    assert [b["provenance"]["run_ids"] for b in shown["bullets"]] == [
        [first.run_id],
        [second.run_id],
    ]
    # the learning is itself recorded in the trace store: one learn span per run and epoch, each delta inside
    runs = json.loads(cli("trace", "list", "--json", "--trace-dir", str(traces)).stdout)
    learned = [x for x in runs if x["run_id"] not in (first.run_id, second.run_id)]
    assert len(learned) == 4
