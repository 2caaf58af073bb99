"""Tool retrieval: quality on the toolret dev set, and index/search speed, as is and at 100,000 tools.

    python benchmarks/tool_retrieval.py                       # everything (about 5 minutes on 2 cores)
    python benchmarks/tool_retrieval.py --synthetic 0         # quality and the real catalog's speed only
    python benchmarks/tool_retrieval.py --query-model hosted_vllm/MODEL --api-base http://HOST:8000/v1
    python benchmarks/tool_retrieval.py --work /tmp/tr --embed-cache /tmp/ec   # keep catalogs and vectors between runs

Quality: every variant's predictions are written as JSONL and scored by the data set's own
``score_toolret.py``, so the numbers are the official scorer's, on all dev queries and on each half
of a fixed split (by sha256 of the query id): methods are chosen on half A, half B checks them. Variants: BM25 only (``fts``),
dense only, hybrid, each without and with family evidence; and, when ``--query-model`` is given,
hybrid with family evidence on queries the model wrote (``ToolQueryWriter``). The ``offline/...``
backend writes no queries (it is not a model), so with it every query falls back to the request
text and that row measures nothing about LLM-written queries: the script says so.

Speed: index build time and search latency (p50/p95 over the dev queries). "search" excludes the
query embedding (query vectors are computed beforehand); "with embedding" includes it.
The synthetic catalog: ``--synthetic`` tools whose names and descriptions are random draws from
the real catalog's words, in families of 5, embedded by ``HashingEmbedder(384)`` (feature
hashing: no model, so building it takes minutes, not hours; the store and search path are the
same as with a real embedder of the same dimension). Its vector index (IVF_SQ) is built
automatically past 5,000 rows.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contextos.embed import (  # noqa: E402
    CachedEmbedder,
    HashingEmbedder,
    default_embedder,
)
from contextos.tools import Tool, ToolCatalog, ToolQueryWriter, load_tools  # noqa: E402
from contextos.tools.catalog import index_text  # noqa: E402
from contextos.tools.query import find_tools  # noqa: E402
from contextos.tools.retrieve import query_segments  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "toolret"


class PrecomputedQueries:
    """Wraps an embedder so that the query vectors of known texts (and of their sentences, which the
    retriever also searches) come from a table: the timings measure search alone."""

    def __init__(self, inner, queries: list[str]) -> None:
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        texts = list(dict.fromkeys(t for q in queries for t in (q, *query_segments(q))))
        self.vectors = dict(zip(texts, inner.embed(texts)))

    def embed(self, texts):
        return self.inner.embed(texts)

    def embed_query(self, text: str):
        vector = self.vectors.get(text)
        return vector if vector is not None else self.inner.embed([text])[0]


def score(
    data: Path, predictions: dict[str, list[str]], out: Path, queries: Path | None = None
) -> dict:
    with out.open("w", encoding="utf-8") as f:
        for qid, ranked in predictions.items():
            f.write(json.dumps({"id": qid, "ranked": ranked}) + "\n")
    result = subprocess.run(
        [
            sys.executable,
            str(data / "score_toolret.py"),
            str(queries or data / "queries.jsonl"),
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def split_in_halves(data: Path, work: Path) -> dict[str, Path]:
    """The dev queries in two halves by the parity of sha256(query id): methods are chosen on A and
    checked on B, which was not looked at when choosing."""
    halves: dict[str, list[str]] = {"A": [], "B": []}
    for line in (data / "queries.jsonl").open(encoding="utf-8"):
        if line.strip():
            digest = hashlib.sha256(json.loads(line)["id"].encode("utf-8")).hexdigest()
            halves["AB"[int(digest, 16) % 2]].append(line)
    paths = {}
    for name, lines in halves.items():
        paths[name] = work / f"queries-{name}.jsonl"
        paths[name].write_text("".join(lines), encoding="utf-8")
    return paths


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p50 = statistics.median(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   (n={len(ms)})"


def timed_build(
    folder: Path, tools: list[Tool], embedder, *, reuse: bool = False
) -> tuple[ToolCatalog, float | None]:
    """A catalog in ``folder`` holding ``tools``, and the seconds it took to build. With ``reuse``, a
    catalog already there with the same number of tools and the same indexed text for the first and
    last tool is kept as is (None seconds): building 100,000 tools takes minutes."""
    start = time.perf_counter()
    catalog = ToolCatalog.open(folder, embedder=embedder)
    if reuse and len(catalog) == len(tools) and _same_text(catalog, [tools[0], tools[-1]]):
        return catalog, None
    catalog.upsert(tools)
    return catalog, time.perf_counter() - start


def _same_text(catalog: ToolCatalog, tools: list[Tool]) -> bool:
    stored = {r["id"]: r["text"] for r in catalog.table.get([t.id for t in tools])}
    return all(stored.get(t.id) == index_text(t) for t in tools)


def built(seconds: float | None) -> str:
    return "reused (--work)" if seconds is None else f"{seconds:.1f} s"


def timed_search(
    catalog: ToolCatalog, texts: list[str], mode: str = "hybrid", k: int = 10, family: float = 0.5
) -> list[float]:
    retriever = catalog.retriever(mode, family_weight=family)
    retriever.retrieve([texts[0]], k)  # warm: the first query loads index files
    times = []
    for text in texts:
        start = time.perf_counter()
        retriever.retrieve([text], k)
        times.append(time.perf_counter() - start)
    return times


def quality(args: argparse.Namespace, work: Path) -> None:
    data = args.data
    queries = [
        json.loads(line) for line in (data / "queries.jsonl").open(encoding="utf-8") if line.strip()
    ]
    texts = [q["query"] for q in queries]
    tools = load_tools(data / "tools.jsonl")
    embedder = (
        CachedEmbedder(default_embedder(), cache=args.embed_cache)
        if args.embed_cache
        else default_embedder()
    )
    catalog, build = timed_build(work / "toolret", tools, embedder)
    cache = f"vectors cached in {args.embed_cache}" if args.embed_cache else "cold cache"
    print(
        f"catalog: {len(tools)} tools, {catalog.groups.count()} families; index build {build:.1f} s "
        f"(embedder {embedder.name}, {cache})"
    )
    start = time.perf_counter()
    catalog.upsert(tools)
    print(f"re-index of the unchanged catalog: {time.perf_counter() - start:.1f} s")

    halves = split_in_halves(data, work)
    print(f"\n{'variant':34s} {'R@1':>6s} {'R@5':>6s} {'R@10':>6s} {'NDCG@10':>8s} {'Comp@5':>7s}")
    for mode in ("fts", "dense", "hybrid"):
        for family in (0.0, 0.5):
            retriever = catalog.retriever(mode, family_weight=family)
            predictions = {
                q["id"]: [h.tool.id for h in retriever.retrieve([q["query"]], 10)] for q in queries
            }
            m = score(data, predictions, work / f"pred-{mode}-{family}.jsonl")
            label = f"{mode}" + (" + family evidence" if family else "")
            print(
                f"{label:34s} {m['Recall@1']:6.3f} {m['Recall@5']:6.3f} {m['Recall@10']:6.3f} {m['NDCG@10']:8.3f} {m['Complete@5']:7.3f}"
            )
            for name, path in halves.items():
                h = score(data, predictions, work / f"pred-{mode}-{family}-{name}.jsonl", path)
                print(
                    f"  half {name} ({h['n']} queries){'':17s} {h['Recall@5']:6.3f} {'':6s} {h['NDCG@10']:8.3f}"
                )
    if args.query_model:
        from contextos.llm import ModelClient

        writer = ToolQueryWriter(ModelClient(args.query_model, api_base=args.api_base))
        retriever = catalog.retriever("hybrid")

        async def run_all():
            limit = asyncio.Semaphore(8)

            async def one(q):
                async with limit:
                    return q["id"], await find_tools(q["query"], retriever, 10, writer=writer)

            return await asyncio.gather(*(one(q) for q in queries))

        found = asyncio.run(run_all())
        written = sum(r.queries.written_by_model for _, r in found)
        m = score(
            data,
            {qid: [h.tool.id for h in r.hits] for qid, r in found},
            work / "pred-query-writer.jsonl",
        )
        label = f"hybrid + family, {args.query_model} queries"
        print(
            f"{label:34s} {m['Recall@1']:6.3f} {m['Recall@5']:6.3f} {m['Recall@10']:6.3f} {m['NDCG@10']:8.3f} {m['Complete@5']:7.3f}"
        )
        print(f"  the model wrote the queries for {written} of {len(found)} requests")
        if written == 0:
            reason = found[0][1].queries.fallback_reason
            print(
                f"  NOT a measure of LLM-written queries: every request fell back to its own text ({reason})"
            )

    fast = ToolCatalog.open(work / "toolret", embedder=PrecomputedQueries(embedder, texts))
    print(f"\nsearch latency, {len(tools)} tools, hybrid + family, k=10:")
    print(f"  search (query vectors precomputed): {percentiles(timed_search(fast, texts))}")
    print(f"  with query embedding ({embedder.name}): {percentiles(timed_search(catalog, texts))}")


def synthetic(args: argparse.Namespace, work: Path) -> None:
    n = args.synthetic
    rng = random.Random(0)
    source = [
        json.loads(line)
        for line in (args.data / "tools.jsonl").open(encoding="utf-8")
        if line.strip()
    ]
    vocabulary = sorted(
        {w for t in source for w in re.findall(r"[a-z]{3,}", (t["description"] or "").lower())}
    )
    params = {
        "type": "object",
        "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
        "required": ["query"],
    }
    tools = []
    for i in range(n):
        family = f"family{i // 5:05d}"
        words = rng.sample(vocabulary, rng.randint(8, 20))
        # Built without validation (model_construct): these are valid by construction, and
        # validating 100,000 JSON Schemas would time the validator, not the store.
        tools.append(
            Tool.model_construct(
                id=f"syn-{i:06d}",
                name=f"{family}_{words[0]}_{words[1]}_{i}",
                original_name=None,
                description=" ".join(words),
                parameters=params,
                group=family,
                metadata={},
                fn=None,
            )
        )
    # Requests of three 4-word sentences (the dev queries average 3.0 sentences), so that the
    # retriever's per-sentence search is timed as real requests exercise it.
    texts = [
        ". ".join(" ".join(words[i : i + 4]) for i in (0, 4, 8)) + "."
        for words in (rng.sample(vocabulary, 12) for _ in range(200))
    ]
    embedder = PrecomputedQueries(HashingEmbedder(dimension=384), texts)
    catalog, build = timed_build(work / f"synthetic-{n}", tools, embedder, reuse=True)
    print(
        f"\nsynthetic catalog: {n} tools in {catalog.groups.count()} families, {embedder.name}; "
        f"index build {built(build)}; indexes {catalog.table.indexes()}"
    )
    print(
        f"search latency, {n} tools, hybrid + family, k=10, query vectors precomputed: {percentiles(timed_search(catalog, texts))}"
    )
    print(f"  hybrid, no family evidence: {percentiles(timed_search(catalog, texts, family=0.0))}")
    print(f"  BM25 only + family: {percentiles(timed_search(catalog, texts, 'fts'))}")
    print(f"  dense only + family: {percentiles(timed_search(catalog, texts, 'dense'))}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA, help="the toolret folder")
    parser.add_argument(
        "--synthetic", type=int, default=100_000, help="size of the synthetic catalog (0: skip)"
    )
    parser.add_argument("--query-model", help="a model for ToolQueryWriter (e.g. hosted_vllm/...)")
    parser.add_argument("--api-base", help="its server URL, ending in /v1")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument(
        "--work",
        type=Path,
        help="keep the catalogs here (default: a temporary folder); "
        "a synthetic catalog already there is reused",
    )
    parser.add_argument(
        "--embed-cache", type=Path, help="cache folder for the real catalog's vectors"
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows when piped to a file
    with tempfile.TemporaryDirectory(prefix="contextos-toolbench-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if not args.skip_quality:
            quality(args, work)
        if args.synthetic:
            synthetic(args, work)


if __name__ == "__main__":
    main()
