"""Assembly overhead per step: gather, select and render, with no model call and no embedding.

    python benchmarks/assembly.py [--repeats 30]

Candidates are real text: ToolBench tool descriptions and schemas from ../shared/data/toolret
(tools, documents and memory items), with a short conversation. "cold" builds a new orchestrator
and token counter each step (every item encoded); "warm" reuses one, as an agent does across steps
(counts cached by content hash).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

from contextos import Budget, ContextItem, Orchestrator, Section, StaticSource, Step, TiktokenCounter
from contextos.context.sources import InputSource, InstructionsSource

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "toolret" / "tools.jsonl"


def candidates(n: int) -> list[StaticSource]:
    rows = [json.loads(line) for line in DATA.open()][: max(n, 10)]
    tools, docs, memory, turns = [], [], [], []
    for i, row in enumerate(rows[:n]):
        kind = i % 10
        if kind == 0:
            schema = {"type": "function", "function": {"name": f"t{i}", "description": row["description"][:500], "parameters": row["parameters"]}}
            tools.append(ContextItem(id=f"tool-{i}", source="tools", content=row["description"][:500], payload=schema, score=(i * 7 % 100) / 100))
        elif kind < 7:
            docs.append(ContextItem(id=f"doc-{i}", source="documents", content=f"{row['name']}: {row['description']}", score=(i * 13 % 100) / 100))
        elif kind < 9:
            memory.append(ContextItem(id=f"mem-{i}", source="memory", content=row["description"], score=(i * 17 % 100) / 100))
        else:
            turns.append(ContextItem(id=f"turn-{i}", source="conversation", role="user" if i % 20 else "assistant", content=row["description"][:300], position=i, score=0.5))
    return [
        InstructionsSource("You are an assistant that calls tools to answer requests. Be precise."),
        StaticSource("tools", tools), StaticSource("documents", docs), StaticSource("memory", memory),
        StaticSource("conversation", turns), InputSource(),
    ]


BUDGET = Budget(context_window=16_384, reserve_output=1_024, sections={"tools": Section(cap=4_000), "memory": Section(floor=500, cap=3_000)})


def measure(n: int, repeats: int) -> tuple[float, float, int]:
    sources = candidates(n)
    step = Step(input="Find me the current weather in Paris and convert 100 EUR to USD.")
    cold = []
    for _ in range(max(3, repeats // 5)):
        start = time.perf_counter()
        orchestrator = Orchestrator(sources, BUDGET, counter=TiktokenCounter(encoding="o200k_base"))
        orchestrator.build_sync(step)
        cold.append(time.perf_counter() - start)
    orchestrator = Orchestrator(sources, BUDGET, counter=TiktokenCounter(encoding="o200k_base"))
    result = orchestrator.build_sync(step)

    async def warm_steps() -> list[float]:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            await orchestrator.build(step)
            times.append(time.perf_counter() - start)
        return times

    warm = asyncio.run(warm_steps())
    return statistics.median(cold) * 1000, statistics.median(warm) * 1000, sum(1 for d in result.decisions if d.status.value != "dropped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    TiktokenCounter(encoding="o200k_base")  # load the encoding once, outside the timings
    print(f"{'candidates':>10} {'cold ms/step':>13} {'warm ms/step':>13} {'kept':>6}")
    for n in (50, 500, 5000):
        cold, warm, kept = measure(n, args.repeats)
        print(f"{n:>10} {cold:>13.2f} {warm:>13.2f} {kept:>6}")


if __name__ == "__main__":
    main()
