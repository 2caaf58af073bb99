"""Compression: answer survival, achieved ratio and questions per second, against three baselines.

    python benchmarks/compression.py                                  # all dev questions, three data sets, 4 ratios
    python benchmarks/compression.py --limit 200 --dense 50           # quicker; the dense mode on 50 questions
    python benchmarks/compression.py --ratios 0.25 --datasets nq_open_multidoc20 squad_multipara20

For each data set in ../shared/data (nq_open_multidoc20, squad_multipara20, litm_kv_retrieval) and each
target ratio (1/2, 1/3, 1/5, 1/10 of the context's tokens), every method compresses each question's 20
passages (rendered as in the Lost-in-the-Middle prompt); ../shared/eval/score_compression.py scores the
predictions: answer survival (an answer string still in the compressed context) and the ratio in its
tokenizer-free proxy tokens. ``tok`` is the ratio in tiktoken tokens (what the compressors target);
``q/s`` is questions per second of the method alone, on this machine at the printed load.

Methods: ``default`` is ``contextos compress`` without ``--method`` (``default_compressor()`` through
``compress_passages``); ``dense`` the slower ``extractive-dense`` mode; the baselines keep the first
tokens (``first``), drop random sentences (``random``), or rerank passages with rank_bm25's BM25Okapi
and keep the first tokens of that order (``bm25``, on lower-cased word tokens; ``pip install "contextos[bench-compression]"``).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(SHARED / "eval"))

from contextos.compress import compressor_named  # noqa: E402
from contextos.compress._passages import compress_passages, passage_items  # noqa: E402
from contextos.compress._text import split_sentences  # noqa: E402
from contextos.context import TiktokenCounter  # noqa: E402
from contextos.context.tokens import load_encoding  # noqa: E402

DATASETS = ("nq_open_multidoc20", "squad_multipara20", "litm_kv_retrieval")
RATIOS = (1 / 2, 1 / 3, 1 / 5, 1 / 10)
WORD = re.compile(r"\w+")
# (row, ratio) -> (compressed context, its tokens)
Method = Callable[[dict, float], tuple[str, int]]


def load(dataset: str, limit: int | None) -> list[dict]:
    with gzip.open(SHARED / "data" / dataset / "dev.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return rows[:limit] if limit else rows


class Methods:
    """The compressors measured, each as (row, ratio) -> (context, tiktoken tokens)."""

    def __init__(self, counter: TiktokenCounter) -> None:
        self.counter = counter
        self.encoding = load_encoding(counter.encoding_name)

    def library(self, name: str | None) -> Method:
        compressor = compressor_named(name, self.counter)

        def run(row: dict, ratio: float) -> tuple[str, int]:
            out = asyncio.run(
                compress_passages(
                    compressor, row["question"], row["passages"], ratio, counter=self.counter
                )
            )
            return out.context, out.output_tokens

        return run

    def whole_tokens(self, row: dict) -> int:
        """Tokens of the whole context, as every method renders it."""
        return self._whole(row)[1]

    def _whole(self, row: dict) -> tuple[list[str], int]:
        lines = [i.content for i in passage_items(row["passages"])]
        return lines, self.counter.count("\n".join(lines))

    def _first_tokens(self, text: str, limit: int) -> tuple[str, int]:
        ids = self.encoding.encode(text, disallowed_special=())[:limit]
        cut = self.encoding.decode(ids)
        # a decoded cut can re-encode longer: trim a character
        while self.counter.count(cut) > limit:
            cut = cut[:-1]
        return cut, self.counter.count(cut)

    def first(self, row: dict, ratio: float) -> tuple[str, int]:
        lines, total = self._whole(row)
        return self._first_tokens("\n".join(lines), int(total * ratio))

    def random_sentences(self, row: dict, ratio: float) -> tuple[str, int]:
        lines, total = self._whole(row)
        target = int(total * ratio)
        pieces = [(n, s.text) for n, line in enumerate(lines) for s in split_sentences(line)]
        order = list(range(len(pieces)))
        random.Random(row["id"]).shuffle(order)
        kept, used = set(), 0
        for k in order:
            cost = self.counter.count(pieces[k][1]) + 1
            if used + cost <= target:
                kept.add(k)
                used += cost
        by_line: dict[int, list[str]] = {}
        for k in sorted(kept):
            by_line.setdefault(pieces[k][0], []).append(pieces[k][1])
        text = "\n".join(" ".join(v) for _, v in sorted(by_line.items()))
        return self._first_tokens(text, target)

    def bm25(self, row: dict, ratio: float) -> tuple[str, int]:
        from rank_bm25 import BM25Okapi

        lines, total = self._whole(row)
        docs = [
            WORD.findall(f"{p.get('title') or ''} {p['text']}".lower()) for p in row["passages"]
        ]
        scores = BM25Okapi(docs).get_scores(WORD.findall(row["question"].lower()))
        order = sorted(range(len(lines)), key=lambda i: (-scores[i], i))
        return self._first_tokens("\n".join(lines[i] for i in order), int(total * ratio))


def measure(
    methods: Methods, method: Method, rows: list[dict], ratio: float, run: str, preds: list[dict]
) -> tuple[float, float]:
    """Run ``method`` on ``rows``; append score_compression predictions; (questions/s, mean tiktoken ratio)."""
    spent, ratios = 0.0, []
    for row in rows:
        t0 = time.perf_counter()
        context, tokens = method(row, ratio)
        spent += time.perf_counter() - t0
        whole = methods.whole_tokens(row)
        ratios.append(tokens / whole)
        preds.append({"id": row["id"], "compressed": context, "run": run})
    return len(rows) / spent, sum(ratios) / len(ratios)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS))
    ap.add_argument("--limit", type=int, default=None, help="questions per data set (default: all)")
    ap.add_argument(
        "--ratios",
        nargs="+",
        type=float,
        default=list(RATIOS),
        help="target ratios (default: 1/2 1/3 1/5 1/10)",
    )
    ap.add_argument(
        "--dense",
        type=int,
        default=0,
        help="also the extractive-dense mode, on this many questions",
    )
    ap.add_argument("--methods", nargs="+", default=["first", "random", "bm25", "default"])
    ap.add_argument("--json", help="write every number here")
    args = ap.parse_args()
    from score_compression import score  # ../shared/eval: the scorer the held-out numbers come from

    counter = TiktokenCounter()
    methods = Methods(counter)
    table = {
        "first": methods.first,
        "random": methods.random_sentences,
        "bm25": methods.bm25,
        "default": methods.library(None),
    }
    print(
        f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} on {os.cpu_count()} cores"
    )
    everything: dict = {}
    for dataset in args.datasets:
        rows = load(dataset, args.limit)
        runs: dict[str, tuple[float, float, int]] = {}
        preds: list[dict] = []
        for ratio in args.ratios:
            for name in args.methods:
                run = f"{name}@{ratio:.3f}"
                runs[run] = (*measure(methods, table[name], rows, ratio, run, preds), len(rows))
            if args.dense:
                run = f"dense@{ratio:.3f}"
                runs[run] = (
                    *measure(
                        methods,
                        methods.library("extractive-dense"),
                        rows[: args.dense],
                        ratio,
                        run,
                        preds,
                    ),
                    args.dense,
                )
        with tempfile.TemporaryDirectory() as folder:
            gold, pred = Path(folder) / "gold.jsonl", Path(folder) / "pred.jsonl"
            gold.write_text("".join(json.dumps(r) + "\n" for r in rows))
            pred.write_text("".join(json.dumps(p) + "\n" for p in preds))
            scored = score(str(gold), str(pred))
        print(f"\n{dataset} ({len(rows)} dev questions)")
        print(
            f"{'run':16s} {'n':>5s} {'surv':>6s} {'ci95':>15s} {'ratio':>6s} {'tok':>6s} {'q/s':>7s}"
        )
        for run, (qps, tok, _) in runs.items():
            r = scored[run]
            n_scored = r["n"] - r["missing"]
            ci = f"[{r['survival_ci95'][0]:.3f},{r['survival_ci95'][1]:.3f}]"
            # A run on fewer questions (dense) is scored on those: the scorer counts the rest as missing.
            surv = r["survival"] * r["n"] / n_scored if r["missing"] else r["survival"]
            print(
                f"{run:16s} {n_scored:5d} {surv:6.3f} {ci if not r['missing'] else '':>15s} {r['ratio_mean']:6.3f} {tok:6.3f} {qps:7.1f}"
            )
            everything.setdefault(dataset, {})[run] = {
                **r,
                "survival_of_scored": surv,
                "tiktoken_ratio": tok,
                "questions_per_s": qps,
            }
    print(
        f"\nload after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} on {os.cpu_count()} cores"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(everything, indent=2))


if __name__ == "__main__":
    main()
