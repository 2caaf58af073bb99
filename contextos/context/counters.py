"""Which counter counts a model's tokens: one resolver from a model string to a ``TokenCounter``.

In order, the first that applies:

1. ``tokenizer=`` given: the model's own tokenizer and chat template from that folder or
   ``tokenizer.json`` (``ChatTemplateCounter``).
2. An OpenAI model (``gpt-4``, ``gpt-4-turbo``, ``gpt-3.5`` → cl100k; ``gpt-4o``, ``gpt-4.1``, ``o1``... →
   o200k; a bare name or ``openai/``, ``azure/``): tiktoken with that encoding, offline.
3. ``$CONTEXTOS_TOKENIZER``, or a model string that names a local model folder (``hosted_vllm//models/qwen``,
   as ``contextos serve`` can serve it), or a Hugging Face model already in the local hub cache
   (``hosted_vllm/Qwen/Qwen2.5-7B-Instruct``; nothing is downloaded): ``ChatTemplateCounter``.
4. contextos's own test models (``offline/...``, ``scripted``): o200k, which is how they count.
5. Anything else: an estimate (``EstimatedCounter``: o200k counts plus ``ESTIMATE_MARGIN``), said
   once in a ``TokenizerWarning`` and in every assembly's ``usage.estimated``.

A ``hosted_vllm/`` model with an ``api_base`` also gets the server's ``/tokenize`` as the final word
on each step's request (``ServerCheckedCounter``), always when the local count is an estimate.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contextos.context.tokens import (
    _MODEL_PREFIXES,
    TiktokenCounter,
    TokenCounter,
    TokenizerWarning,
)
from contextos.context.vllm_tokenize import ServerCheckedCounter, VllmTokenize

if TYPE_CHECKING:
    from contextos.llm.protocol import ChatModel

TOKENIZER_ENV = "CONTEXTOS_TOKENIZER"
"""Environment variable naming the served model's folder (or ``tokenizer.json``) for non-OpenAI models."""
ESTIMATE_MARGIN = 0.5
"""How much an estimate adds to o200k's count (a fraction) for a model whose tokenizer is unknown;
``benchmarks/assembly.py``'s last part measures how often that still undercounts."""
TEST_MODELS = ("offline/", "scripted")
"""contextos's own doubles: they count prompt words, and o200k is their documented tokenizer."""
_OPENAI_PROVIDERS = ("openai", "azure", "text-completion-openai")


class EstimatedCounter(TiktokenCounter):
    """A count for a model whose tokenizer is unknown: o200k's count times ``1 + margin``, rounded up.

    Flagged as an estimate (``estimated``), so every ``ContextUsage`` it produces says so.
    """

    estimated = True

    def __init__(self, margin: float = ESTIMATE_MARGIN, *, encoding: str = "o200k_base") -> None:
        super().__init__(encoding=encoding)
        self.margin = margin
        self.counted_with = f"estimate:{encoding}+{round(margin * 100)}%"

    def count(self, text: str) -> int:
        return math.ceil(super().count(text) * (1 + self.margin))


def openai_encoding(model: str | None) -> str | None:
    """The tiktoken encoding of an OpenAI model string, or None when it is not one."""
    if not model:
        return None
    provider, _, name = model.rpartition("/")
    if provider and provider.split("/")[0] not in _OPENAI_PROVIDERS:
        return None
    name = name.lower()
    return next((encoding for prefix, encoding in _MODEL_PREFIXES if name.startswith(prefix)), None)


def local_tokenizer(model: str | None, env: Mapping[str, str] | None = None) -> Path | None:
    """A local folder holding the tokenizer of ``model``: the model string itself, or its hub cache entry."""
    if not model:
        return None
    name = model.split("/", 1)[1] if model.startswith("hosted_vllm/") else model
    folder = Path(name).expanduser()
    if (folder / "tokenizer.json").is_file():
        return folder
    if name.count("/") != 1:
        return None
    env = os.environ if env is None else env
    hub = Path(
        env.get("HF_HUB_CACHE")
        or Path(env.get("HF_HOME") or Path.home() / ".cache" / "huggingface") / "hub"
    )
    snapshots = hub / f"models--{name.replace('/', '--')}" / "snapshots"
    found = (
        sorted(snapshots.glob("*/tokenizer.json"), key=lambda p: p.stat().st_mtime)
        if snapshots.is_dir()
        else []
    )
    return found[-1].parent if found else None


def counter_for_model(
    model: str | None,
    *,
    api_base: str | None = None,
    tokenizer: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> TokenCounter:
    """The ``TokenCounter`` that counts ``model``'s requests (see the module docstring for the order).

    ```python
    >>> counter_for_model("gpt-4-turbo").counted_with
    'tiktoken:cl100k_base'
    >>> counter_for_model("gpt-4o").count("hello world")
    2

    ```
    A served open model: ``counter_for_model("hosted_vllm/qwen", api_base=url, tokenizer="/models/qwen")``.
    Raises ``TokenizerError`` when a named tokenizer cannot be read or has no usable chat template.
    """
    from contextos.context.template_counter import ChatTemplateCounter

    env = os.environ if env is None else env
    local: Any = None
    if tokenizer is not None:
        local = ChatTemplateCounter(tokenizer)
    elif (encoding := openai_encoding(model)) is not None:
        return TiktokenCounter(encoding=encoding)
    else:
        path = env.get(TOKENIZER_ENV) or local_tokenizer(model, env)
        if path:
            local = ChatTemplateCounter(path)
        elif model and model.startswith(TEST_MODELS):
            return TiktokenCounter(encoding="o200k_base")
    server = (
        VllmTokenize(api_base, model)
        if model and api_base and model.startswith("hosted_vllm/")
        else None
    )
    if local is None:
        local = EstimatedCounter()
        _warn_estimate(model or "", server is not None)
    return ServerCheckedCounter(local, server) if server is not None else local


def counter_for_client(client: ChatModel, *, tokenizer: str | Path | None = None) -> TokenCounter:
    """``counter_for_model`` for any ``ChatModel``: its model, and a ``ModelClient``'s api_base."""
    from contextos.llm.client import ModelClient

    api_base = client.endpoints[0].api_base if isinstance(client, ModelClient) else None
    return counter_for_model(client.model, api_base=api_base, tokenizer=tokenizer)


@lru_cache(maxsize=256)
def _warn_estimate(model: str, checked: bool) -> None:
    # Once per model name (lru_cache), not once per component that counts.
    what = f"model {model!r}" if model else "no model given"
    then = " The vLLM server's /tokenize checks each step's final request." if checked else ""
    warnings.warn(
        f"{what}: no tokenizer known, so token counts are an estimate (o200k_base + {round(ESTIMATE_MARGIN * 100)}%)."
        f"{then} For exact counts pass tokenizer= (the model's folder or tokenizer.json) or set {TOKENIZER_ENV}; "
        "see docs/tokens.md.",
        TokenizerWarning,
        stacklevel=3,
    )
