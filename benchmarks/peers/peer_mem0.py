"""mem0, as its docs show it for storing and searching without an LLM: ``Memory.from_config`` with
its default vector store (Qdrant, in-process, in a temporary folder), each dialogue turn written by
``add([{"role": "user", "content": ...}], user_id=conversation, metadata=..., infer=False)`` (stored
as it is: no fact extraction, no LLM call) and each question searched by ``search(question,
filters={"user_id": conversation}, top_k=k)``. The embedder is contextos's MiniLM (peer_embedder.py)
as a LangChain ``Embeddings``, through mem0's "langchain" embedder provider. The LLM section names
OpenAI with a placeholder key because mem0 builds an LLM client at start-up; with ``infer=False``
it is never called (the run has no network)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from importlib.metadata import version
from typing import Any

os.environ.setdefault("MEM0_TELEMETRY", "False")

from langchain_core.embeddings import Embeddings
from mem0 import Memory
from peer_common import serve, timed
from peer_embedder import embed_function


class MiniLM(Embeddings):
    """contextos's MiniLM as a LangChain embedding model."""

    def __init__(self) -> None:
        self._embed = embed_function()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text])[0]


def memory(folder: str) -> Memory:
    return Memory.from_config(
        {
            "embedder": {"provider": "langchain", "config": {"model": MiniLM()}},
            "vector_store": {
                "provider": "qdrant",
                "config": {
                    "collection_name": "locomo",
                    "path": os.path.join(folder, "qdrant"),
                    "embedding_model_dims": 384,
                },
            },
            "llm": {"provider": "openai", "config": {"api_key": "not-used-infer-is-off"}},
            "history_db_path": os.path.join(folder, "history.db"),
        }
    )


def memory_task(request: dict[str, Any]) -> dict[str, Any]:
    """Write every turn, one ``add`` each, then search every question, each timed."""
    with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stdout(sys.stderr):
        store = memory(folder)
        write_ms = []
        for turn in request["turns"]:
            ms, _ = timed(
                lambda: store.add(
                    [{"role": "user", "content": turn["content"]}],  # noqa: B023
                    user_id=turn["conv_id"],  # noqa: B023
                    metadata={"turn_id": turn["id"]},  # noqa: B023
                    infer=False,
                )
            )
            write_ms.append(ms)
        search_ms, ranked = [], {}
        for q in request["questions"]:
            ms, found = timed(
                lambda: store.search(
                    q["question"],  # noqa: B023
                    filters={"user_id": q["conv_id"]},  # noqa: B023
                    top_k=request["k"],
                )
            )
            search_ms.append(ms)
            ranked[q["id"]] = [hit["metadata"]["turn_id"] for hit in found["results"]]
    return {"write_ms": write_ms, "search_ms": search_ms, "ranked": ranked}


if __name__ == "__main__":
    serve(f"mem0ai {version('mem0ai')}", {"memory": memory_task})
