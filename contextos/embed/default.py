"""The embedder contextos uses when none is given."""

from __future__ import annotations

import threading

from contextos.embed.base import Embedder

_DEFAULT: Embedder | None = None
_LOCK = threading.Lock()


def default_embedder() -> Embedder:
    """all-MiniLM-L6-v2 run by numpy from the weights in the package (shared, loaded once).

    Chosen by measurement (docs/embeddings.md): the best retrieval quality of the offline
    candidates, no torch, no download, ~0.4 s to load.
    """
    global _DEFAULT
    with _LOCK:
        if _DEFAULT is None:
            from contextos.embed.minilm import MiniLMEmbedder

            _DEFAULT = MiniLMEmbedder()
        return _DEFAULT
