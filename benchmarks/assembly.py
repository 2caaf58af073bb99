"""Assembly overhead per step: gather, select and render, with no model call and no embedding.

    python benchmarks/assembly.py [--repeats 30]
    python benchmarks/assembly.py --only-steps N [--candidates 500]   # untimed, for cachegrind

Candidates are real text: ToolBench tool descriptions and schemas from ../shared/data/toolret
(tools, documents and memory items), with a short conversation. The catalog has 2,490 tools; past
that, candidate i blends two of them (row i mod 2,490 and another), so every candidate's text is
distinct. "cold" builds a new orchestrator and token counter each step (every item encoded);
"warm" reuses one, as an agent does across steps (counts cached by content hash) and repeats the
same candidates; "warm, 10% new" replaces a tenth of the candidates with items never seen before
at every step (as when retrieval brings new documents), so their counts, sketches and the pairs
of similar candidates are computed afresh.
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
ROWS = [json.loads(line) for line in DATA.open()]


def row(i: int) -> dict:
    """Catalog row ``i``; past the catalog's end, a blend of two rows (distinct for every i)."""
    if i < len(ROWS):
        return ROWS[i]
    a, b = ROWS[i % len(ROWS)], ROWS[(i // len(ROWS) * 7919 + i * 31) % len(ROWS)]
    return {"name": f"{a['name']} {b['name']}", "description": f"{a['description']} {b['description']}", "parameters": a["parameters"]}


def item(i: int, fresh: int = 0) -> ContextItem:
    """Candidate ``i`` (its kind depends on i mod 10); ``fresh`` > 0 gives it unseen text and id."""
    r = row(i + fresh)
    tag = f"{i}" if not fresh else f"{i}-new{fresh}"
    kind = i % 10
    if kind == 0:
        schema = {"type": "function", "function": {"name": f"t{tag}", "description": r["description"][:500], "parameters": r["parameters"]}}
        return ContextItem(id=f"tool-{tag}", source="tools", content=r["description"][:500], payload=schema, score=(i * 7 % 100) / 100)
    if kind < 7:
        return ContextItem(id=f"doc-{tag}", source="documents", content=f"{r['name']}: {r['description']}", score=(i * 13 % 100) / 100)
    if kind < 9:
        return ContextItem(id=f"mem-{tag}", source="memory", content=r["description"], score=(i * 17 % 100) / 100)
    return ContextItem(id=f"turn-{tag}", source="conversation", role="user" if i % 20 else "assistant",
                       content=r["description"][:300], position=i, score=0.5)


class Churning:
    """The items of one source, a tenth of all candidates replaced by unseen ones at every call."""

    def __init__(self, name: str, items: list[ContextItem], indices: list[int], replace: int, offset: int) -> None:
        self.name, self.items, self.indices, self.replace, self.offset = name, items, indices, replace, offset
        self.calls = 0

    async def candidates(self, step: Step) -> list[ContextItem]:
        self.calls += 1
        if not self.replace:
            return self.items
        fresh = self.offset + self.calls * 1_000_003  # far from every index in use
        return [item(i, fresh) for i in self.indices[: self.replace]] + self.items[self.replace :]


def candidates(n: int, churn: float = 0.0) -> list:
    by_source: dict[str, tuple[list[ContextItem], list[int]]] = {}
    for i in range(n):
        it = item(i)
        items, indices = by_source.setdefault(it.source, ([], []))
        items.append(it)
        indices.append(i)
    sources: list = [InstructionsSource("You are an assistant that calls tools to answer requests. Be precise.")]
    for name in ("tools", "documents", "memory", "conversation"):
        items, indices = by_source.get(name, ([], []))
        replace = round(churn * len(items)) if name != "conversation" else 0
        sources.append(Churning(name, items, indices, replace, len(sources)) if replace else StaticSource(name, items))
    sources.append(InputSource())
    return sources


BUDGET = Budget(context_window=16_384, reserve_output=1_024, sections={"tools": Section(cap=4_000), "memory": Section(floor=500, cap=3_000)})


def measure(n: int, repeats: int) -> tuple[float, float, float, int, int]:
    step = Step(input="Find me the current weather in Paris and convert 100 EUR to USD.")
    cold = []
    for _ in range(max(3, repeats // 5)):
        sources = candidates(n)
        start = time.perf_counter()
        orchestrator = Orchestrator(sources, BUDGET, counter=TiktokenCounter(encoding="o200k_base"))
        orchestrator.build_sync(step)
        cold.append(time.perf_counter() - start)

    async def warm_steps(orchestrator: Orchestrator) -> list[float]:
        await orchestrator.build(step)  # the first step is a cold one
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            await orchestrator.build(step)
            times.append(time.perf_counter() - start)
        return times

    sources = candidates(n)
    orchestrator = Orchestrator(sources, BUDGET, counter=TiktokenCounter(encoding="o200k_base"))
    result = orchestrator.build_sync(step)
    warm = asyncio.run(warm_steps(orchestrator))
    churning = Orchestrator(candidates(n, churn=0.1), BUDGET, counter=TiktokenCounter(encoding="o200k_base"))
    warm_new = asyncio.run(warm_steps(churning))
    offered = len(result.decisions)
    kept = sum(1 for d in result.decisions if d.status.value != "dropped")
    return statistics.median(cold) * 1000, statistics.median(warm) * 1000, statistics.median(warm_new) * 1000, offered, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--only-steps", type=int, metavar="N",
                        help="just run N warm steps of --candidates candidates, untimed (for an instruction counter)")
    parser.add_argument("--candidates", type=int, default=500)
    args = parser.parse_args()
    if args.only_steps is not None:
        orchestrator = Orchestrator(candidates(args.candidates), BUDGET, counter=TiktokenCounter(encoding="o200k_base"))
        step = Step(input="Find me the current weather in Paris and convert 100 EUR to USD.")

        async def steps() -> None:
            for _ in range(args.only_steps + 2):  # the first two: cold, then filling the caches
                await orchestrator.build(step)

        asyncio.run(steps())
        return
    TiktokenCounter(encoding="o200k_base")  # load the encoding once, outside the timings
    print(f"{'candidates':>10} {'cold ms/step':>13} {'warm ms/step':>13} {'warm, 10% new':>14} {'kept':>6}")
    for n in (50, 500, 5000):
        cold, warm, warm_new, offered, kept = measure(n, args.repeats)
        print(f"{offered:>10} {cold:>13.2f} {warm:>13.2f} {warm_new:>14.2f} {kept:>6}")


if __name__ == "__main__":
    main()
