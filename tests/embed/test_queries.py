"""embed_queries: several query vectors in one batch, or through the embedder's own query model."""

from __future__ import annotations

import numpy as np
import pytest

from contextos import CachedEmbedder, EmbeddingError
from contextos.embed.base import embed_queries


class Recording:
    """Embeds every text as the same unit vector and records each ``embed`` batch."""

    name = "recording"
    dimension = 2

    def __init__(self, rows_per_call: int | None = None) -> None:
        self.batches: list[list[str]] = []
        self.rows_per_call = rows_per_call

    def embed(self, texts):
        self.batches.append(list(texts))
        n = len(texts) if self.rows_per_call is None else self.rows_per_call
        return np.tile(np.array([1.0, 0.0], dtype=np.float32), (n, 1))


class WithQueryModel(Recording):
    def embed_query(self, text):
        return np.array([0.0, 1.0], dtype=np.float32)


def test_one_batch_without_a_query_model():
    embedder = Recording()
    vectors = embed_queries(embedder, ["a", "b", "c"])
    assert vectors.shape == (3, 2) and vectors.dtype == np.float32
    assert embedder.batches == [["a", "b", "c"]]


def test_a_query_model_is_used_for_every_text():
    embedder = WithQueryModel()
    vectors = embed_queries(embedder, ["a", "b"])
    np.testing.assert_array_equal(vectors, [[0.0, 1.0], [0.0, 1.0]])
    assert embedder.batches == []


def test_cached_embedder_passes_the_batch_through():
    inner = Recording()
    vectors = CachedEmbedder(inner).embed_queries(["a", "b"])
    assert vectors.shape == (2, 2) and inner.batches == [["a", "b"]]


def test_wrong_number_of_vectors_is_an_embedding_error():
    with pytest.raises(EmbeddingError, match=r"expected \(3, 2\)"):
        embed_queries(Recording(rows_per_call=2), ["a", "b", "c"])
