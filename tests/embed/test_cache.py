"""CachedEmbedder: each distinct text reaches the model once, in memory or across processes."""

from __future__ import annotations

import numpy as np

from contextos import CachedEmbedder, HashingEmbedder
from contextos.embed.cache import content_key


def test_second_pass_embeds_nothing_in_memory():
    inner = HashingEmbedder()
    cached = CachedEmbedder(inner)
    texts = [f"tool number {i} does thing {i % 7}" for i in range(50)]
    first = cached.embed(texts)
    assert inner.embedded_texts == 50
    second = cached.embed(texts)
    assert inner.embedded_texts == 50, "an unchanged catalog must embed nothing"
    np.testing.assert_array_equal(first, second)
    assert cached.hits == 50 and cached.misses == 50


def test_only_new_and_changed_texts_are_embedded():
    inner = HashingEmbedder()
    cached = CachedEmbedder(inner)
    cached.embed(["a b", "c d", "e f"])
    out = cached.embed(["a b", "c d changed", "e f", "g h", "g h"])
    assert inner.embedded_texts == 3 + 2  # "c d changed" and "g h" (once, though asked twice)
    np.testing.assert_array_equal(out, inner.embed(["a b", "c d changed", "e f", "g h", "g h"]))


def test_folder_cache_survives_a_new_instance(tmp_path):
    texts = ["alpha beta", "gamma delta", "epsilon"]
    first = CachedEmbedder(HashingEmbedder(), cache=tmp_path).embed(texts)
    inner = HashingEmbedder()
    again = CachedEmbedder(inner, cache=tmp_path)
    np.testing.assert_array_equal(again.embed(texts), first)
    assert inner.embedded_texts == 0
    assert not list(tmp_path.rglob("*.tmp")), "no temporary file is left behind"


def test_damaged_shard_is_ignored_and_re_embedded(tmp_path):
    CachedEmbedder(HashingEmbedder(), cache=tmp_path).embed(["alpha"])
    for shard in tmp_path.rglob("*.npz"):
        shard.write_bytes(b"not a numpy file")
    inner = HashingEmbedder()
    CachedEmbedder(inner, cache=tmp_path).embed(["alpha"])
    assert inner.embedded_texts == 1


def test_key_depends_on_model_and_text():
    assert content_key("m1", "x") != content_key("m2", "x")
    assert content_key("m1", "x") != content_key("m1", "y")
    assert content_key("m1", "x") == content_key("m1", "x")
