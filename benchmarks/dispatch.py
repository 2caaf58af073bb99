"""Model dispatch speed: ModelClient's per-call overhead over a raw HTTP call, and throughput under concurrency.

Both clients call the same local FakeModelServer, run in its own process so that the server does
not share the client's interpreter lock. The difference of the per-call latencies is what
ModelClient (litellm, retries, parsing, attempt records) adds to each call.

    python benchmarks/dispatch.py [--calls 300] [--concurrency 1 16 128] [--rounds 3]
    python benchmarks/dispatch.py --profile [--calls 300]   # ModelClient's own time per call, under cProfile
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = """
import sys, time
from contextos.testing import FakeModelServer
with FakeModelServer() as server:
    print(server.api_base, flush=True)
    sys.stdin.read()
"""
MESSAGES = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "What is the capital of France?"},
]


def start_server() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    return process, process.stdout.readline().strip()


async def sequential_latency(clients: dict, calls: int) -> dict[str, list[float]]:
    """Per-call latency of each client, interleaved call by call so that load changes hit all alike."""
    for call in clients.values():
        for _ in range(10):  # warm up connections and first-call costs
            await call()
    latencies: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(calls):
        for name, call in clients.items():
            t0 = time.perf_counter()
            await call()
            latencies[name].append(time.perf_counter() - t0)
    return latencies


async def interleaved_throughput(
    clients: dict, calls: int, concurrency: int, rounds: int
) -> list[float]:
    """Median calls/s of each client over ``rounds``, the clients taking turns in each round."""
    runs: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(rounds):
        for name, call in clients.items():
            runs[name].append(await throughput(call, calls, concurrency))
    return [statistics.median(values) for values in runs.values()]


async def throughput(call, calls: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await call()

    await asyncio.gather(*(one() for _ in range(min(concurrency, calls))))  # warm up
    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(calls)))
    return calls / (time.perf_counter() - t0)


async def main(calls: int, levels: list[int], rounds: int) -> None:
    import httpx

    from contextos.llm import ModelClient, RetryPolicy

    process, api_base = start_server()
    try:
        http = httpx.AsyncClient(
            base_url=api_base, timeout=30, limits=httpx.Limits(max_connections=max(levels))
        )
        body = {"model": "fake-model", "messages": MESSAGES}

        async def raw() -> str | None:
            response = await http.post("/chat/completions", json=body)
            response.raise_for_status()
            return response.json()["choices"][0]["message"]["content"]

        client = ModelClient(
            "hosted_vllm/fake-model",
            api_base=api_base,
            timeout=30,
            retry=RetryPolicy(max_attempts=1),
        )

        async def dispatched() -> str | None:
            return (await client.acomplete(MESSAGES)).content

        from contextos.llm._runtime import load_litellm

        litellm = load_litellm()

        async def bare_litellm() -> str | None:
            response = await litellm.acompletion(
                model="hosted_vllm/fake-model", api_base=api_base, messages=MESSAGES, timeout=30
            )
            return response.choices[0].message.content

        clients = {"raw httpx": raw, "litellm.acompletion": bare_litellm, "ModelClient": dispatched}
        latency = await sequential_latency(clients, calls)
        rows = [
            (level, await interleaved_throughput(clients, max(calls, 2 * level), level, rounds))
            for level in levels
        ]
        await http.aclose()
    finally:
        process.stdin.close()
        process.wait(timeout=10)

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.2f} ms (p90 {statistics.quantiles(values, n=10)[-1] * 1000:.2f})"

    print(
        f"sequential, {calls} calls each\n\n| client | latency per call, median (p90) |\n|---|---|"
    )
    for name, values in latency.items():
        print(f"| {name} | {ms(values)} |")
    overhead = statistics.median(latency["ModelClient"]) - statistics.median(latency["raw httpx"])
    own = statistics.median(latency["ModelClient"]) - statistics.median(
        latency["litellm.acompletion"]
    )
    print(
        f"\nModelClient over raw httpx: {overhead * 1000:.2f} ms per call (median), of which "
        f"{own * 1000:.2f} ms over a bare litellm.acompletion"
    )
    print(
        f"\nthroughput, calls/s: median of {rounds} rounds, the clients taking turns in each "
        f"(max({calls}, 2 x concurrency) calls per run)\n"
    )
    print("| concurrency | " + " | ".join(clients) + " |\n|---|" + "---|" * len(clients))
    for level, values in rows:
        print(f"| {level} | " + " | ".join(f"{v:.0f}" for v in values) + " |")


async def profile(calls: int) -> None:
    """ModelClient's own CPU time per call: its ``acomplete`` minus the ``litellm.acompletion`` inside it."""
    import cProfile
    import pstats

    from contextos.llm import ModelClient, RetryPolicy

    process, api_base = start_server()
    try:
        client = ModelClient(
            "hosted_vllm/fake-model",
            api_base=api_base,
            timeout=30,
            retry=RetryPolicy(max_attempts=1),
        )
        for _ in range(10):
            await client.acomplete(MESSAGES)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(calls):
            await client.acomplete(MESSAGES)
        profiler.disable()
    finally:
        process.stdin.close()
        process.wait(timeout=10)
    stats = pstats.Stats(
        profiler
    ).stats  # (file, line, name) -> (calls, primitive calls, tottime, cumtime, callers)

    def cumulative(path_part: str, name: str) -> float:
        return sum(
            v[3]
            for (file, _, function), v in stats.items()
            if path_part in file and function == name
        )

    total = cumulative("contextos/llm/client.py", "acomplete")
    # ``call`` is the closure in acomplete that awaits litellm's acompletion (with litellm's wrappers).
    inner = cumulative("contextos/llm/client.py", "call")
    print(
        f"{calls} sequential calls under cProfile: ModelClient.acomplete {total / calls * 1000:.2f} ms per call, "
        f"litellm.acompletion inside it {inner / calls * 1000:.2f} ms, ModelClient's own {(total - inner) / calls * 1000:.2f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=300, help="calls per measurement")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 128])
    parser.add_argument(
        "--rounds", type=int, default=3, help="throughput runs per client and level, interleaved"
    )
    parser.add_argument(
        "--profile", action="store_true", help="measure ModelClient's own time per call instead"
    )
    args = parser.parse_args()
    asyncio.run(
        profile(args.calls) if args.profile else main(args.calls, args.concurrency, args.rounds)
    )
