"""The Embedder protocol and the checks every embedder's output goes through."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from contextos.errors import EmbeddingError


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors.

    Implement ``name``, ``dimension`` and ``embed``; ``embed_query`` is optional (models that
    embed questions differently from documents provide it, see :func:`embed_query`).

    ```python
    vectors = embedder.embed(["first text", "second text"])  # shape (2, embedder.dimension)
    ```
    """

    name: str
    """A stable name of the model and its settings: cache keys and stored tables record it."""
    dimension: int
    """Length of every vector ``embed`` returns."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` (batched internally): float32, shape (len(texts), dimension), L2-normalised."""
        ...


def embed_query(embedder: Embedder, text: str) -> np.ndarray:
    """One query vector, shape (dimension,): the embedder's ``embed_query`` when it has one."""
    method = getattr(embedder, "embed_query", None)
    if callable(method):
        vector = np.asarray(method(text), dtype=np.float32)
    else:
        vector = embedder.embed([text])[0]
    if vector.shape != (embedder.dimension,):
        raise EmbeddingError(
            f"embedder {embedder.name!r} returned a query vector of shape {vector.shape}, "
            f"expected ({embedder.dimension},)"
        )
    return vector


def embed_queries(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Query vectors for ``texts``, shape (len(texts), dimension): one batch through ``embed`` unless
    the embedder embeds queries its own way (``embed_queries``, or ``embed_query`` per text)."""
    batch = getattr(embedder, "embed_queries", None)
    if callable(batch):
        vectors = np.asarray(batch(list(texts)), dtype=np.float32)
    elif callable(getattr(embedder, "embed_query", None)):
        vectors = (
            np.stack([embed_query(embedder, t) for t in texts])
            if texts
            else np.zeros((0, embedder.dimension), np.float32)
        )
    else:
        vectors = np.asarray(embedder.embed(list(texts)), dtype=np.float32)
    if vectors.shape != (len(texts), embedder.dimension):
        raise EmbeddingError(
            f"embedder {embedder.name!r} returned query vectors of shape {vectors.shape}, "
            f"expected ({len(texts)}, {embedder.dimension})"
        )
    return vectors


def l2_normalise(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero), as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    unit: np.ndarray = matrix / np.maximum(norms, 1e-12)
    return unit


def check_vectors(name: str, vectors: np.ndarray, count: int, dimension: int) -> np.ndarray:
    """Raise EmbeddingError unless ``vectors`` is a finite (count, dimension) matrix; return it as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.shape != (count, dimension):
        raise EmbeddingError(
            f"embedder {name!r} returned vectors of shape {vectors.shape}, expected ({count}, {dimension})"
        )
    if not np.isfinite(vectors).all():
        raise EmbeddingError(f"embedder {name!r} returned NaN or infinite values")
    return vectors


def check_texts(texts: Sequence[str]) -> list[str]:
    """The texts as a list, or EmbeddingError naming the first one that is not a string."""
    if isinstance(texts, str):
        raise EmbeddingError("embed() takes a sequence of texts, not one string: wrap it in a list")
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise EmbeddingError(f"text {i} is a {type(text).__name__}, not a str")
    return out
