"""The memory row of run.py: contextos's ``VectorMemory`` against mem0 with inference off
(peer_mem0.py) on the LoCoMo dev conversations.

Both store each dialogue turn as the same text (benchmarks/memory.py's ``user_rows``: the
transcript line ``Speaker: text``, with the caption of an image the turn shared), one write per
turn, tagged with its conversation, and search each question within its conversation for the 10
best. contextos: ``VectorMemory`` with its defaults (MiniLM, hybrid search, near-duplicate check
on write) in a temporary folder, ``add`` and ``search(filters={"conv_id": ...})``. Evidence
recall@5 over the answerable questions (categories 1-4) by the shared ``score_memory.py``; write and
search latency per call, query embedding included on both sides.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import row_table as tables  # noqa: E402

from benchmarks import memory  # noqa: E402

sys.path.insert(0, str(memory.SHARED / "eval"))
DATA = memory.SHARED / "data" / "locomo"
K = 10


def workload(quick: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The turns (``user_rows``) and questions; quick: the first 30 turns of the first
    conversation and up to 5 questions whose evidence lies in them."""
    conversations = memory.read_jsonl(DATA / "conversations.jsonl")
    questions = memory.read_jsonl(DATA / "questions.jsonl")
    turns = [r for c in conversations for r in memory.user_rows(c)]
    if quick:
        turns = turns[:30]
        held = {r["id"] for r in turns}
        questions = [
            q
            for q in questions
            if q.get("evidence") and {f"{q['conv_id']}/{e}" for e in q["evidence"]} <= held
        ][:5]
    return turns, questions


def request(turns: list[dict[str, Any]], questions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "task": "memory",
        "k": K,
        "turns": [
            {"id": r["id"].split("/", 1)[1], "content": r["content"], "conv_id": r["conv_id"]}
            for r in turns
        ],
        "questions": [
            {"id": q["id"], "question": q["question"], "conv_id": q["conv_id"]} for q in questions
        ],
    }


def sessions(turns: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The turns grouped by dialogue session, in order."""
    groups: dict[tuple[str, Any], list[dict[str, Any]]] = {}
    for r in turns:
        groups.setdefault((r["conv_id"], r["session"]), []).append(r)
    return list(groups.values())


def contextos_memory(
    turns: list[dict[str, Any]], questions: list[dict[str, Any]], by_session: bool = False
) -> dict[str, Any]:
    """The ``memory`` task through ``VectorMemory``'s defaults, answering as a peer would: one
    ``add`` per turn, or (``by_session``) one ``add_many`` per dialogue session, which indexes each
    turn with the one it replies to (single adds do not), each turn's write time then the
    session's time shared out."""
    from contextos.embed import default_embedder
    from contextos.memory import MemoryRecord, VectorMemory
    from contextos.version import __version__

    default_embedder().embed(["warm up"])  # the model is loaded once per process, as in mem0's
    with tempfile.TemporaryDirectory() as folder:
        store = VectorMemory(folder)
        write_ms: list[float] = []
        for group in sessions(turns) if by_session else [[r] for r in turns]:
            records = [
                MemoryRecord(
                    id=r["id"],
                    content=r["content"],
                    metadata={k: r[k] for k in ("conv_id", "session", "date_time")},
                )
                for r in group
            ]
            start = time.perf_counter()
            if by_session:
                store.add_many(records)
            else:
                store.add(records[0])
            write_ms += [(time.perf_counter() - start) * 1000 / len(records)] * len(records)
        search_ms, ranked = [], {}
        for q in questions:
            start = time.perf_counter()
            hits = store.search(q["question"], k=K, filters={"conv_id": q["conv_id"]})
            search_ms.append((time.perf_counter() - start) * 1000)
            ranked[q["id"]] = [h.record.id.split("/", 1)[1] for h in hits]
    return {
        "version": f"contextos {__version__}",
        "write_ms": write_ms,
        "search_ms": search_ms,
        "ranked": ranked,
    }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def score(questions: list[dict[str, Any]], answer: dict[str, Any]) -> dict[str, Any]:
    """Recall@5 and @10 (answerable questions) by the shared scorer; latency percentiles."""
    if "error" in answer:
        return answer
    from score_memory import score as shared_score  # ../shared/eval

    with tempfile.TemporaryDirectory() as folder:
        gold, pred = Path(folder) / "gold.jsonl", Path(folder) / "pred.jsonl"
        memory.write_jsonl(gold, questions)
        memory.write_jsonl(
            pred, [{"id": qid, "retrieved": ids} for qid, ids in answer["ranked"].items()]
        )
        scored = shared_score(str(gold), str(pred))["default"]["answerable(1-4)"]
    return {
        "version": answer["version"],
        "answerable": scored["n"],
        "recall@5": scored["recall@5"],
        "recall@10": scored["recall@10"],
        "write_p50_ms": statistics.median(answer["write_ms"]),
        "write_p95_ms": _p95(answer["write_ms"]),
        "search_p50_ms": statistics.median(answer["search_ms"]),
        "search_p95_ms": _p95(answer["search_ms"]),
    }


def rows(
    quick: bool, call_peer: Callable[[str, dict[str, Any]], dict[str, Any]]
) -> list[dict[str, Any]]:
    turns, questions = workload(quick)
    task = f"LoCoMo {len(turns)} turns, {len(questions)} q"
    mine = score(questions, contextos_memory(turns, questions))
    batched = score(questions, contextos_memory(turns, questions, by_session=True))
    theirs = score(questions, call_peer("mem0", request(turns, questions)))
    for row in (batched, theirs):
        if "error" not in row:
            row["write_ratio"] = row["write_p50_ms"] / mine["write_p50_ms"]
            row["search_ratio"] = row["search_p50_ms"] / mine["search_p50_ms"]
    return [
        {"task": task, "system": "contextos", **mine},
        {"task": task, "system": "contextos, add_many per session", **batched},
        {"task": task, "system": "mem0", **theirs},
    ]


COLUMNS: tables.Columns = [
    ("answerable q", tables.number("answerable", "")),
    ("recall@5", tables.number("recall@5", ".3f")),
    ("recall@10", tables.number("recall@10", ".3f")),
    ("write p50 ms", tables.number("write_p50_ms", ".1f")),
    ("ratio", lambda r: tables.ratio(r, "write_ratio")),
    ("write p95 ms", tables.number("write_p95_ms", ".1f")),
    ("search p50 ms", tables.number("search_p50_ms", ".1f")),
    ("ratio", lambda r: tables.ratio(r, "search_ratio")),
    ("search p95 ms", tables.number("search_p95_ms", ".1f")),
]
