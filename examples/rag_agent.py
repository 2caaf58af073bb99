"""A question-answering agent over documents (retrieval-augmented generation).

Documents are stored in a LanceDB vector store and proposed to the orchestrator as a ``documents``
source; the budget decides which passages go in, and each answer says which passages were kept.
(Passages that do not fit are compressed first: the agent's default compressors, docs/compression.md.)

    python examples/rag_agent.py ["your question"]
"""

from __future__ import annotations

import sys
import tempfile

from _setup import model_client

from contextos import Budget, Section
from contextos.agents import Agent
from contextos.memory import MemoryRecord, MemorySource, VectorMemory

PASSAGES = {
    "lance": "LanceDB is an embedded vector database: it stores data in the Lance columnar format in a local folder "
    "or on object storage, and supports vector search, full-text search and hybrid search.",
    "vllm": "vLLM is an inference engine for large language models. Its automatic prefix caching reuses the KV cache "
    "of a prompt prefix shared with an earlier request, in whole blocks, which makes repeated prefixes cheap.",
    "otel": "OpenTelemetry defines GenAI semantic conventions: spans such as invoke_agent, chat and execute_tool, "
    "with attributes for the model, token usage and tool calls.",
    "tiktoken": "tiktoken is a fast byte-pair-encoding tokenizer; cl100k_base and o200k_base are its common encodings.",
    "budget": "A context budget is the number of tokens a request may use: the model's context window minus the "
    "tokens reserved for its answer.",
}


def main() -> None:
    question = (
        sys.argv[1] if len(sys.argv) > 1 else "Why does a stable prompt prefix make vLLM faster?"
    )
    with tempfile.TemporaryDirectory() as folder:
        store = VectorMemory(folder, table="documents", dedup_threshold=None)
        store.add_many(
            [MemoryRecord(id=key, kind="document", content=text) for key, text in PASSAGES.items()]
        )
        # All five passages are candidates; the documents section's cap (120 tokens) does not hold them all,
        # so the printout shows what the budget kept, shortened or dropped, and why.
        documents = MemorySource(
            store,
            k=5,
            name="documents",
            min_similarity=0.0,  # every passage competes
            format=lambda hit: f"[{hit.record.id}] {hit.record.content}",
        )
        agent = Agent(
            model_client(),
            name="rag",
            instructions="Answer the question from the documents only, citing their [ids]. Say so if they do not answer it.",
            sources=[documents],
            budget=Budget(
                context_window=2048, reserve_output=256, sections={"documents": Section(cap=120)}
            ),
        )
        result = agent.run(question)
    step = result.steps[0]
    for d in step.context.decisions:
        if d.source == "documents":
            print(f"{d.status.value:>9}  {d.id}  ({d.tokens_before} tokens; {d.reason})")
    print(f"answer: {result.answer}")


if __name__ == "__main__":
    main()
