"""Demonstration benchmarks on ../shared/data/icl_classification (SST-2, TREC, AG News, RTE), no LLM.

    python benchmarks/demos.py retrieval [--tasks sst2,trec,agnews,rte] [--data DIR] [--queries dev] [--embed-cache DIR]
    python benchmarks/demos.py selection [--tasks agnews] [--budgets 18 100] [--seeds 0 1 2] [--embed-cache DIR]
    python benchmarks/demos.py timing --sizes 1000 10000 100000 [--methods votek,ideal,kmeans,random] [--embed-cache DIR]

``retrieval`` loads each task's pool into a ``DemoPool`` (LanceDB in a temporary folder, the default
embedder all-MiniLM-L6-v2), retrieves demonstrations per query with each retriever (16 for kNN,
hybrid and dense; 4 for MMR and label-balanced, whose picks depend on k; a uniform random draw of
16 as the floor), writes predictions in the format of
``../shared/eval/score_demos.py`` and prints that scorer's numbers: agree@k (share of the top-k
demonstrations with the query's label) and knn@k (accuracy of their majority label).

``selection`` selects ``budget`` inputs from each pool, labels unseen, with each method (random
over several seeds) and prints the scorer's select-mode numbers (label coverage, entropy, TF-IDF
1-NN / 4-NN accuracy, TF-IDF representativeness) beside the pool coverage under the embedder
(mean over every pool input of its cosine to the nearest selected input) and the selected set's
diversity (1 - mean pairwise cosine), and IDEAL's objective for every method: the expected spread of an
independent cascade from the selected inputs over the k = 10 activation graph (100 simulations).

``timing`` times each selection method from vectors to ids on pools of the given sizes: the
MiniLM vectors of the four tasks' 21,100 texts, tiled with small Gaussian noise (sigma 0.05 per
dimension, then renormalised) past that count. Each (size, method) runs in its own process, whose
peak memory (which includes making the vectors) is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# see benchmarks/memory.py: threads spin on a shared host
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("LANCE_LOG", "error")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from contextos.demos import (  # noqa: E402
    BalancedRetriever,
    Demonstration,
    DemoPool,
    KnnRetriever,
    MmrRetriever,
    select_for_annotation,
)
from contextos.demos._influence import activation_graph, ic_influence  # noqa: E402
from contextos.demos.annotate import METHODS  # noqa: E402
from contextos.embed import CachedEmbedder, default_embedder  # noqa: E402

SHARED = ROOT.parent / "shared"
DATA = SHARED / "data" / "icl_classification"
SCORER = SHARED / "eval" / "score_demos.py"
TASKS = ("sst2", "trec", "agnews", "rte")
RETRIEVERS = {  # run name -> (retriever, similarity, k)
    "knn": (KnnRetriever, "hybrid", 16),
    "knn-dense": (KnnRetriever, "dense", 16),
    "mmr": (MmrRetriever, "hybrid", 4),
    "balanced": (BalancedRetriever, "hybrid", 4),
}


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def score(mode: str, taskdir: Path, queries: Path, rows: list[dict], keep: Path | None) -> dict:
    """Write ``rows`` (predictions or selections), kept as ``keep`` when given, and score them with
    ../shared/eval/score_demos.py in ``mode``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.jsonl"
        write_jsonl(path, rows)
        if keep is not None:
            keep.parent.mkdir(parents=True, exist_ok=True)
            write_jsonl(keep, rows)
        out = Path(tmp) / "scores.json"
        subprocess.run(
            [
                sys.executable,
                str(SCORER),
                mode,
                str(taskdir),
                str(queries),
                str(path),
                "--json",
                str(out),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(out.read_text())


def embedder(cache: str | None) -> CachedEmbedder:
    return CachedEmbedder(default_embedder(), cache)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


# ---------------------------------------------------------------------------------------- retrieval
def retrieval(args: argparse.Namespace) -> None:
    print(f"# {uptime()}")
    for task in args.tasks.split(","):
        taskdir = Path(args.data) / task
        queries_path = taskdir / f"{args.queries}.jsonl"
        pool_rows, queries = read_jsonl(taskdir / "pool.jsonl"), read_jsonl(queries_path)
        with tempfile.TemporaryDirectory() as tmp:
            pool = DemoPool(tmp, embedder=embedder(args.embed_cache))
            started = time.perf_counter()
            pool.add(
                [
                    Demonstration(id=r["id"], input=r["text"], output=r["label"], label=r["label"])
                    for r in pool_rows
                ]
            )
            load_s = time.perf_counter() - started
            preds: list[dict] = []
            timings = {}
            rng = np.random.default_rng(0)
            ids = [r["id"] for r in pool_rows]
            preds += [
                {
                    "id": q["id"],
                    "run": "random",
                    "demo_ids": [ids[i] for i in rng.choice(len(ids), 16, replace=False)],
                }
                for q in queries
            ]
            # MiniLM embeds a query as it embeds an input, so the query vectors can come from the cache.
            vectors = pool.table.embedder.embed([q["text"] for q in queries])
            for name, (cls, similarity, k) in RETRIEVERS.items():
                started = time.perf_counter()
                retriever = cls(pool, k=k, similarity=similarity)
                ranked = [retriever.retrieve(q["text"], vector=v) for q, v in zip(queries, vectors)]
                timings[name] = (time.perf_counter() - started) / len(queries) * 1000
                preds += [
                    {"id": q["id"], "run": name, "demo_ids": [s.demo.id for s in hits]}
                    for q, hits in zip(queries, ranked)
                ]
        keep = Path(args.out_dir) / f"{task}-{args.queries}-pred.jsonl" if args.out_dir else None
        scores = score("demos", taskdir, queries_path, preds, keep)
        print(
            f"\n## {task} ({len(pool_rows)} pool, {len(queries)} {args.queries} queries; pool load {load_s:.1f} s)"
        )
        print(
            "| run (k retrieved) | agree@1 | agree@4 | agree@8 | knn@4 | knn@8 | knn@16 | cover@4 | ms/query |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for run in ("random", *RETRIEVERS):
            s = scores[run]
            k = RETRIEVERS[run][2] if run in RETRIEVERS else 16
            ms = f"{timings[run]:.1f}" if run in timings else ""
            cells = [
                f"{s[m]:.3f}" if m in s else ""
                for m in ("agree@1", "agree@4", "agree@8", "knn@4", "knn@8", "knn@16", "cover@4")
            ]
            print(f"| {run} ({k}) | " + " | ".join(cells) + f" | {ms} |")


# ---------------------------------------------------------------------------------------- selection
def coverage_and_diversity(vectors: np.ndarray, chosen: list[int]) -> tuple[float, float]:
    selected = vectors[chosen]
    nearest = np.concatenate(
        [(vectors[s : s + 4096] @ selected.T).max(axis=1) for s in range(0, len(vectors), 4096)]
    )
    pairwise = selected @ selected.T
    m = len(chosen)
    mean_pair = (pairwise.sum() - np.trace(pairwise)) / (m * (m - 1)) if m > 1 else 1.0
    return float(nearest.mean()), float(1.0 - mean_pair)


def selection(args: argparse.Namespace) -> None:
    print(f"# {uptime()}")
    for task in args.tasks.split(","):
        taskdir = Path(args.data) / task
        queries_path = taskdir / f"{args.queries}.jsonl"
        rows = read_jsonl(taskdir / "pool.jsonl")
        emb = embedder(args.embed_cache)
        vectors = emb.embed([r["text"] for r in rows])
        index = {r["id"]: i for i, r in enumerate(rows)}
        # IDEAL's graph: its objective, measured for every method
        influence_graph = activation_graph(vectors, 10)
        inputs = [(r["id"], r["text"]) for r in rows]  # labels never reach the selection
        for budget in args.budgets:
            runs, extra = [], {}
            for method in args.methods.split(","):
                for seed in args.seeds if method in ("random", "kmeans") else [0]:
                    run = f"{method}@{budget}" + (
                        f"/s{seed}" if method in ("random", "kmeans") else ""
                    )
                    started = time.perf_counter()
                    chosen = select_for_annotation(inputs, budget, method, embedder=emb, seed=seed)
                    seconds = time.perf_counter() - started
                    runs.append({"run": run, "selected_ids": chosen})
                    rows_chosen = [index[i] for i in chosen]
                    extra[run] = (
                        *coverage_and_diversity(vectors, rows_chosen),
                        ic_influence(influence_graph, rows_chosen, runs=100),
                        seconds,
                    )
            keep = Path(args.out_dir) / f"{task}-select-{budget}.jsonl" if args.out_dir else None
            scores = score("select", taskdir, queries_path, runs, keep)
            print(
                f"\n## {task}, budget {budget} ({len(rows)} unlabeled inputs; queries: {args.queries})"
            )
            print(
                "| run | label coverage | label entropy | max class share | knn1 | knn4 | representativeness (TF-IDF) "
                "| pool coverage (MiniLM) | diversity | IC influence | seconds |"
            )
            print("|---|---|---|---|---|---|---|---|---|---|---|")
            for run, s in scores.items():
                cov, div, influence, sec = extra[run]
                print(
                    f"| {run} | {s['label_coverage']:.3f} | {s['label_entropy']:.3f} | {s['max_class_share']:.3f} | "
                    f"{s['knn1']:.3f} | {s['knn4']:.3f} | {s['representativeness']:.4f} | {cov:.4f} | {div:.3f} | "
                    f"{influence:.1f} | {sec:.2f} |"
                )


# ---------------------------------------------------------------------------------------- timing
def timing_vectors(n: int, cache: str | None) -> np.ndarray:
    texts = [
        r["text"]
        for task in TASKS
        for split in ("pool", "dev")
        for r in read_jsonl(DATA / task / f"{split}.jsonl")
    ]
    base = embedder(cache).embed(texts)
    if n <= len(base):
        return base[np.random.default_rng(0).permutation(len(base))[:n]]
    rng = np.random.default_rng(0)
    tiled = base[rng.integers(len(base), size=n)] + rng.normal(
        0.0, 0.05, size=(n, base.shape[1])
    ).astype(np.float32)
    return tiled / np.linalg.norm(tiled, axis=1, keepdims=True)


def timing_one(args: argparse.Namespace) -> None:
    from contextos.demos.annotate import select_indices

    vectors = timing_vectors(args.size, args.embed_cache)
    started = time.perf_counter()
    chosen = select_indices(vectors, args.budget, args.method)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_mib": peak / 1024, "selected": len(chosen)}))


def timing(args: argparse.Namespace) -> None:
    print(f"# {uptime()}")
    print(
        f"budget {args.budget}; vectors: MiniLM of the four tasks' texts, tiled with noise past 21,100\n"
    )
    print("| pool | method | seconds | peak RSS MiB |")
    print("|---|---|---|---|")
    for size in args.sizes:
        for method in args.methods.split(","):
            cmd = [
                sys.executable,
                __file__,
                "_timing_one",
                "--size",
                str(size),
                "--method",
                method,
                "--budget",
                str(args.budget),
            ]
            if args.embed_cache:
                cmd += ["--embed-cache", args.embed_cache]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                print(
                    f"| {size:,} | {method} | failed: {done.stderr.strip().splitlines()[-1:]} | |"
                )
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"| {size:,} | {method} | {r['seconds']:.2f} | {r['peak_mib']:.0f} |", flush=True)
    print(f"\n# {uptime()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("retrieval", "selection", "timing", "_timing_one"):
        p = sub.add_parser(name)
        p.add_argument("--data", default=str(DATA))
        p.add_argument(
            "--queries", default="dev", help="the query file of each task folder (dev.jsonl)"
        )
        p.add_argument(
            "--embed-cache", default=None, help="folder keeping pool vectors between runs"
        )
        p.add_argument(
            "--out-dir", default=None, help="also keep the prediction / selection files here"
        )
        p.add_argument("--tasks", default=",".join(TASKS))
        p.add_argument("--methods", default=",".join(METHODS))
    sub.choices["selection"].add_argument("--budgets", type=int, nargs="+", default=[18, 100])
    sub.choices["selection"].add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    sub.choices["timing"].add_argument(
        "--sizes", type=int, nargs="+", default=[1000, 10000, 100000]
    )
    sub.choices["timing"].add_argument("--budget", type=int, default=100)
    sub.choices["_timing_one"].add_argument("--size", type=int, required=True)
    sub.choices["_timing_one"].add_argument("--method", required=True)
    sub.choices["_timing_one"].add_argument("--budget", type=int, default=100)
    args = parser.parse_args()
    {"retrieval": retrieval, "selection": selection, "timing": timing, "_timing_one": timing_one}[
        args.command
    ](args)


if __name__ == "__main__":
    main()
