"""bm25s, as its README shows it: ``bm25s.tokenize`` (English stopwords) and ``BM25().index``, then
``retrieve`` one tokenized query at a time."""

from __future__ import annotations

from typing import Any

import bm25s
from peer_common import retrieve_task, serve


def index(docs: list[dict[str, str]]) -> tuple[bm25s.BM25, list[str]]:
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize([d["text"] for d in docs], stopwords="en", show_progress=False),
        show_progress=False,
    )
    return retriever, [d["id"] for d in docs]


def search(built: Any, query: str, k: int) -> list[str]:
    retriever, ids = built
    found, _ = retriever.retrieve(
        bm25s.tokenize([query], stopwords="en", show_progress=False),
        k=min(k, len(ids)),
        show_progress=False,
    )
    return [ids[i] for i in found[0]]


if __name__ == "__main__":
    serve(f"bm25s {bm25s.__version__}", {"retrieve": retrieve_task(index, search)})
