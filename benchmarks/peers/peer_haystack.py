"""Haystack, as its docs show it: ``Document``s written to an ``InMemoryDocumentStore`` and an
``InMemoryBM25Retriever`` over it, run once per query."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from haystack import Document
from haystack import __version__ as version
from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
from haystack.document_stores.in_memory import InMemoryDocumentStore
from peer_common import retrieve_task, serve


def index(docs: list[dict[str, str]]) -> InMemoryBM25Retriever:
    store = InMemoryDocumentStore()
    store.write_documents([Document(id=d["id"], content=d["text"]) for d in docs])
    return InMemoryBM25Retriever(document_store=store)


def search(retriever: Any, query: str, k: int) -> list[str]:
    return [d.id for d in retriever.run(query=query, top_k=k)["documents"]]


if __name__ == "__main__":
    serve(f"haystack-ai {version}", {"retrieve": retrieve_task(index, search)})
