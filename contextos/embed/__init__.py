"""embed: text to vectors, offline by default.

- :class:`Embedder`: the protocol (``name``, ``dimension``, ``embed(texts)``, optional ``embed_query``).
- :func:`default_embedder`: all-MiniLM-L6-v2 run by numpy from weights shipped in the package.
- :class:`CachedEmbedder`: embeds each distinct text once (memory, or a cache folder).
- :class:`EndpointEmbedder`: an OpenAI-compatible ``/v1/embeddings`` endpoint (vLLM, TEI, OpenAI).
- :class:`HashingEmbedder`: deterministic feature hashing, no model (tests, baselines).
"""

from __future__ import annotations

from contextos.embed.base import Embedder
from contextos.embed.cache import CachedEmbedder
from contextos.embed.default import default_embedder
from contextos.embed.endpoint import EndpointEmbedder
from contextos.embed.hashing import HashingEmbedder
from contextos.embed.minilm import MiniLMEmbedder

__all__ = [
    "CachedEmbedder",
    "Embedder",
    "EndpointEmbedder",
    "HashingEmbedder",
    "MiniLMEmbedder",
    "default_embedder",
]
