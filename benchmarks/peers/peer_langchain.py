"""LangChain: ``trim_messages`` with a tiktoken token counter, as LangChain's docs show it
(how-to "trim messages": strategy "last", keep the system message, start on a human message, end on
a human or tool message; the counter is the docs' ``tiktoken_counter``, which counts each message's
role, content and name). Stateless: every call trims the whole history."""

from __future__ import annotations

from typing import Any

import tiktoken
from langchain_core import __version__
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    trim_messages,
)
from langchain_core.messages.utils import convert_to_messages, convert_to_openai_messages
from peer_common import serve, timed

ENCODING = tiktoken.get_encoding("o200k_base")


def str_token_counter(text: str) -> int:
    return len(ENCODING.encode(text))


def tiktoken_counter(messages: list[BaseMessage]) -> int:
    num_tokens = 3  # every reply is primed with <|start|>assistant<|message|>
    for msg in messages:
        role = {
            HumanMessage: "user",
            AIMessage: "assistant",
            ToolMessage: "tool",
            SystemMessage: "system",
        }[type(msg)]
        num_tokens += (
            3
            + str_token_counter(role)
            + str_token_counter(msg.content if isinstance(msg.content, str) else str(msg.content))
        )
        if msg.name:
            num_tokens += 1 + str_token_counter(msg.name)
    return num_tokens


def trim(history: list[BaseMessage], budget: int) -> list[BaseMessage]:
    return trim_messages(
        history,
        max_tokens=budget,
        strategy="last",
        token_counter=tiktoken_counter,
        include_system=True,
        start_on="human",
        end_on=("human", "tool"),
        allow_partial=False,
    )


def fit_task(request: dict[str, Any]) -> dict[str, Any]:
    conversation, budget, points = request["conversation"], request["budget"], request["points"]
    history = convert_to_messages(conversation)  # an app keeps LangChain messages: not timed
    cold = [timed(lambda: trim(history, budget))[0] for _ in range(request["repeats"])]
    fitted = [convert_to_openai_messages(trim(history[: p + 1], budget)) for p in points]
    return {"cold_ms": cold, "warm_ms": None, "fitted": fitted}


if __name__ == "__main__":
    serve(f"langchain-core {__version__}", {"fit": fit_task})
