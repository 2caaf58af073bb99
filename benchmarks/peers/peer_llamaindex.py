"""LlamaIndex: ``ChatMemoryBuffer`` (llama-index-core), as its docs show it: a buffer with a
``token_limit`` and a tokenizer (tiktoken's o200k_base here, the judge's), fed with ``put`` and read
with ``get``. Stateful: the warm run keeps one buffer and puts each new message into it."""

from __future__ import annotations

from typing import Any

import tiktoken
from llama_index.core import __version__
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.memory import ChatMemoryBuffer
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


if __name__ == "__main__":
    serve(f"llama-index-core {__version__}", {"fit": fit_task})
