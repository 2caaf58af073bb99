"""contextos's embedder inside a peer's venv, so that a peer searching by vectors differs from
contextos by its method only, not by its model.

The numpy all-MiniLM-L6-v2 (``contextos/embed/minilm.py`` and the weights beside it) is loaded
from this checkout without the rest of the package: ``contextos`` and ``contextos.embed`` are
registered as bare packages, so only ``minilm.py``, ``base.py`` and ``errors.py`` run, and the
peer's venv needs numpy, tokenizers and safetensors (pinned with the peer in install.py), not
contextos's dependencies. The peer's own code never imports anything else from contextos.
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any

# One BLAS thread, as in contextos's own benchmarks (benchmarks/memory.py says why): run.py sets it
# for every peer; here for a peer run by hand (it counts only if numpy is not imported yet).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

PACKAGE = Path(__file__).resolve().parents[2] / "contextos"


def minilm() -> Any:
    """contextos's ``MiniLMEmbedder`` (``embed(texts)`` -> an (n, 384) float32 array, L2-normalised)."""
    for name, folder in (("contextos", PACKAGE), ("contextos.embed", PACKAGE / "embed")):
        if name not in sys.modules:
            bare = types.ModuleType(name)
            bare.__path__ = [str(folder)]
            sys.modules[name] = bare
    from contextos.embed.minilm import MiniLMEmbedder

    return MiniLMEmbedder()


def embed_function() -> Any:
    """The embedder as the plain ``texts -> list of vectors`` function most peers accept."""
    model = minilm()

    def embed(texts: list[str]) -> list[list[float]]:
        return model.embed(list(texts)).tolist()

    return embed
