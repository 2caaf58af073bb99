"""LlamaIndex (llama-index-core), as its docs show it.

``fit``: ``ChatMemoryBuffer``, a buffer with a ``token_limit`` and a tokenizer (tiktoken's
o200k_base here, the judge's), fed with ``put`` and read with ``get``. Stateful: the warm run keeps
one buffer and puts each new message into it.

``compress``: ``SentenceEmbeddingOptimizer(percentile_cutoff=ratio)`` as a node postprocessor over
the passages, one ``TextNode`` each, with the question as the query; once with its other settings
at their defaults (NLTK's punkt sentences, one sentence of context either side of each kept one)
and once with ``context_before=context_after=0`` (the kept sentences alone). Its
embedding model is contextos's MiniLM (peer_embedder.py) in a custom ``BaseEmbedding``, the way
LlamaIndex's docs add an embedding model of one's own.
"""

from __future__ import annotations

from typing import Any

import tiktoken
from llama_index.core import __version__
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.postprocessor import SentenceEmbeddingOptimizer
from llama_index.core.schema import NodeWithScore, TextNode
from peer_common import serve, timed

ENCODING = tiktoken.get_encoding("o200k_base")


def to_llama(message: dict[str, Any]) -> ChatMessage:
    extra = {k: message[k] for k in ("tool_calls", "tool_call_id") if message.get(k)}
    return ChatMessage(
        role=message["role"], content=message.get("content"), additional_kwargs=extra
    )


def to_openai(message: ChatMessage) -> dict[str, Any]:
    return {"role": message.role.value, "content": message.content, **message.additional_kwargs}


def buffer(budget: int, history: list[ChatMessage]) -> ChatMemoryBuffer:
    return ChatMemoryBuffer.from_defaults(
        chat_history=history, token_limit=budget, tokenizer_fn=ENCODING.encode
    )


def fit_task(request: dict[str, Any]) -> dict[str, Any]:
    conversation, budget, points = request["conversation"], request["budget"], request["points"]
    history = [to_llama(m) for m in conversation]  # an app keeps LlamaIndex messages: not timed
    cold = [timed(lambda: buffer(budget, history).get())[0] for _ in range(request["repeats"])]
    memory = buffer(budget, history[: points[0]])
    warm, fitted, done = [], [], points[0]
    for p in points:
        for message in history[done : p + 1]:
            memory.put(message)
        done = p + 1
        ms, got = timed(memory.get)
        warm.append(ms)
        fitted.append([to_openai(m) for m in got])
    return {"cold_ms": cold, "warm_ms": warm, "fitted": fitted}


class MiniLM(BaseEmbedding):
    """contextos's MiniLM as a LlamaIndex embedding model."""

    def __init__(self) -> None:
        super().__init__(model_name="all-MiniLM-L6-v2 (contextos, numpy)")
        from peer_embedder import embed_function

        self._embed = embed_function()

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed([query])[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embed([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


def compress_task(request: dict[str, Any]) -> dict[str, Any]:
    """Each question's passages compressed at each ratio, once per setting in the request (keyword
    arguments of the optimizer besides the cutoff): the contexts and the time each took."""
    model = MiniLM()
    runs: dict[str, Any] = {}
    for setting in request["settings"]:
        contexts: dict[str, list[str]] = {}
        took: dict[str, list[float]] = {}
        for ratio in request["ratios"]:
            optimizer = SentenceEmbeddingOptimizer(
                embed_model=model, percentile_cutoff=ratio, **setting["kwargs"]
            )
            for row in request["rows"]:
                nodes = [NodeWithScore(node=TextNode(text=line)) for line in row["lines"]]
                ms, kept = timed(
                    lambda: optimizer.postprocess_nodes(nodes, query_str=row["question"])  # noqa: B023
                )
                contexts.setdefault(str(ratio), []).append(
                    "\n".join(n.node.get_content() for n in kept)
                )
                took.setdefault(str(ratio), []).append(ms)
        runs[setting["name"]] = {"contexts": contexts, "ms": took}
    return {"runs": runs}


if __name__ == "__main__":
    serve(f"llama-index-core {__version__}", {"fit": fit_task, "compress": compress_task})
