"""Assembly overhead per step: gather, select and render, with no model call and no embedding.

    python benchmarks/assembly.py [--repeats 30]
    python benchmarks/assembly.py --only-steps N [--candidates 500] [--rebuilt]   # untimed, for cachegrind
    python benchmarks/assembly.py --conversation [--steps 30]          # only the long-chat part (needs the bench extra)

Candidates are real text: ToolBench tool descriptions and schemas from ../shared/data/toolret
(tools, documents and memory items), with a short conversation. The catalog has 2,490 tools; past
that, candidate i blends two of them (row i mod 2,490 and another), so every candidate's text is
distinct. "cold" builds a new orchestrator and token counter each step (every item encoded);
"warm" reuses one, as an agent does across steps (counts cached by content hash) and repeats the
same candidates (the same objects); "warm, rebuilt" has every source build its items anew at
every step from the same data, as the shipped sources do; "warm, 10% new" replaces a tenth of the candidates with items never seen before
at every step (as when retrieval brings new documents), so their counts, sketches and the pairs
of similar candidates are computed afresh.

The long chat: a conversation of real Wikipedia passages (../shared/data/squad_multipara20 and
nq_open_multidoc20) as alternating user and assistant turns, fitted to 4,000 o200k tokens at one new
message per step, by contextos (an Orchestrator over a Conversation) and by LangChain's
``trim_messages`` (strategy "last", starting on a human turn, the same cached o200k count per message)
on the same messages in the same run; with what each kept (a contiguous newest suffix? roles
alternating? the newest turn in?).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import statistics
import subprocess
import time
from pathlib import Path

from contextos import Budget, ContextItem, Conversation, Orchestrator, Section, StaticSource, Step, TiktokenCounter
from contextos.context.sources import ContextSource, InputSource, InstructionsSource

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
DATA = SHARED / "toolret" / "tools.jsonl"
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


class Rebuilding:
    """A source that builds its items anew at every call from the same data, as the shipped sources do
    (memory hits, retrieved tools): equal items, never the same objects."""

    def __init__(self, source: ContextSource) -> None:
        self.name, self.source = source.name, source

    async def candidates(self, step: Step) -> list[ContextItem]:
        return [ContextItem(id=i.id, source=i.source, role=i.role, content=i.content, payload=i.payload, score=i.score,
                            priority=i.priority, pinned=i.pinned, compressible=i.compressible, position=i.position)
                for i in await self.source.candidates(step)]


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


CLOCK = [time.perf_counter]
"""The clock of the first table: wall (default) or, with --cpu, this thread's CPU time."""
BUDGET = Budget(context_window=16_384, reserve_output=1_024, sections={"tools": Section(cap=4_000), "memory": Section(floor=500, cap=3_000)})


def measure(n: int, repeats: int) -> tuple[float, float, float, float, int, int]:
    step = Step(input="Find me the current weather in Paris and convert 100 EUR to USD.")
    cold = []
    for _ in range(max(3, repeats // 5)):
        sources = candidates(n)
        start = CLOCK[0]()
        orchestrator = Orchestrator(sources, BUDGET, counter=TiktokenCounter(encoding="o200k_base"))
        orchestrator.build_sync(step)
        cold.append(CLOCK[0]() - start)

    async def warm_steps(orchestrator: Orchestrator) -> list[float]:
        await orchestrator.build(step)  # the first step is a cold one
        times = []
        for _ in range(repeats):
            start = CLOCK[0]()
            await orchestrator.build(step)
            times.append(CLOCK[0]() - start)
        return times

    sources = candidates(n)
    orchestrator = Orchestrator(sources, BUDGET, counter=TiktokenCounter(encoding="o200k_base"))
    result = orchestrator.build_sync(step)
    warm = asyncio.run(warm_steps(orchestrator))
    churning = Orchestrator(candidates(n, churn=0.1), BUDGET, counter=TiktokenCounter(encoding="o200k_base"))
    warm_new = asyncio.run(warm_steps(churning))
    rebuilding = Orchestrator([Rebuilding(s) for s in candidates(n)], BUDGET, counter=TiktokenCounter(encoding="o200k_base"))
    warm_rebuilt = asyncio.run(warm_steps(rebuilding))
    offered = len(result.decisions)
    kept = sum(1 for d in result.decisions if d.status.value != "dropped")
    return (statistics.median(cold) * 1000, statistics.median(warm) * 1000, statistics.median(warm_new) * 1000,
            statistics.median(warm_rebuilt) * 1000, offered, kept)


def passages() -> list[str]:
    """Distinct Wikipedia passages from two shared data sets, in file order."""
    seen: dict[str, None] = {}
    for name in ("squad_multipara20", "nq_open_multidoc20"):
        with gzip.open(SHARED / name / "dev.jsonl.gz", "rt") as f:
            for line in f:
                for passage in json.loads(line)["passages"]:
                    seen.setdefault(passage["text"], None)
    return list(seen)


def chat_turns(n: int, texts: list[str]) -> list[dict]:
    """``n`` chat messages, alternating user and assistant, each a passage (numbered, so all are distinct)."""
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": f"({i}) {texts[i % len(texts)]}"} for i in range(n)]


def correct(kept: list[str], history: list[str], roles: list[str]) -> tuple[bool, bool, bool]:
    """Whether ``kept`` (contents, in order) is a contiguous newest suffix of ``history``, alternates, and has the newest."""
    suffix = bool(kept) and kept == history[len(history) - len(kept):]
    alternates = bool(roles) and roles[0] == "user" and all(a != b for a, b in zip(roles, roles[1:]))
    return suffix, alternates, bool(kept) and kept[-1] == history[-1]


def long_chat(n: int, steps: int, texts: list[str]) -> dict[str, tuple[float, float, int, tuple[int, int, int]]]:
    """Per library: median ms per step (wall clock, and CPU time of this thread: on a loaded machine the
    wall clock counts the time other processes held the cores), turns kept at the last step, and steps
    (of ``steps``) whose kept turns were a contiguous suffix / alternated / held the newest turn."""
    budget = 4_000
    counter = TiktokenCounter(encoding="o200k_base")
    messages = chat_turns(n + steps, texts)
    history = [m["content"] for m in messages]
    out = {}

    chat = Conversation(messages[:n])
    orchestrator = Orchestrator([chat], Budget(context_window=budget), counter=counter)
    times, cpu, checks, kept = [], [], [0, 0, 0], 0
    for step in range(steps):
        chat.add_nowait(messages[n + step])
        start, start_cpu = time.perf_counter(), time.thread_time()
        assembled = orchestrator.build_sync(Step(index=step))
        times.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
        kept = len(assembled.messages)
        for i, ok in enumerate(correct([m["content"] for m in assembled.messages], history[: n + step + 1],
                                       [m["role"] for m in assembled.messages])):
            checks[i] += ok
    out["contextos"] = (statistics.median(times) * 1000, statistics.median(cpu) * 1000, kept, tuple(checks))

    try:
        from langchain_core.messages import AIMessage, HumanMessage, trim_messages
    except ImportError:
        print("(LangChain's rows need langchain-core: pip install -e .[bench])")
        return out

    def tokens(batch: list) -> int:  # the accounting contextos uses: 3 per message, 3 for the reply
        return 3 + sum(3 + counter.count(m.content) for m in batch)

    lc = [HumanMessage(m["content"]) if m["role"] == "user" else AIMessage(m["content"]) for m in messages]
    times, cpu, checks = [], [], [0, 0, 0]
    for step in range(steps):
        window = lc[: n + step + 1]
        start, start_cpu = time.perf_counter(), time.thread_time()
        trimmed = trim_messages(window, max_tokens=budget, strategy="last", token_counter=tokens, start_on="human")
        times.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
        kept = len(trimmed)
        for i, ok in enumerate(correct([m.content for m in trimmed], history[: n + step + 1],
                                       ["user" if m.type == "human" else "assistant" for m in trimmed])):
            checks[i] += ok
    out["langchain trim_messages"] = (statistics.median(times) * 1000, statistics.median(cpu) * 1000, kept, tuple(checks))
    return out


def print_long_chat(steps: int) -> None:
    texts = passages()
    print(f"\nlong chat: {len(texts)} distinct Wikipedia passages as turns, budget 4,000 o200k tokens, one new message per step, {steps} steps")
    print(f"{'messages':>9} {'library':<24} {'ms/step':>8} {'CPU ms':>7} {'kept':>5} {'suffix':>7} {'alternate':>10} {'newest':>7}")
    for n in (500, 5000):
        for library, (ms, cpu, kept, (suffix, alternates, newest)) in long_chat(n, steps, texts).items():
            print(f"{n:>9} {library:<24} {ms:>8.2f} {cpu:>7.2f} {kept:>5} {suffix:>4}/{steps} {alternates:>7}/{steps} {newest:>4}/{steps}")
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--only-steps", type=int, metavar="N",
                        help="just run N warm steps of --candidates candidates, untimed (for an instruction counter)")
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--rebuilt", action="store_true", help="with --only-steps: sources rebuild their items every step")
    parser.add_argument("--conversation", action="store_true", help="only the long-chat part")
    parser.add_argument("--cpu", action="store_true",
                        help="time the first table by this thread's CPU clock (on a loaded machine the wall clock "
                             "also counts the time other processes held the cores)")
    parser.add_argument("--steps", type=int, default=30, help="steps of the long-chat part")
    args = parser.parse_args()
    if args.conversation:
        print_long_chat(args.steps)
        return
    if args.only_steps is not None:
        sources = candidates(args.candidates)
        if args.rebuilt:
            sources = [Rebuilding(s) for s in sources]
        orchestrator = Orchestrator(sources, BUDGET, counter=TiktokenCounter(encoding="o200k_base"))
        step = Step(input="Find me the current weather in Paris and convert 100 EUR to USD.")

        async def steps() -> None:
            for _ in range(args.only_steps + 2):  # the first two: cold, then filling the caches
                await orchestrator.build(step)

        asyncio.run(steps())
        return
    TiktokenCounter(encoding="o200k_base")  # load the encoding once, outside the timings
    if args.cpu:
        CLOCK[0] = time.thread_time
        print("CPU time of this thread, ms per step")
    print(f"{'candidates':>10} {'cold ms/step':>13} {'warm ms/step':>13} {'warm, 10% new':>14} {'warm, rebuilt':>14} {'kept':>6}")
    for n in (50, 500, 5000):
        cold, warm, warm_new, warm_rebuilt, offered, kept = measure(n, args.repeats)
        print(f"{offered:>10} {cold:>13.2f} {warm:>13.2f} {warm_new:>14.2f} {warm_rebuilt:>14.2f} {kept:>6}")
    print_long_chat(args.steps)


if __name__ == "__main__":
    main()
