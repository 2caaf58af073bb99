"""The embedder contextos uses when none is given."""

from __future__ import annotations

import threading

from contextos.embed.base import Embedder

_DEFAULT: Embedder | None = None
_LOCK = threading.Lock()


def default_embedder() -> Embedder:
    """all-MiniLM-L6-v2 run by numpy from the weights in the package (shared, loaded once).

    The best retrieval quality of the offline candidates, with no torch and no download
    (numbers and their commands: docs/performance.md, Embeddings; the choice: docs/embeddings.md).
    """
    global _DEFAULT
    with _LOCK:
        if _DEFAULT is None:
            from contextos.embed.minilm import MiniLMEmbedder

            _DEFAULT = MiniLMEmbedder()
        return _DEFAULT
