"""A deterministic embedder with no model: feature hashing of word n-grams.

Vectors depend only on the words a text shares with another, so it is a lexical embedder: useful
as a test double (fast, identical on every machine) and as a floor to compare real models with.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from contextos.embed.base import check_texts, l2_normalise
from contextos.errors import EmbeddingError

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORD = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=65536)
def _slot(feature: str, dimension: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    # One hash gives both the slot and the sign, so colliding features cancel instead of adding up.
    return value % dimension, 1.0 if (value >> 63) & 1 else -1.0


class HashingEmbedder:
    """Feature hashing of lower-cased word n-grams (1..``ngrams``) into ``dimension`` signed slots.

    ```python
    embedder = HashingEmbedder(dimension=256)
    embedder.embed(["weather forecast", "forecast the weather"])
    ```
    """

    def __init__(self, dimension: int = 256, ngrams: int = 2) -> None:
        if not _whole(dimension) or dimension < 2 or not _whole(ngrams) or ngrams < 1:
            raise EmbeddingError(
                f"HashingEmbedder needs a whole dimension >= 2 and ngrams >= 1, got {dimension!r} and {ngrams!r}"
            )
        self.dimension = dimension
        self.ngrams = ngrams
        self.name = f"hashing-{dimension}-n{ngrams}"
        self.embedded_texts = 0
        """How many texts this embedder has embedded (tests use it to prove a cache worked)."""

    def _features(self, text: str) -> list[str]:
        words = _WORD.findall(_CAMEL.sub(r"\1 \2", text).lower())
        features = list(words)
        for n in range(2, self.ngrams + 1):
            features.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
        return features

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, shape (len(texts), dimension); an empty text gives a zero vector."""
        texts = check_texts(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            counts: dict[int, float] = {}
            for feature in self._features(text):
                slot, sign = _slot(feature, self.dimension)
                counts[slot] = counts.get(slot, 0.0) + sign
            for slot, value in counts.items():
                # Sublinear term frequency: a word repeated ten times is not ten times as relevant.
                out[row, slot] = np.sign(value) * (1.0 + np.log(abs(value))) if value else 0.0
        self.embedded_texts += len(texts)
        return l2_normalise(out)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
