"""The demo catalog's shipped vectors: they cover every text indexing the shipped catalog embeds, and
they are what the default embedder computes today. Fails when they go stale: rebuild them with
``python scripts/build_demo_vectors.py``."""

from __future__ import annotations

import random

import numpy as np
import pytest

from contextos.agents._demo import demo_catalog_path, demo_embedder, demo_vectors_path
from contextos.embed import default_embedder
from contextos.embed.cache import content_key
from contextos.tools import ToolCatalog, load_tools

STALE = "the shipped demo vectors are stale: run `python scripts/build_demo_vectors.py`"


class _Recorder:
    """Records the texts a catalog embeds, answering with constant vectors (their values do not matter here)."""

    def __init__(self) -> None:
        inner = default_embedder()
        self.name, self.dimension = inner.name, inner.dimension
        self.texts: list[str] = []

    def embed(self, texts):
        self.texts.extend(texts)
        return np.ones((len(texts), self.dimension), dtype=np.float32)


@pytest.fixture(scope="module")
def embedded_texts(tmp_path_factory) -> list[str]:
    recorder = _Recorder()
    ToolCatalog.open(tmp_path_factory.mktemp("db"), embedder=recorder).upsert(
        load_tools(demo_catalog_path())
    )
    return recorder.texts


@pytest.fixture(scope="module")
def shipped() -> dict[str, np.ndarray]:
    with np.load(demo_vectors_path()) as data:
        assert str(data["model"]) == default_embedder().name, STALE
        return dict(zip(data["keys"].tolist(), data["vectors"].astype(np.float32)))


def test_shipped_vectors_cover_every_text_the_catalog_embeds(embedded_texts, shipped):
    name = default_embedder().name
    keys = {content_key(name, t) for t in embedded_texts}
    assert len(keys) > 3000  # the tools and their families
    missing = [t for t in embedded_texts if content_key(name, t) not in shipped]
    assert not missing, f"{STALE} ({len(missing)} texts have no vector, e.g. {missing[0][:80]!r})"
    assert keys == set(shipped), STALE + " (it holds vectors of texts the catalog no longer embeds)"


def test_shipped_vectors_are_the_default_embedders(embedded_texts, shipped):
    sample = random.Random(7).sample(sorted(set(embedded_texts)), 24)
    fresh = default_embedder().embed(sample)
    name = default_embedder().name
    for text, vector in zip(sample, fresh):
        kept = shipped[content_key(name, text)]
        cosine = float(vector @ kept / (np.linalg.norm(vector) * np.linalg.norm(kept)))
        assert cosine > 0.999, f"{STALE} (cosine {cosine:.4f} for {text[:80]!r})"


def test_the_demo_embedder_answers_the_catalogs_texts_from_the_shipped_vectors(embedded_texts):
    embedder = demo_embedder()
    embedder.embed(embedded_texts)
    assert embedder.misses == 0 and embedder.hits == len(embedded_texts)
