#!/usr/bin/env python3
"""Hybrid search in VectorTable: our reciprocal-rank fusion vs LanceDB's RRFReranker.

Builds a table from the toolret catalog (HashingEmbedder vectors: the embedder does not matter
for search speed, and it keeps the build quick), optionally padded with synthetic rows, then
times the same queries through both fusion paths (query embedding excluded: vectors are computed
once up front) and checks that both return the same ids.

    python benchmarks/store_hybrid.py [--rows 2490] [--queries 100] [--k 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOOLRET = ROOT.parent / "shared" / "data" / "toolret"

from contextos.embed import HashingEmbedder  # noqa: E402
from contextos.store import Hit, VectorTable, fuse_rrf  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=2490)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--k", type=int, default=10)
    a = ap.parse_args()
    from lancedb.rerankers import RRFReranker

    tools = [json.loads(line) for line in (TOOLRET / "tools.jsonl").open() if line.strip()]
    rows = [{"id": t["id"], "text": f"{t['name']}: {t.get('description') or ''}"} for t in tools]
    for i in range(len(rows), a.rows):
        base = tools[i % len(tools)]
        rows.append(
            {
                "id": f"syn-{i}",
                "text": f"{base['name']} variant {i}: {base.get('description') or ''}",
            }
        )
    rows = rows[: a.rows]
    queries = [
        json.loads(line)["query"] for line in (TOOLRET / "queries.jsonl").open() if line.strip()
    ][: a.queries]
    embedder = HashingEmbedder(dimension=384)
    with tempfile.TemporaryDirectory() as folder:
        table = VectorTable.open(folder, "bench", embedder=embedder)
        started = time.perf_counter()
        for i in range(0, len(rows), 10000):
            table.upsert(rows[i : i + 10000])
        print(
            f"{len(rows)} rows indexed in {time.perf_counter() - started:.1f} s; indexes {table.indexes()}"
        )
        vectors = embedder.embed(queries)
        depth = max(a.k * 3, 50)
        reranker = RRFReranker(K=60)
        lance = table.lance_table
        columns = table.columns

        def ours(q, v):
            dense = table.search_vector(v, depth)
            return fuse_rrf([dense, table.search(q, depth, mode="fts")], a.k)

        def lancedb_rrf(q, v):
            res = (
                lance.search(query_type="hybrid", vector_column_name="vector", fts_columns="text")
                .vector(v)
                .text(q)
                .distance_type("cosine")
                .limit(depth)
                .select(columns)
                .rerank(reranker)
                .to_list()
            )
            return [Hit(r["id"], float(r["_relevance_score"]), r) for r in res[: a.k]]

        timings = {"ours": [], "lancedb RRFReranker": []}
        same = 0
        for _ in range(2):  # first pass warms caches
            for name in timings:
                timings[name].clear()
            for q, v in zip(queries, vectors):
                t0 = time.perf_counter()
                x = ours(q, v)
                t1 = time.perf_counter()
                y = lancedb_rrf(q, v)
                t2 = time.perf_counter()
                timings["ours"].append((t1 - t0) * 1000)
                timings["lancedb RRFReranker"].append((t2 - t1) * 1000)
                same += [h.id for h in x] == [h.id for h in y]
        for name, ms in timings.items():
            ms.sort()
            print(
                f"{name}: p50 {statistics.median(ms):.1f} ms, p95 {ms[int(len(ms) * 0.95) - 1]:.1f} ms"
            )
        print(f"identical top-{a.k} ids: {same}/{2 * len(queries)} queries")


if __name__ == "__main__":
    main()
