"""The langgraph-bigtool way, as its README shows it: each tool's description put into a LangGraph
``InMemoryStore`` under the ("tools",) namespace, the store indexed with an embedding function on
the "description" field, and tools found by langgraph-bigtool's own default retrieval function
(``get_default_retrieval_tool``: ``store.search`` with the raw request). The embedding function is
contextos's MiniLM (peer_embedder.py), so only the method differs from contextos's."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from langgraph.store.memory import InMemoryStore
from langgraph_bigtool.tools import get_default_retrieval_tool
from peer_common import retrieve_task, serve
from peer_embedder import embed_function

NAMESPACE = ("tools",)


def index(docs: list[dict[str, str]]) -> InMemoryStore:
    store = InMemoryStore(index={"embed": embed_function(), "dims": 384, "fields": ["description"]})
    for d in docs:
        store.put(NAMESPACE, d["id"], {"description": d["text"]})
    return store


def search(store: Any, query: str, k: int) -> list[str]:
    retrieve_tools, _ = get_default_retrieval_tool(NAMESPACE, limit=k)
    return retrieve_tools(query, store=store)


if __name__ == "__main__":
    serve(
        f"langgraph {version('langgraph')}, langgraph-bigtool {version('langgraph-bigtool')}",
        {"retrieve": retrieve_task(index, search)},
    )
