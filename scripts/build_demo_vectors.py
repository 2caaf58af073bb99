"""Writes contextos/agents/demo_data/toolbench_vectors.npz: the default embedder's vector of every
text that indexing the shipped demo catalog embeds (its tools and its tool families), so that
`contextos demo` indexes the catalog without embedding anything.

Run it whenever the catalog file, the way ToolCatalog builds its texts, or the default embedder
changes (tests/agents/test_demo_vectors.py fails until then):

    python scripts/build_demo_vectors.py
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

from contextos.agents._demo import demo_catalog_path, demo_vectors_path
from contextos.embed import default_embedder
from contextos.embed.cache import CachedEmbedder
from contextos.tools import ToolCatalog, load_tools


def main() -> None:
    started = time.perf_counter()
    # in memory: it ends up holding exactly the texts embedded
    recording = CachedEmbedder(default_embedder())
    with tempfile.TemporaryDirectory() as db:
        ToolCatalog.open(db, embedder=recording).upsert(load_tools(demo_catalog_path()))
    keys, vectors = recording.snapshot()
    vectors = vectors.astype(np.float16)  # half the size; cosine similarities move by ~1e-4
    out = demo_vectors_path()
    np.savez_compressed(out, model=np.array(recording.name), keys=np.array(keys), vectors=vectors)
    print(
        f"{len(keys)} vectors of {recording.name} -> {out} ({out.stat().st_size / 1e6:.1f} MB) "
        f"in {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
