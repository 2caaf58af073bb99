"""Install each peer of benchmarks/peers/run.py into a venv of its own: .venv-peers/<peer>.

    python benchmarks/peers/install.py            # every peer
    python benchmarks/peers/install.py langchain  # one

The versions are pinned here and printed; contextos's own venv never imports a peer (run.py calls
each peer's venv as a subprocess). A peer whose venv already has its pins is left as it is.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENVS = ROOT / ".venv-peers"

# contextos's numpy MiniLM, run inside a peer's venv by peer_embedder.py (the versions of contextos's venv)
EMBEDDER = ["numpy==2.4.6", "tokenizers==0.23.3", "safetensors==0.8.0"]

PEERS: dict[str, list[str]] = {
    # trim_messages with a tiktoken token counter
    "langchain": ["langchain-core==1.8.1", "tiktoken==0.14.0"],
    # ChatMemoryBuffer (its default tokenizer is tiktoken's); SentenceEmbeddingOptimizer with
    # contextos's embedder
    "llamaindex": ["llama-index-core==0.14.25", "tiktoken==0.14.0", *EMBEDDER],
    # InMemoryBM25Retriever over an InMemoryDocumentStore
    "haystack": ["haystack-ai==3.4.1"],
    "bm25s": ["bm25s==0.3.16"],
    # InMemoryStore indexed with contextos's embedder, searched by langgraph-bigtool's retrieval function
    "langgraph": ["langgraph==1.2.22", "langgraph-bigtool==0.0.3", *EMBEDDER],
    # Memory with infer=False, its default in-process Qdrant, contextos's embedder through its
    # "langchain" embedder provider (which needs langchain's Embeddings class)
    "mem0": ["mem0ai==2.2.1", "langchain==1.5.0", *EMBEDDER],
    # Agent + Runner with a scripted local Model; the default BatchTraceProcessor over a local exporter
    "openai_agents": ["openai-agents==0.24.0"],
}


def python_of(peer: str) -> Path:
    """The interpreter of a peer's venv (it may not exist)."""
    return VENVS / peer / "bin" / "python"


def installed(peer: str) -> bool:
    """Whether the peer's venv exists with its pinned versions."""
    python = python_of(peer)
    if not python.exists():
        return False
    have = (
        subprocess.run([str(python), "-m", "pip", "freeze"], capture_output=True, text=True)
        .stdout.lower()
        .split()
    )
    return all(pin.lower() in have for pin in PEERS[peer])


def install(peer: str) -> None:
    target = VENVS / peer
    if installed(peer):
        print(f"{peer}: installed ({', '.join(PEERS[peer])})")
        return
    if not python_of(peer).exists():
        venv.create(target, with_pip=True)
    print(f"{peer}: installing {', '.join(PEERS[peer])} into {target}", flush=True)
    subprocess.run([str(python_of(peer)), "-m", "pip", "install", "-q", *PEERS[peer]], check=True)


def main(argv: list[str]) -> int:
    wanted = argv or list(PEERS)
    unknown = [p for p in wanted if p not in PEERS]
    if unknown:
        print(f"unknown peer(s) {unknown}; the peers are {list(PEERS)}", file=sys.stderr)
        return 2
    for peer in wanted:
        install(peer)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
