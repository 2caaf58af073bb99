"""HashingEmbedder: deterministic, normalised, lexical."""

from __future__ import annotations

import numpy as np
import pytest

from contextos import EmbeddingError, HashingEmbedder
from contextos.embed import Embedder


def test_vectors_are_unit_float32_and_deterministic():
    a, b = HashingEmbedder(dimension=128), HashingEmbedder(dimension=128)
    va = a.embed(["get the weather forecast", "book a flight"])
    assert va.dtype == np.float32 and va.shape == (2, 128)
    np.testing.assert_allclose(np.linalg.norm(va, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(va, b.embed(["get the weather forecast", "book a flight"]))
    assert isinstance(a, Embedder)


def test_shared_words_make_closer_vectors():
    e = HashingEmbedder()
    q, near, far = e.embed(
        ["weather forecast Berlin", "Berlin weather forecast today", "convert currency rates"]
    )
    assert q @ near > q @ far + 0.3


def test_empty_text_gives_zero_vector_and_empty_batch_gives_empty_matrix():
    e = HashingEmbedder(dimension=64)
    assert not e.embed([""]).any()
    assert e.embed([]).shape == (0, 64)


def test_bad_input_is_an_embedding_error():
    e = HashingEmbedder()
    with pytest.raises(EmbeddingError, match="not one string"):
        e.embed("a single string")
    with pytest.raises(EmbeddingError, match="text 1"):
        e.embed(["fine", 3])
