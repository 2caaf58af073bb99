"""The compression row of run.py: contextos's default compressor against LlamaIndex's
``SentenceEmbeddingOptimizer`` (peer_llamaindex.py) at ratios 0.5, 0.25 and 0.1 on the NQ dev set.

contextos's side is benchmarks/compression.py's own ``default`` method (``compress_passages`` with
``default_compressor()``, what ``contextos compress`` does); both sides get the same passage lines
(``passage_items``, the Lost-in-the-Middle rendering), and both are scored by the shared
``score_compression.py``: answer survival, and the ratio in its proxy tokens. ``tok`` is the
ratio in tiktoken tokens (what contextos targets); time is per question, the compressor alone.
"""

from __future__ import annotations

import json
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

from benchmarks import compression  # noqa: E402  (it puts ../shared/eval on the path)

RATIOS = (0.5, 0.25, 0.1)
DATASET = "nq_open_multidoc20"


def questions(limit: int) -> list[dict[str, Any]]:
    return compression.load(DATASET, limit)


def request(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "task": "compress",
        "ratios": list(RATIOS),
        "settings": [
            {"name": "llamaindex", "kwargs": {}},
            {"name": "llamaindex, no context", "kwargs": {"context_before": 0, "context_after": 0}},
        ],
        "rows": [
            {
                "id": r["id"],
                "question": r["question"],
                "lines": [i.content for i in compression.passage_items(r["passages"])],
            }
            for r in rows
        ],
    }


def contextos_compress(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``compress`` task through benchmarks/compression.py's ``default`` method."""
    from contextos.context import TiktokenCounter
    from contextos.version import __version__

    methods = compression.Methods(TiktokenCounter())
    method = methods.library(None)
    method(rows[0], RATIOS[0])  # warm up: the first call loads what the compressor needs
    contexts: dict[str, list[str]] = {}
    took: dict[str, list[float]] = {}
    for ratio in RATIOS:
        for row in rows:
            start = time.perf_counter()
            context, _ = method(row, ratio)
            took.setdefault(str(ratio), []).append((time.perf_counter() - start) * 1000)
            contexts.setdefault(str(ratio), []).append(context)
    return {
        "version": f"contextos {__version__}",
        "runs": {"contextos": {"contexts": contexts, "ms": took}},
    }


def score(rows: list[dict[str, Any]], answer: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per run of the answer, one result per ratio: survival and ratio by the shared scorer,
    tiktoken ratio, median ms."""
    from score_compression import score as shared_score

    from contextos.context import TiktokenCounter

    counter = TiktokenCounter()
    methods = compression.Methods(counter)
    whole = [methods.whole_tokens(r) for r in rows]
    preds = [
        {"id": row["id"], "compressed": context, "run": f"{name}@{ratio}"}
        for name, run in answer["runs"].items()
        for ratio, contexts in run["contexts"].items()
        for row, context in zip(rows, contexts)
    ]
    with tempfile.TemporaryDirectory() as folder:
        gold, pred = Path(folder) / "gold.jsonl", Path(folder) / "pred.jsonl"
        gold.write_text("".join(json.dumps(r) + "\n" for r in rows))
        pred.write_text("".join(json.dumps(p) + "\n" for p in preds))
        scored = shared_score(str(gold), str(pred))
    results: dict[str, list[dict[str, Any]]] = {}
    for name, run in answer["runs"].items():
        for ratio in RATIOS:
            contexts, by_scorer = run["contexts"][str(ratio)], scored[f"{name}@{ratio}"]
            results.setdefault(name, []).append(
                {
                    "version": answer["version"],
                    "survival": by_scorer["survival"],
                    "scorer_ratio": by_scorer["ratio_mean"],
                    "tiktoken_ratio": statistics.mean(
                        counter.count(c) / w for c, w in zip(contexts, whole)
                    ),
                    "ms": statistics.median(run["ms"][str(ratio)]),
                }
            )
    return results


def rows(
    limit: int, call_peer: Callable[[str, dict[str, Any]], dict[str, Any]]
) -> list[dict[str, Any]]:
    """contextos and LlamaIndex at each ratio on the first ``limit`` NQ dev questions."""
    data = questions(limit)
    mine = score(data, contextos_compress(data))["contextos"]
    peer_request = request(data)
    answer = call_peer("llamaindex", peer_request)
    theirs = (
        {s["name"]: [answer] * len(RATIOS) for s in peer_request["settings"]}
        if "error" in answer
        else score(data, answer)
    )
    out = []
    for n, ratio in enumerate(RATIOS):
        task = f"NQ {len(data)} q, ratio {ratio}"
        out.append({"task": task, "system": "contextos", **mine[n]})
        for name, results in theirs.items():
            row = {"task": task, "system": name, **results[n]}
            if "error" not in row:
                row["ms_ratio"] = row["ms"] / mine[n]["ms"]
            out.append(row)
    return out


COLUMNS: tables.Columns = [
    ("answer survival", tables.number("survival", ".3f")),
    ("kept (scorer)", tables.number("scorer_ratio", ".3f")),
    ("kept (tiktoken)", tables.number("tiktoken_ratio", ".3f")),
    ("ms per question", tables.number("ms", ".1f")),
    ("ratio", lambda r: tables.ratio(r, "ms_ratio")),
]
