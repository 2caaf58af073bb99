"""The default embedder: all-MiniLM-L6-v2 in numpy (its vectors against the reference: test_minilm_reference.py)."""

from __future__ import annotations

import numpy as np
import pytest

from contextos import EmbeddingError, default_embedder
from contextos.embed import MiniLMEmbedder

TEXTS = [
    "Find me a flight from Paris to Berlin next Tuesday.",
    "weather",
    "Get the list of NBA teams and their players with statistics for the current season, sorted by points.",
    "",
    "Ünïcödé text, with punctuation!? and numbers 12345",
]


def test_default_embedder_shape_norm_and_semantics():
    e = default_embedder()
    assert e is default_embedder(), "loaded once and shared"
    assert e.dimension == 384
    v = e.embed(TEXTS)
    assert v.dtype == np.float32 and v.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    q, near, far = e.embed(
        [
            "Will it rain in London tomorrow?",
            "weather forecast for a city",
            "convert euros to dollars",
        ]
    )
    assert q @ near > q @ far + 0.1


def test_batching_and_order_do_not_change_vectors():
    e = default_embedder()
    together = e.embed(TEXTS)
    one_by_one = np.stack([e.embed([t])[0] for t in TEXTS])
    np.testing.assert_allclose(together, one_by_one, atol=2e-5)


def test_missing_model_files_say_how_to_rebuild(tmp_path):
    with pytest.raises(EmbeddingError, match="build_embedder.py"):
        MiniLMEmbedder(tmp_path)
