"""Memory benchmarks: LoCoMo evidence recall@k through the CLI, and write / search latency at scale.

    python benchmarks/memory.py locomo [--data ../shared/data/locomo] [--work DIR]
    python benchmarks/memory.py latency [--sizes 1000 100000 1000000] [--embedder hashing]
    python benchmarks/memory.py null-similarity     # the basis of MemorySource's relevance floor

``locomo`` measures what a user gets: it writes each dialogue turn as the plain row a user would
(``{"id", "content", "conv_id", "session", "date_time"}``, the content a transcript line
``Speaker: text``, with the caption of an image the turn shared), stores them with
``contextos memory add`` and searches every question with ``contextos memory search --queries``
filtered to its conversation, all with the CLI's defaults. The same store is then searched with
``--mode fts`` (memory's own BM25 over the same indexed text) and ``--mode dense``. Predictions are
scored by ``../shared/eval/score_memory.py``; recall@1/5/10/50 per category is printed beside it.
Last, ``MemorySource`` over the same store offers up to 5 memories per question with and without
its relevance floor: the floor's recall cost. Any folder with the same ``conversations.jsonl`` /
``questions.jsonl`` layout works (e.g. the held-out part).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# One BLAS thread: on a small shared machine, OpenBLAS threads spinning against other processes made
# one MiniLM query take ~0.6 s instead of ~20 ms (measured on the 2-core development machine).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("LANCE_LOG", "error")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contextos.memory import MemoryRecord, VectorMemory  # noqa: E402

SHARED = ROOT.parent / "shared"
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}


def user_rows(conversation: dict) -> list[dict]:
    """The rows a user writes for ``contextos memory add``: one per turn, its content the transcript line."""
    rows = []
    for session in conversation["sessions"]:
        for turn in session["turns"]:
            content = f"{turn['speaker']}: {turn['text']}"
            if turn.get("blip_caption"):
                content += f" [shares {turn['blip_caption']}]"
            rows.append(
                {
                    "id": f"{conversation['conv_id']}/{turn['dia_id']}",
                    "content": content,
                    "conv_id": conversation["conv_id"],
                    "session": session["session"],
                    "date_time": session["date_time"],
                }
            )
    return rows


def read_jsonl(path: Path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )


def cli(*args: str) -> float:
    """Run ``contextos ARGS`` as a user would; returns the seconds it took."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "contextos", *args],
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return time.perf_counter() - started


def locomo(args: argparse.Namespace) -> None:
    data = Path(args.data)
    conversations = read_jsonl(data / "conversations.jsonl")
    questions = read_jsonl(data / "questions.jsonl")
    work = Path(args.work or tempfile.mkdtemp(prefix="contextos-locomo-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = [r for c in conversations for r in user_rows(c)]
    write_jsonl(work / "rows.jsonl", rows)
    write_jsonl(
        work / "queries.jsonl",
        [
            {"id": q["id"], "query": q["question"], "filters": {"conv_id": q["conv_id"]}}
            for q in questions
        ],
    )
    db = work / "store"
    took = cli("memory", "add", str(work / "rows.jsonl"), "--db", str(db))
    print(
        f"contextos memory add: {len(rows)} turns of {len(conversations)} conversations in {took:.1f} s"
    )
    scored = work / "scored.jsonl"
    scored.write_text("")
    for mode in args.modes:
        out = work / f"ranked-{mode}.jsonl"
        took = cli(
            "memory",
            "search",
            "--db",
            str(db),
            "--queries",
            str(work / "queries.jsonl"),
            "--out",
            str(out),
            "-k",
            "50",
            *(["--mode", mode] if mode != "hybrid" else []),
        )
        print(
            f"contextos memory search --mode {mode}: {len(questions)} questions in {took:.1f} s (process start and model load included)"
        )
        preds = [
            {
                "id": r["id"],
                "retrieved": [i.split("/", 1)[1] for i in r["ranked"]],
                "run": f"cli-{mode}",
            }
            for r in read_jsonl(out)
        ]
        with open(scored, "a") as f:
            f.writelines(json.dumps(p) + "\n" for p in preds)
        print_recall_by_category(questions, preds, f"cli-{mode}")
    if {"dense", "fts"} <= set(args.modes):
        rank_fusion(questions, work)
    subprocess.run(
        [
            sys.executable,
            str(SHARED / "eval" / "score_memory.py"),
            str(data / "questions.jsonl"),
            str(scored),
        ],
        check=True,
    )
    floor_cost(db, questions)


def rank_fusion(questions: list[dict], work: Path) -> None:
    """For comparison, equal-weight reciprocal-rank fusion (k=60) of the dense and fts rankings
    above (each the CLI's top 50): what the hybrid search did before it fused by score."""
    from contextos.store import fuse_ranks

    lists = [
        {r["id"]: r["ranked"] for r in read_jsonl(work / f"ranked-{mode}.jsonl")}
        for mode in ("dense", "fts")
    ]
    preds = []
    for qid in lists[0]:
        fused = fuse_ranks([lists[0][qid], lists[1].get(qid, [])])
        ranked = sorted(fused, key=lambda i: (-fused[i], i))[:50]
        preds.append({"id": qid, "retrieved": [i.split("/", 1)[1] for i in ranked]})
    print_recall_by_category(questions, preds, "rrf(d+f)")


def recall(
    questions: list[dict], preds: list[dict], k: int, category: int | None = None
) -> tuple[float, int]:
    """Mean share of evidence turns in the top ``k``, over answerable questions (as score_memory.py counts it)."""
    ranked = {p["id"]: p["retrieved"] for p in preds}
    shares = [
        len(set(q["evidence"]) & set(ranked.get(q["id"], [])[:k])) / len(set(q["evidence"]))
        for q in questions
        if q.get("evidence") and q["category"] != 5 and category in (None, q["category"])
    ]
    return (sum(shares) / len(shares) if shares else 0.0), len(shares)


def print_recall_by_category(questions: list[dict], preds: list[dict], run: str) -> None:
    for category in (None, 1, 2, 3, 4):
        name = "answerable" if category is None else CATEGORIES[category]
        values = [recall(questions, preds, k, category) for k in (1, 5, 10, 50)]
        print(
            f"  {run:10s} {name:12s} (n={values[0][1]:3d}) "
            + " ".join(f"R@{k} {v:.3f}" for k, (v, _) in zip((1, 5, 10, 50), values))
        )


def floor_cost(db: Path, questions: list[dict]) -> None:
    """Evidence recall of what ``MemorySource(k=5)`` offers, with its default relevance floor and without."""
    from contextos.context.items import Step
    from contextos.memory import MemorySource
    from contextos.memory.source import DEFAULT_MIN_SIMILARITY

    memory = VectorMemory(db, create=False)
    for floor in (None, 0.0):
        source = MemorySource(
            memory,
            k=5,
            filters=lambda step: {"conv_id": step.metadata["conv_id"]},
            **({} if floor is None else {"min_similarity": floor}),
        )
        preds, offered = [], 0
        for q in questions:
            items = asyncio.run(
                source.candidates(Step(input=q["question"], metadata={"conv_id": q["conv_id"]}))
            )
            items.sort(key=lambda i: -i.score)
            offered += len(items)
            preds.append(
                {
                    "id": q["id"],
                    "retrieved": [i.metadata["record_id"].split("/", 1)[1] for i in items],
                }
            )
        value, n = recall(questions, preds, 5)
        adversarial = [len(p["retrieved"]) for p, q in zip(preds, questions) if q["category"] == 5]
        label = f"floor {DEFAULT_MIN_SIMILARITY} (default)" if floor is None else "no floor"
        print(
            f"MemorySource k=5, {label:22s}: answerable recall@5 {value:.3f} (n={n}); memories offered per question "
            f"{offered / len(questions):.2f}, per adversarial question {sum(adversarial) / max(1, len(adversarial)):.2f}"
        )


def null_similarity(args: argparse.Namespace) -> None:
    """Where MemorySource's relevance floor comes from: MiniLM cosine similarity between texts that
    have nothing to do with each other (tool requests from toolret against LoCoMo turns, indexed as
    the library indexes them). No question and no evidence label is read."""
    import numpy as np

    from contextos.embed import default_embedder
    from contextos.memory.index_text import RecordText

    data = Path(args.data)
    rows = [r for c in read_jsonl(data / "conversations.jsonl") for r in user_rows(c)]
    policy = RecordText()
    texts = [
        policy(
            MemoryRecord(
                id=r["id"],
                content=r["content"],
                metadata={k: r[k] for k in ("conv_id", "session", "date_time")},
            ),
            None,
        )
        for r in rows
    ]
    requests = [q["query"] for q in read_jsonl(SHARED / "data" / "toolret" / "queries.jsonl")][
        : args.requests
    ]
    embedder = default_embedder()
    turns, queries = (np.asarray(embedder.embed(t), dtype=np.float32) for t in (texts, requests))
    turns /= np.linalg.norm(turns, axis=1, keepdims=True)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    sims = queries @ turns.T
    print(
        f"{len(requests)} tool requests x {len(texts)} LoCoMo turns (unrelated pairs), cosine percentiles: "
        + ", ".join(f"p{p} {np.percentile(sims, p):.3f}" for p in (50, 90, 99, 99.9))
        + f"; each request's best turn: median {np.median(sims.max(1)):.3f}"
    )


def latency(args: argparse.Namespace) -> None:
    """Write / search latency at each size: bulk-load to size, then time single adds and searches,
    all through ``VectorMemory``'s defaults. The texts are random draws of 20 words from 5,000; with
    ``--embedder hashing`` (the default here) vectors come from feature hashing, not MiniLM: embedding
    a million texts with MiniLM on two cores takes hours, and the store and search path are the same
    for any embedder of the same dimension (384). Query embedding time is then ~0."""
    import random

    from contextos.embed import HashingEmbedder, default_embedder

    embedder = HashingEmbedder(dimension=384) if args.embedder == "hashing" else default_embedder()
    rng = random.Random(0)
    words = [f"w{i}" for i in range(5000)]

    def text() -> str:
        return " ".join(rng.choice(words) for _ in range(20))

    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            memory = VectorMemory(tmp, embedder=embedder, dedup_threshold=0.97)
            t = time.perf_counter()
            batch = 10_000
            for start in range(0, size, batch):
                memory.add_many(
                    [
                        MemoryRecord(id=f"r{i}", content=text(), metadata={"user": f"u{i % 100}"})
                        for i in range(start, min(size, start + batch))
                    ],
                    dedup=False,
                )
            load = time.perf_counter() - t
            memory.table.optimize()
            adds, searches, filtered = [], [], []
            for i in range(args.repeats):
                t = time.perf_counter()
                memory.add(MemoryRecord(id=f"new{i}", content=text(), metadata={"user": "u1"}))
                adds.append(time.perf_counter() - t)
            for _ in range(args.repeats):
                q = text()
                t = time.perf_counter()
                memory.search(q, k=10)
                searches.append(time.perf_counter() - t)
                t = time.perf_counter()
                memory.search(q, k=10, filters={"user": "u7"})
                filtered.append(time.perf_counter() - t)

            def ms(xs: list[float]) -> str:
                xs = sorted(xs)
                return f"p50 {1000 * xs[len(xs) // 2]:.1f} ms, p95 {1000 * xs[int(len(xs) * 0.95)]:.1f} ms"

            print(
                f"{size:>9,} records ({args.embedder}): bulk load (add_many, 10,000 a batch, dedup off) {load:.1f} s "
                f"({size / load:,.0f} records/s); add one (defaults: dedup on) {ms(adds)}; hybrid search k=10 {ms(searches)}; "
                f"with user filter {ms(filtered)}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    lo = sub.add_parser("locomo", help="evidence recall@k on LoCoMo through the CLI")
    lo.add_argument("--data", default=str(SHARED / "data" / "locomo"))
    lo.add_argument(
        "--work", help="folder for rows, store and predictions (default: a new temporary folder)"
    )
    lo.add_argument(
        "--modes", nargs="+", default=["hybrid", "fts", "dense"], choices=["hybrid", "fts", "dense"]
    )
    lo.set_defaults(func=locomo)
    nu = sub.add_parser(
        "null-similarity", help="cosine similarity of unrelated texts (the relevance floor's basis)"
    )
    nu.add_argument("--data", default=str(SHARED / "data" / "locomo"))
    nu.add_argument("--requests", type=int, default=200)
    nu.set_defaults(func=null_similarity)
    la = sub.add_parser("latency", help="write / search latency at scale")
    la.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000, 1_000_000])
    la.add_argument("--embedder", default="hashing", choices=["default", "hashing"])
    la.add_argument("--repeats", type=int, default=50)
    la.set_defaults(func=latency)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
