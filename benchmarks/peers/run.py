"""contextos side by side with its peers: the same work, one run, a table of ratios per row.

    python benchmarks/peers/run.py          # every row, full size; installs the peers it lacks first
                                            # (each in a venv of its own, .venv-peers/<peer>, install.py)
    python benchmarks/peers/run.py --rows memory trace   # some rows
    python benchmarks/peers/run.py --quick  # a small version (what the test runs)

Rows (``--rows``):
- ``fit``: fitting a long conversation (500 and 5,000 messages) into a prompt budget (see
  workload.py): contextos (an Orchestrator with the instructions and a ``Conversation``, its public
  API) against LangChain's ``trim_messages`` and LlamaIndex's ``ChatMemoryBuffer``. Time per call:
  cold (objects built for the whole conversation) and warm (one object fed the conversation turn by
  turn, for peers that keep state); faults counted over every fitted request.
- ``retrieve``: tool retrieval over the toolret dev catalog: ``ToolCatalog.search`` against the
  langgraph-bigtool way (a LangGraph store with contextos's embedder), Haystack's BM25 and bm25s.
- ``compress``: compress_row.py (contextos's default compressor against LlamaIndex's
  ``SentenceEmbeddingOptimizer``, NQ dev).
- ``memory``: memory_row.py (``VectorMemory`` against mem0 with inference off, LoCoMo dev).
- ``trace``: trace_row.py (the cost of tracing an agent step, against the OpenAI Agents SDK).
Ratios are peer time / contextos time (above 1: contextos is faster).

Each peer runs in its own venv as a subprocess speaking JSON (peer_common.py): contextos's venv
never imports a peer. A peer whose venv is missing gets a row saying so.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# One BLAS thread for contextos's MiniLM here and in the peers' venvs (peer_embedder.py): on a small
# shared machine, BLAS threads spinning against other processes slow a query down manyfold.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import compress_row  # noqa: E402
import install  # noqa: E402
import memory_row  # noqa: E402
import row_table as tables  # noqa: E402
import trace_row  # noqa: E402
import workload  # noqa: E402

from contextos import Budget, Conversation, InstructionsSource, Orchestrator, Step, TiktokenCounter  # noqa: E402
from contextos.context.tokens import ENCODINGS_DIR, load_encoding  # noqa: E402

FAULTS = ("over_budget", "orphaned_tool", "broken_alternation", "newest_lost")
FIT_PEERS = ("langchain", "llamaindex")
RETRIEVE_PEERS = ("langgraph", "haystack", "bm25s")
TIKTOKEN_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


# ------------------------------------------------------------------------ contextos's side
def contextos_fit(request: dict[str, Any]) -> dict[str, Any]:
    """The ``fit`` task through contextos's public API, answering as a peer would."""
    conversation, budget, points = request["conversation"], request["budget"], request["points"]
    system, turns = conversation[0]["content"], conversation[1:]

    def orchestrator(chat: Conversation) -> Orchestrator:
        return Orchestrator(
            [InstructionsSource(system), chat],
            Budget(context_window=budget),
            counter=TiktokenCounter(encoding="o200k_base"),
        )

    def cold_call() -> list[dict[str, Any]]:
        chat = Conversation(turns)
        return orchestrator(chat).build_sync(Step(input=turns[-1]["content"])).messages

    load_encoding("o200k_base")  # once per process, like the peers' tiktoken at import
    cold = []
    for _ in range(request["repeats"]):
        start = time.perf_counter()
        cold_call()
        cold.append((time.perf_counter() - start) * 1000)
    chat = Conversation(turns[: points[0] - 1])
    warm_orchestrator = orchestrator(chat)
    warm, fitted, done = [], [], points[0] - 1
    for p in points:  # p indexes the conversation; turns are shifted by the system message
        chat.add_nowait(*turns[done:p])
        done = p
        start = time.perf_counter()
        messages = warm_orchestrator.build_sync(Step(input=turns[p - 1]["content"])).messages
        warm.append((time.perf_counter() - start) * 1000)
        fitted.append(messages)
    from contextos.version import __version__

    return {
        "version": f"contextos {__version__}",
        "cold_ms": cold,
        "warm_ms": warm,
        "fitted": fitted,
    }


def toolret(quick: bool) -> tuple[list[Any], list[dict[str, Any]]]:
    """The toolret dev catalog and queries; quick: 10 queries over their own tools and the
    siblings listed next to them (about 100 tools)."""
    from contextos.tools import load_tools

    tools = load_tools(workload.DATA / "tools.jsonl")
    queries = [json.loads(line) for line in (workload.DATA / "queries.jsonl").open()]
    if quick:
        queries = queries[:10]
        wanted = {t for q in queries for t in q["relevant"]}
        position = {t.id: n for n, t in enumerate(tools)}
        near = {
            tools[i].id
            for t in wanted
            for i in range(max(0, position[t] - 4), min(len(tools), position[t] + 5))
        }
        tools = [t for t in tools if t.id in near]
    return tools, queries


def contextos_retrieve(tools: list[Any], request: dict[str, Any]) -> dict[str, Any]:
    """The ``retrieve`` task through ``ToolCatalog`` (default embedder, hybrid search) in a catalog
    kept in the temp folder between runs (so only the first run embeds the tools)."""
    from contextos.embed import default_embedder
    from contextos.tools import ToolCatalog
    from contextos.version import __version__

    embedder = default_embedder()
    texts = "\n".join([embedder.name, *(d["id"] + d["text"] for d in request["docs"])])
    key = hashlib.sha256(texts.encode()).hexdigest()[:16]
    catalog = ToolCatalog.open(
        Path(tempfile.gettempdir()) / f"contextos-peers-catalog-{key}", embedder=embedder
    )
    if len(catalog) != len(tools):
        catalog.add(tools)
    catalog.search("warm up", k=1)
    ranked, latency = {}, []
    for q in request["queries"]:
        start = time.perf_counter()
        ranked[q["id"]] = [h.tool.id for h in catalog.search(q["query"], k=request["k"])]
        latency.append((time.perf_counter() - start) * 1000)
    return {"version": f"contextos {__version__}", "latency_ms": latency, "ranked": ranked}


# ------------------------------------------------------------------------ the peers' side
def tiktoken_cache() -> str:
    """A tiktoken cache holding the o200k_base file contextos ships, so the peers' tiktoken finds
    it offline (tiktoken names cached files by the sha1 of their URL)."""
    folder = Path(tempfile.gettempdir()) / "contextos-peers-tiktoken"
    folder.mkdir(exist_ok=True)
    target = folder / hashlib.sha1(TIKTOKEN_URL.encode()).hexdigest()
    if not target.exists():
        target.write_bytes((ENCODINGS_DIR / "o200k_base.tiktoken").read_bytes())
    return str(folder)


def call_peer(peer: str, request: dict[str, Any], timeout: float = 600) -> dict[str, Any]:
    """Run one request in the peer's venv; {"error": why} when it cannot (not installed, failed,
    or no answer within ``timeout`` seconds)."""
    python = install.python_of(peer)
    if not install.installed(peer):
        return {"error": f"not installed (python benchmarks/peers/install.py {peer})"}
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": tiktoken_cache(), "PYTHONPATH": str(HERE)}
    try:
        done = subprocess.run(
            [str(python), str(HERE / f"peer_{peer}.py")],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"no answer within {timeout:.0f} s (stopped)"}
    if done.returncode != 0:
        return {
            "error": f"failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}"
        }
    return json.loads(done.stdout)


# ------------------------------------------------------------------------ the run
def fit_request(n_messages: int, budget: int, warm_calls: int, repeats: int) -> dict[str, Any]:
    conversation = workload.conversation(n_messages)
    users = [i for i, m in enumerate(conversation) if m["role"] == "user"]
    return {
        "task": "fit",
        "conversation": conversation,
        "budget": budget,
        "points": users[-warm_calls:],
        "repeats": repeats,
    }


def score_fit(request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """Medians and fault counts of one answer."""
    if "error" in answer:
        return answer
    encoding = load_encoding("o200k_base")
    faults = dict.fromkeys(FAULTS, 0)
    excess = max(
        workload.request_tokens(encoding, fitted) - request["budget"] for fitted in answer["fitted"]
    )
    for p, fitted in zip(request["points"], answer["fitted"]):
        for fault, bad in workload.judge(
            encoding, fitted, request["conversation"][p], request["budget"]
        ).items():
            faults[fault] += bad
    return {
        "version": answer["version"],
        "cold_ms": statistics.median(answer["cold_ms"]),
        "warm_ms": statistics.median(answer["warm_ms"]) if answer.get("warm_ms") else None,
        "requests": len(answer["fitted"]),
        **faults,
        "worst_excess": max(excess, 0),
    }


def fit_rows(
    sizes: list[int],
    budget: int,
    warm_calls: int,
    repeats: int,
    peers: tuple[str, ...] = FIT_PEERS,
    timeout: float = 600,
) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        request = fit_request(n, budget, warm_calls, repeats)
        mine = score_fit(request, contextos_fit(request))
        rows.append({"task": f"fit {n} msgs", "system": "contextos", **mine})
        for peer in peers:
            theirs = score_fit(request, call_peer(peer, request, timeout))
            if "error" not in theirs:
                theirs["cold_ratio"] = theirs["cold_ms"] / mine["cold_ms"]
                if theirs["warm_ms"] is not None:
                    theirs["warm_ratio"] = theirs["warm_ms"] / mine["warm_ms"]
            rows.append({"task": f"fit {n} msgs", "system": peer, **theirs})
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


def score_retrieve(queries: list[dict[str, Any]], answer: dict[str, Any]) -> dict[str, Any]:
    """Recall@5 and NDCG@10 by the data set's own scorer, and latency percentiles."""
    if "error" in answer:
        return answer
    spec = importlib.util.spec_from_file_location(
        "score_toolret", workload.DATA / "score_toolret.py"
    )
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)
    scores = scorer.mean(
        [scorer.score_one(q["relevant"], answer["ranked"][q["id"]]) for q in queries]
    )
    latency = sorted(answer["latency_ms"])
    return {
        "version": answer["version"],
        "recall@5": scores["Recall@5"],
        "ndcg@10": scores["NDCG@10"],
        "p50_ms": statistics.median(latency),
        "p95_ms": latency[min(len(latency) - 1, round(0.95 * (len(latency) - 1)))],
    }


def retrieve_rows(quick: bool, peers: tuple[str, ...] = RETRIEVE_PEERS) -> list[dict[str, Any]]:
    from contextos.tools.catalog import index_text

    tools, queries = toolret(quick)
    request = {
        "task": "retrieve",
        "k": 10,
        "docs": [{"id": t.id, "text": index_text(t)} for t in tools],
        "queries": [{"id": q["id"], "query": q["query"]} for q in queries],
    }
    task = f"tools {len(tools)}, {len(queries)} queries"
    mine = score_retrieve(queries, contextos_retrieve(tools, request))
    rows = [{"task": task, "system": "contextos", **mine}]
    for peer in peers:
        theirs = score_retrieve(queries, call_peer(peer, request))
        if "error" not in theirs:
            theirs["p50_ratio"] = theirs["p50_ms"] / mine["p50_ms"]
        rows.append({"task": task, "system": peer, **theirs})
    return rows


FIT_COLUMNS: tables.Columns = [
    ("cold ms", lambda r: tables.ms(r["cold_ms"])),
    ("ratio", lambda r: tables.ratio(r, "cold_ratio")),
    ("warm ms", lambda r: tables.ms(r["warm_ms"])),
    ("ratio", lambda r: tables.ratio(r, "warm_ratio")),
    ("requests", lambda r: str(r["requests"])),
    *[(fault.replace("_", " "), lambda r, fault=fault: str(r[fault])) for fault in FAULTS],
    ("most tokens over", lambda r: str(r["worst_excess"])),
]
RETRIEVE_COLUMNS: tables.Columns = [
    ("recall@5", lambda r: f"{r['recall@5']:.3f}"),
    ("NDCG@10", lambda r: f"{r['ndcg@10']:.3f}"),
    ("p50 ms", lambda r: tables.ms(r["p50_ms"])),
    ("ratio", lambda r: tables.ratio(r, "p50_ratio")),
    ("p95 ms", lambda r: tables.ms(r["p95_ms"])),
]
COLUMNS = {
    "fit": FIT_COLUMNS,
    "retrieve": RETRIEVE_COLUMNS,
    "compress": compress_row.COLUMNS,
    "memory": memory_row.COLUMNS,
    "trace": trace_row.COLUMNS,
}
ROWS = tuple(COLUMNS)


def table(rows: list[dict[str, Any]], columns: tables.Columns = FIT_COLUMNS) -> str:
    return tables.table(rows, columns)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a small version: 60 messages, 3 calls, 1,500 tokens"
    )
    parser.add_argument(
        "--budget", type=int, help="prompt budget in tokens (default 4000; 1500 with --quick)"
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="do not install missing peers (their rows say so); --quick never installs",
    )
    parser.add_argument(
        "--peer-timeout",
        type=float,
        default=240,
        help="seconds a peer gets for one size (default 240)",
    )
    parser.add_argument(
        "--rows",
        nargs="+",
        choices=ROWS,
        default=list(ROWS),
        help="which rows to run (default: all)",
    )
    parser.add_argument(
        "--questions",
        type=int,
        help="NQ dev questions for the compression row (default 100; 1 with --quick)",
    )
    args = parser.parse_args(argv)
    if not (args.quick or args.no_install):
        for peer in install.PEERS:
            install.install(peer)  # a no-op for a peer installed at its pins
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    for peer, pins in install.PEERS.items():
        print(
            f"{peer}: {', '.join(pins)}" + ("" if install.installed(peer) else " (not installed)")
        )
    slow_peer = lambda peer, request: call_peer(peer, request, timeout=3600)  # noqa: E731
    done: dict[str, list[dict[str, Any]]] = {}
    for name in args.rows:
        if name == "fit" and args.quick:
            done[name] = fit_rows([60], args.budget or 1500, warm_calls=3, repeats=2)
        elif name == "fit":
            done[name] = fit_rows(
                [500, 5000],
                args.budget or 4000,
                warm_calls=10,
                repeats=3,
                timeout=args.peer_timeout,
            )
        elif name == "retrieve":
            done[name] = retrieve_rows(args.quick)
        elif name == "compress":
            done[name] = compress_row.rows(args.questions or (1 if args.quick else 100), slow_peer)
        elif name == "memory":
            done[name] = memory_row.rows(args.quick, slow_peer)
        elif name == "trace":
            done[name] = trace_row.rows(3 if args.quick else 30, slow_peer)
        print(table(done[name], COLUMNS[name]), end="\n\n", flush=True)
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    if args.json:
        args.json.write_text(json.dumps(done, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
