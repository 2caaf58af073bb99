"""Memory benchmarks: LoCoMo evidence recall@k, and write / search latency at scale.

    python benchmarks/memory.py locomo [--data ../shared/data/locomo] [--mode hybrid] [--out PRED.jsonl]
    python benchmarks/memory.py latency --sizes 1000 100000 [--embedder hashing]

``locomo`` stores one record per dialogue turn (``[session date] speaker: text``, image captions
included, the session date also as ``created_at``) in a ``VectorMemory``, searches each question
filtered to its conversation, writes predictions in the format of ``../shared/eval/score_memory.py``
and runs that scorer. Any folder with the same ``conversations.jsonl`` / ``questions.jsonl`` layout
works (e.g. the held-out part).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

# One BLAS thread: on a small shared machine, OpenBLAS threads spinning against other processes made
# one MiniLM query take ~0.6 s instead of ~20 ms (measured on the 2-core development machine).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("LANCE_LOG", "error")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contextos.memory import MemoryRecord, ScoringWeights, VectorMemory  # noqa: E402

SHARED = ROOT.parent / "shared"


def session_time(text: str) -> float:
    """Unix seconds of a LoCoMo session date such as ``1:56 pm on 8 May, 2023``."""
    return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").timestamp()


def turn_records(conversation: dict, context: bool) -> list[MemoryRecord]:
    """One record per turn. With ``context``, the previous turn is quoted after the turn: a reply
    ("Yes, last Friday!") means little without what it answers."""
    records = []
    conv = conversation["conv_id"]
    for session in conversation["sessions"]:
        date = session["date_time"]
        previous = None
        for turn in session["turns"]:
            text = f"{turn['speaker']}: {turn['text']}"
            if turn.get("blip_caption"):
                text += f" [shares {turn['blip_caption']}]"
            content = f"[{date}] {text}"
            if context and previous:
                content += f"\n(replying to {previous})"
            records.append(
                MemoryRecord(
                    id=f"{conv}/{turn['dia_id']}",
                    kind="turn",
                    content=content,
                    metadata={"session": f"{conv}/S{session['session']}", "role": "user", "conv_id": conv,
                              "dia_id": turn["dia_id"], "speaker": turn["speaker"], "session_date": date},
                    created_at=session_time(date),
                )
            )
            previous = text
    return records


def read_jsonl(path: Path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def locomo(args: argparse.Namespace) -> None:
    from contextos.embed import CachedEmbedder, HashingEmbedder, default_embedder

    data = Path(args.data)
    conversations = read_jsonl(data / "conversations.jsonl")
    questions = read_jsonl(data / "questions.jsonl")
    inner = HashingEmbedder(dimension=1024) if args.embedder == "hashing" else default_embedder()
    embedder = CachedEmbedder(inner, cache=args.embed_cache) if args.embed_cache else inner
    weights = ScoringWeights(recency=0.0, importance=0.0) if args.relevance_only else ScoringWeights()
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        memory = VectorMemory(tmp, embedder=embedder, weights=weights, mode=args.mode, dedup_threshold=None)
        records = [r for c in conversations for r in turn_records(c, args.context)]
        t = time.perf_counter()
        memory.add_many(records)
        print(f"stored {len(records)} turns of {len(conversations)} conversations in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        with open(out, "w") as f:
            for q in questions:
                hits = memory.search(q["question"], k=args.k, filters={"conv_id": q["conv_id"]}, now=time.time())
                ranked = [h.record.metadata.free["dia_id"] for h in hits]
                f.write(json.dumps({"id": q["id"], "retrieved": ranked, "run": args.run or f"{args.mode}-{args.embedder}"}) + "\n")
        took = time.perf_counter() - t
        print(f"searched {len(questions)} questions in {took:.1f} s ({1000 * took / len(questions):.1f} ms each)")
    scorer = SHARED / "eval" / "score_memory.py"
    subprocess.run([sys.executable, str(scorer), str(data / "questions.jsonl"), str(out)], check=True)
    print_recall_by_category(questions, out, k=5)


def print_recall_by_category(questions: list[dict], pred_path: Path, k: int) -> None:
    """recall@k per category, computed as score_memory.py computes recall (share of evidence turns in the top k)."""
    names = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
    ranked = {p["id"]: p["retrieved"] for p in read_jsonl(pred_path)}
    by_cat: dict[str, list[float]] = {}
    for q in questions:
        if not q.get("evidence"):
            continue
        evidence = set(q["evidence"])
        got = set(ranked.get(q["id"], [])[:k])
        by_cat.setdefault(names[q["category"]], []).append(len(evidence & got) / len(evidence))
    print(f"recall@{k} by category: " + ", ".join(f"{c} {sum(v) / len(v):.3f} (n={len(v)})" for c, v in sorted(by_cat.items())))


def latency(args: argparse.Namespace) -> None:
    """Write / search latency at each size: bulk-load to size, then time single adds and searches."""
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
                    [MemoryRecord(id=f"r{i}", content=text(), metadata={"user": f"u{i % 100}"}) for i in range(start, min(size, start + batch))],
                    dedup=False,
                )
            load = time.perf_counter() - t
            memory.table.optimize()
            adds, searches, filtered = [], [], []
            for i in range(args.repeats):
                t = time.perf_counter()
                memory.add(MemoryRecord(id=f"new{i}", content=text(), metadata={"user": "u1"}))
                adds.append(time.perf_counter() - t)
            for i in range(args.repeats):
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

            print(f"{size:>9,} records ({args.embedder}): bulk load {load:.1f} s ({size / load:,.0f} records/s); "
                  f"add (dedup on) {ms(adds)}; hybrid search k=10 {ms(searches)}; with user filter {ms(filtered)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    lo = sub.add_parser("locomo", help="evidence recall@k on LoCoMo")
    lo.add_argument("--data", default=str(SHARED / "data" / "locomo"))
    lo.add_argument("--mode", default="hybrid", choices=["hybrid", "dense", "fts"])
    lo.add_argument("--embedder", default="default", choices=["default", "hashing"])
    lo.add_argument("--embed-cache", default=os.environ.get("CONTEXTOS_EMBED_CACHE"), help="cache folder for vectors")
    lo.add_argument("--no-context", dest="context", action="store_false", help="index each turn alone")
    lo.add_argument("--default-weights", dest="relevance_only", action="store_false",
                    help="rank with the default recency/importance weights instead of relevance only")
    lo.add_argument("-k", type=int, default=50)
    lo.add_argument("--run", default=None)
    lo.add_argument("--out", default="locomo-pred.jsonl")
    lo.set_defaults(func=locomo)
    la = sub.add_parser("latency", help="write / search latency at scale")
    la.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    la.add_argument("--embedder", default="hashing", choices=["default", "hashing"])
    la.add_argument("--repeats", type=int, default=50)
    la.set_defaults(func=latency)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
