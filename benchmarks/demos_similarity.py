"""The similarity measures tried on the dev queries before choosing the retrievers' default (docs/demos.md).

    python benchmarks/demos_similarity.py [--tasks trec,sst2,agnews,rte] [--embed-cache DIR]

Exact scores in numpy over the whole pool (no LanceDB, no ANN): agree@4, the share of each dev
query's 4 most similar pool inputs whose label is the query's, for the embedder's cosine as is,
mean-centred, without its top 1 / 3 / 8 principal directions, whitened; TF-IDF of words, and of
words and word pairs (``LexicalIndex``); and the embedder's cosine with the word + pair TF-IDF cosine,
fused by reciprocal rank or summed (the ``hybrid`` default).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.demos import DATA, embedder, read_jsonl  # noqa: E402
from contextos.demos._lexical import LexicalIndex  # noqa: E402


def unit(m: np.ndarray) -> np.ndarray:
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def ranks(scores: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(-scores, axis=1), axis=1) + 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", default="trec,sst2,agnews,rte")
    parser.add_argument("--embed-cache", default=None)
    args = parser.parse_args()
    columns = [
        "dense",
        "centred",
        "top-1 removed",
        "top-3 removed",
        "top-8 removed",
        "whitened",
        "TF-IDF words",
        "TF-IDF words+pairs",
        "RRF(dense, words+pairs)",
        "sum (hybrid)",
    ]
    print("| task | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns))
    for task in args.tasks.split(","):
        cells = task_cells(task, embedder(args.embed_cache))
        print(f"| {task} | " + " | ".join(cells) + " |", flush=True)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def task_cells(task: str, emb: Any) -> list[str]:
    """agree@4 of every measure (the table's columns, in order) on one task."""
    pool, dev = read_jsonl(DATA / task / "pool.jsonl"), read_jsonl(DATA / task / "dev.jsonl")
    p, q = emb.embed([r["text"] for r in pool]), emb.embed([r["text"] for r in dev])
    labels, gold = np.array([r["label"] for r in pool]), np.array([r["label"] for r in dev])

    def agree(scores: np.ndarray) -> str:
        top = np.argsort(-scores, axis=1, kind="stable")[:, :4]
        return f"{(labels[top] == gold[:, None]).mean():.3f}"

    mean = p.mean(axis=0)
    _, sv, vt = np.linalg.svd(p - mean, full_matrices=False)

    def removed(m: np.ndarray, d: int) -> np.ndarray:
        return unit((m - mean) - ((m - mean) @ vt[:d].T) @ vt[:d])

    white = vt.T / (sv / np.sqrt(len(p)))
    lexical = {}
    for name, analyzer in (("words", words), ("pairs", None)):
        index = LexicalIndex(
            [r["text"] for r in pool], **({"analyzer": analyzer} if analyzer else {})
        )
        lexical[name] = np.stack([index.scores(r["text"]) for r in dev])
    dense = q @ p.T
    return [
        agree(dense),
        agree(unit(q - mean) @ unit(p - mean).T),
        *(agree(removed(q, d) @ removed(p, d).T) for d in (1, 3, 8)),
        agree(unit((q - mean) @ white) @ unit((p - mean) @ white).T),
        agree(lexical["words"]),
        agree(lexical["pairs"]),
        agree(1.0 / (60 + ranks(dense)) + 1.0 / (60 + ranks(lexical["pairs"]))),
        agree(dense + lexical["pairs"]),
    ]


if __name__ == "__main__":
    main()
