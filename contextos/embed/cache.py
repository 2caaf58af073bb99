"""An embedding cache keyed by content, so re-indexing unchanged texts embeds nothing."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from contextos.embed.base import Embedder, check_texts, check_vectors, embed_queries, embed_query
from contextos.errors import EmbeddingError


def content_key(model: str, text: str) -> str:
    """blake2b of the model name and the text: equal keys mean equal vectors."""
    h = hashlib.blake2b(digest_size=20)
    h.update(model.encode("utf-8"))
    h.update(b"\x00")
    h.update(text.encode("utf-8"))
    return h.hexdigest()


class CachedEmbedder:
    """Wraps an embedder; each distinct (model, text) is embedded once.

    With ``cache`` a folder, vectors persist there (one ``.npy`` shard per batch of new texts,
    written atomically) and survive the process; with ``None`` they live in memory only.

    ```python
    embedder = CachedEmbedder(default_embedder(), cache="~/.cache/contextos/embeddings")
    ```
    """

    def __init__(self, embedder: Embedder, cache: str | Path | None = None) -> None:
        self.inner = embedder
        self.name = embedder.name
        self.dimension = embedder.dimension
        self.misses = 0
        """Texts passed to the wrapped embedder so far (the cache did not hold them)."""
        self.hits = 0
        """Texts answered from the cache so far."""
        self._memory: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._folder: Path | None = None
        if cache is not None:
            self._folder = Path(cache).expanduser() / _safe(embedder.name)
            try:
                self._folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise EmbeddingError(
                    f"cannot create the embedding cache folder {self._folder}: {exc}"
                ) from exc
            self._load_shards()

    def preload(self, keys: Sequence[str], vectors: np.ndarray) -> int:
        """Hold ``vectors`` for the ``content_key``s ``keys`` (vectors computed earlier, e.g. shipped
        with a catalog), so those texts are never embedded; returns how many were new."""
        vectors = check_vectors(
            self.name, np.asarray(vectors, dtype=np.float32), len(keys), self.dimension
        )
        with self._lock:
            new = [k for k in keys if k not in self._memory]
            self._memory.update(zip(keys, vectors))
        return len(new)

    def snapshot(self) -> tuple[list[str], np.ndarray]:
        """The ``content_key``s held and their vectors (sorted by key): what ``preload`` takes back."""
        with self._lock:
            keys = sorted(self._memory)
            vectors = (
                np.stack([self._memory[k] for k in keys])
                if keys
                else np.zeros((0, self.dimension), np.float32)
            )
        return keys, vectors

    def _load_shards(self) -> None:
        assert self._folder is not None
        for shard in sorted(self._folder.glob("*.npz")):
            try:
                with np.load(shard) as data:
                    keys, vectors = data["keys"], data["vectors"]
            except Exception:
                # A shard another process is writing, or a damaged one: skip it, its texts re-embed.
                continue
            if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
                continue
            for key, vector in zip(keys.tolist(), vectors):
                self._memory[key] = vector

    def _persist(self, keys: list[str], vectors: np.ndarray) -> None:
        if self._folder is None or not keys:
            return
        fd, tmp = tempfile.mkstemp(dir=self._folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, keys=np.array(keys), vectors=vectors.astype(np.float32))
            os.replace(tmp, self._folder / f"{keys[0]}.npz")
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise EmbeddingError(
                f"cannot write the embedding cache in {self._folder}: {exc}"
            ) from exc

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts``; only texts the cache lacks reach the wrapped embedder."""
        texts = check_texts(texts)
        keys = [content_key(self.name, t) for t in texts]
        with self._lock:
            missing: dict[str, str] = {}
            for key, text in zip(keys, texts):
                if key not in self._memory and key not in missing:
                    missing[key] = text
            if missing:
                new_keys = list(missing)
                vectors = check_vectors(
                    self.name,
                    self.inner.embed(list(missing.values())),
                    len(new_keys),
                    self.dimension,
                )
                self._persist(new_keys, vectors)
                for key, vector in zip(new_keys, vectors):
                    self._memory[key] = vector
            self.misses += len(missing)
            self.hits += len(texts) - len(missing)
            if not texts:
                return np.zeros((0, self.dimension), dtype=np.float32)
            return np.stack([self._memory[k] for k in keys]).astype(np.float32, copy=False)

    def embed_query(self, text: str) -> np.ndarray:
        """The wrapped embedder's query vector (queries are not cached: they rarely repeat)."""
        return embed_query(self.inner, text)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """The wrapped embedder's query vectors for ``texts``, in one batch when it has no query model."""
        return embed_queries(self.inner, texts)

    def __len__(self) -> int:
        return len(self._memory)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
