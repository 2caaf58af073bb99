"""Tracing: what recording spans costs an offline agent step, and what the local store costs per span.

    python benchmarks/tracing.py                  # 30 rounds of interleaved off / on / on-without-content runs
    python benchmarks/tracing.py --rounds 60
    python benchmarks/tracing.py --demo-db /tmp/demo-db    # and the demo agent over the ToolBench catalog
    python benchmarks/tracing.py --breakdown      # and two stores that skip part of the work (below)
    python benchmarks/tracing.py --calls          # and the functions tracing calls per step (below)

1. Overhead per agent step. The offline agent (``offline/demo``: no model, so the step is all
   contextos) runs a two-step task (a tool call, then the answer) over and over, in five modes taken
   in turn within each round, so that the load of a shared machine falls on all of them alike:
   ``off``  OpenTelemetry's no-op tracer, what a process that never calls ``configure_tracing`` gets;
   ``on``   ``configure_tracing()`` defaults: local JSONL store, content captured, secrets redacted,
   one setup kept across rounds, as a process that runs agents keeps it;
   ``on, new setup``  the same, but each run is the first after ``configure_tracing``: its redactor
   has seen nothing, not even the tool definitions (a process that makes one run and exits);
   ``on, no content``  the store without message content (setup kept);
   ``spans, no store``  contextos's spans recorded and handed to a processor that keeps nothing (what the
   spans themselves cost);
   with ``--breakdown`` also ``no content, lines not written`` (each span's record and JSON line made,
   nothing written) and ``no content, one file for all runs`` (written, but no file created per run).
   Reported: median wall time of a step per mode and the overhead of each ``on`` mode over ``off``, with
   the median of the paired (same round) differences and a 95% bootstrap interval for it (how far this
   machine's noise could move it: compare a target with the interval, not the median alone);
   then the same for the process's CPU time, which other processes on a loaded machine disturb less.
2. The store's write cost per span: ``TraceStoreExporter`` writing real spans of that run (the
   content-heavy ``chat`` span and the small ``contextos.step`` span), alone, behind the redacting
   wrapper seeing the span for the first time and again, and with ``fsync=True``. (``configure_tracing``
   now installs ``TraceStoreProcessor``, the same redaction and write without the wrapper's copy.)
3. With ``--demo-db``: the overhead of the real offline agent, ``contextos demo``'s agent over the
   2,490-tool ToolBench catalog (tool retrieval, 8 tool schemas in the prompt, simulated tool results),
   ``off`` against ``on`` and ``on, no content`` (the store without message content): per request, per
   first step (which embeds the model's queries and searches the catalog) and per later step (assembly,
   the model call, tool calls), as ``StepRecord.duration_s``; paired medians with their 95% intervals, as
   in 1. A demo request has one later step, whose time varies by a quarter between requests: take
   ``--demo-rounds 120`` or more (an interval four to six points wide here).
4. With ``--calls``: the functions entered per step (Python and C, as ``sys.setprofile`` sees them)
   ``off`` and ``on``, for the toy step and (with ``--demo-db``) the demo agent's requests: a count of
   the work tracing adds that the load of a shared machine barely moves (the event loop's own
   iterations vary a little), where wall times move by several points.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The demo agent embeds queries with MiniLM in numpy: on a small shared host, BLAS threads spinning
# against other processes made one query take ~0.6 s instead of ~20 ms (see benchmarks/memory.py).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult  # noqa: E402

import contextos.tracing.conventions as conventions  # noqa: E402
import contextos.tracing.spans as spans_module  # noqa: E402
from contextos.agents import Agent  # noqa: E402
from contextos.llm import ModelClient  # noqa: E402
from contextos.tracing import Tracing, configure_tracing  # noqa: E402
from contextos.tracing.export import RedactingExporter  # noqa: E402
from contextos.tracing.redact import Redactor  # noqa: E402
from contextos.tracing.store import TraceStore, TraceStoreExporter, span_record  # noqa: E402

TASK = "lookup the weather in Oslo and tell me what to wear"


def lookup_weather(city: str) -> str:
    """Look up the weather for a city.

    Args:
        city: The city name.
    """
    return f"Weather in {city}: 4 C, light rain, wind 6 m/s from the north-west. " * 8


def convert_currency(amount: float, source: str, target: str) -> str:
    """Convert an amount of money from one currency to another.

    Args:
        amount: How much.
        source: Currency code to convert from.
        target: Currency code to convert to.
    """
    return f"{amount} {source} = {amount * 1.1:.2f} {target}"


def search_flights(origin: str, destination: str) -> str:
    """Search flights between two airports.

    Args:
        origin: IATA code of the origin airport.
        destination: IATA code of the destination airport.
    """
    return f"3 flights from {origin} to {destination}"


NOOP = trace.NoOpTracer()


class Discard(SpanProcessor):
    """Takes every ended span, as the store would, and keeps nothing: what the spans alone cost."""

    takes_recorded_spans = True

    def on_end(self, span: object) -> None:  # type: ignore[override]
        pass


REAL_TRACER = spans_module.tracer
# how the helpers ask whether to serialize content; before 3870b37 it was ``capturing()``, and this file
# still measures such a checkout (run it there to compare commits)
CONTENT_SWITCH, CONTENT_OFF = (
    ("content_encoder", None) if hasattr(conventions, "content_encoder") else ("capturing", False)
)
REAL_SWITCH = getattr(conventions, CONTENT_SWITCH)


def set_tracing(on: bool) -> None:
    """``off``: hand the helpers OpenTelemetry's no-op tracer (as before any configuration).

    And no content capture: in a process that never configured tracing the helpers serialize no
    messages. (Before, an ``off`` run right after an ``on`` one, as in half of the demo's rounds,
    serialized them for nothing, which made ``off`` slower and the overhead look smaller.) The
    configured exporters stay, so in part 3 ``on`` keeps its setup (and its redactor's memory)."""
    chosen = REAL_TRACER if on else (lambda: NOOP)
    spans_module.tracer = chosen  # every contextos span opens through it
    setattr(conventions, CONTENT_SWITCH, REAL_SWITCH if on else (lambda: CONTENT_OFF))


RUNS = itertools.count()


async def timed_run(agent: Agent, tasks: tuple[str, ...]) -> tuple[float, float, int]:
    """Wall and CPU seconds (this process, all threads) of running ``tasks``, and how many steps they took.

    Each run's request is numbered, so its messages differ from every earlier run's, as real requests'
    do: the redactor, which remembers strings it has seen, gets no free pass on the conversation."""
    t0, c0 = time.perf_counter(), time.process_time()
    steps = 0
    for task in tasks:
        steps += len((await agent.arun(f"{task} (request {next(RUNS)})")).steps)
    return time.perf_counter() - t0, time.process_time() - c0, steps


SETUPS: list[Tracing] = []


def set_up(**settings: object) -> Tracing:
    """A new setup made current, leaving the current one suspended but open (``configure_tracing``
    would shut it down), so that the benchmark can switch between setups and back."""
    for made in SETUPS:
        made.suspend()
    handle = configure_tracing(**settings)
    SETUPS.append(handle)
    return handle


def store_breakdown(folder: Path) -> tuple[Tracing, Tracing]:
    """Two stores without content that skip part of the work, to see what each part costs: one builds
    every span's record and JSON line but writes nothing; one writes every line to a single file
    instead of a file per run (no file created per run)."""
    from contextos.tracing._jsontext import json_line

    unwritten = set_up(trace_dir=folder / "unwritten", capture_content=False)
    files = unwritten.processors[0].files  # type: ignore[attr-defined]
    files.append = lambda records: bool([json_line(r) for r in records])
    one_file = set_up(trace_dir=folder / "one-file", capture_content=False)
    (folder / "one-file").mkdir(parents=True, exist_ok=True)
    fd = os.open(
        folder / "one-file" / "all-runs.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
    )
    files = one_file.processors[0].files  # type: ignore[attr-defined]
    files.open_run = lambda run_id: fd
    close = files.close
    files.close = lambda: (close(), os.close(fd))  # closed with the setup
    return unwritten, one_file


def resume(handle: Tracing) -> None:
    """Make an earlier setup the current one again as it was, with its redactor's memory and its open
    files (``configure_tracing`` with other settings would shut the current one down and build anew)."""
    handle.resume()


def store_setups(folder: Path) -> tuple[Tracing, Tracing]:
    """The two local stores the modes switch between: ``configure_tracing()``'s defaults (content
    captured), and the same without message content."""
    return set_up(trace_dir=folder / "content"), set_up(
        trace_dir=folder / "nocontent", capture_content=False
    )


def in_turn(names: tuple[str, ...], round_number: int) -> tuple[str, ...]:
    """The modes in the order of this round: each round starts one mode later, so that the machine's
    load falls on every mode alike."""
    first = round_number % len(names)
    return names[first:] + names[:first]


def paired_overhead(values: list[float], off: list[float]) -> tuple[float, float, float]:
    """The median of (mode − off) over rounds (same round, same load), and its 95% interval."""
    differences = [v - o for v, o in zip(values, off)]
    low, high = median_interval(differences)
    return statistics.median(differences), low, high


async def overhead(
    agent: Agent,
    tasks: tuple[str, ...],
    rounds: int,
    folder: Path,
    names: tuple[str, ...] = ("off", "on", "on, new setup", "on, no content", "spans, no store"),
) -> dict[str, dict[str, list[float]]]:
    """Seconds per step in each mode (``wall`` and ``cpu``), the modes taken in turn within each round."""
    with_content, without_content = store_setups(folder)
    no_exporter = set_up(store=False)
    no_exporter.add_processor(Discard())  # spans recorded and handed on, then forgotten
    kept = (with_content, without_content, no_exporter)
    new_setups: list[Tracing] = []

    def new_setup() -> None:
        for old in new_setups:
            old.shutdown()
        new_setups.clear()
        new_setups.append(set_up(trace_dir=folder / "new-setup"))

    # --breakdown: where the store's cost goes, without content (see store_breakdown)
    unwritten, one_file = (
        store_breakdown(folder) if "no content, lines not written" in names else (None, None)
    )
    every = {
        "no content, lines not written": lambda: (set_tracing(True), resume(unwritten)),  # type: ignore[arg-type]
        "no content, one file for all runs": lambda: (set_tracing(True), resume(one_file)),  # type: ignore[arg-type]
        "off": lambda: set_tracing(False),
        "on": lambda: (set_tracing(True), resume(with_content)),
        "on, new setup": lambda: (set_tracing(True), new_setup()),
        "on, no content": lambda: (set_tracing(True), resume(without_content)),
        "spans, no store": lambda: (set_tracing(True), resume(no_exporter)),
    }
    modes = {name: every[name] for name in names}
    for setup in modes.values():  # warm up: litellm's import, tiktoken, first spans
        setup()
        for _ in range(3):
            await timed_run(agent, tasks)
    per_step: dict[str, dict[str, list[float]]] = {m: {"wall": [], "cpu": []} for m in modes}
    for r in range(rounds):
        for name in in_turn(names, r):
            modes[name]()
            wall, cpu, steps = await timed_run(agent, tasks)
            per_step[name]["wall"].append(wall / steps)
            per_step[name]["cpu"].append(cpu / steps)
    set_tracing(True)
    for handle in (*kept, *new_setups, *(h for h in (unwritten, one_file) if h is not None)):
        handle.shutdown()
    configure_tracing(store=False)
    return per_step


def report(per_step: dict[str, dict[str, list[float]]]) -> None:
    for clock in ("wall", "cpu"):
        print(f"  {clock} time:")
        off_values = per_step["off"][clock]
        off = statistics.median(off_values)
        width = max(len(mode) for mode in per_step)
        for mode, by_clock in per_step.items():
            values = by_clock[clock]
            med = statistics.median(values)
            paired, low, high = paired_overhead(values, off_values)
            extra = (
                ""
                if mode == "off"
                else (
                    f"  overhead {(med - off) * 1e3:+.2f} ms = {100 * (med - off) / off:+.1f}%; "
                    f"median paired (same round) {paired * 1e3:+.2f} ms = {100 * paired / off:+.1f}% "
                    f"(95% interval {100 * low / off:+.1f}% to {100 * high / off:+.1f}%)"
                )
            )
            print(
                f"    {mode:<{width}} {med * 1e3:7.2f} ms per step (p10 {sorted(values)[len(values) // 10] * 1e3:.2f}, "
                f"p90 {sorted(values)[(9 * len(values)) // 10] * 1e3:.2f}){extra}"
            )


def real_spans(folder: Path) -> dict[str, object]:
    """The chat and step spans of one traced run, recorded by a private provider (not the global one)."""
    captured: list = []

    class Keep(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            captured.extend(spans)
            return SpanExportResult.SUCCESS

    store = TraceStore(folder / "content")
    run_id = store.run_ids()[0]
    records = store.spans(run_id)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Keep()))
    tracer = provider.get_tracer("bench")
    wanted = {
        "chat": next(s for s in records if s.name.startswith("chat ")),
        "step": next(s for s in records if s.name == "contextos.step"),
    }
    with tracer.start_as_current_span("root"):
        for record in wanted.values():
            with tracer.start_as_current_span(record.name, attributes=record.attributes):
                pass
    return {label: next(s for s in captured if s.name == wanted[label].name) for label in wanted}


def write_cost(folder: Path, n: int) -> None:
    """Per span: the store alone, and behind the redacting wrapper, whose redactor remembers strings it has
    seen; a span redacted for the first time is timed with a fresh redactor ("cold"), a repeat ("warm")
    with the same one, as a run's later steps repeat its tool definitions, names and prompt."""
    sample = real_spans(folder)
    for label, span in sample.items():
        line = len(json.dumps(span_record(span), ensure_ascii=False, default=str))
        for mode in (
            "store",
            "redact (cold) + store",
            "redact (warm) + store",
            "redact (cold) + store, fsync",
        ):
            slug = "".join(c for c in mode if c.isalnum())
            inner = TraceStoreExporter(
                TraceStore(folder / f"w-{label}-{slug}"), fsync=mode.endswith("fsync")
            )
            count = n if not mode.endswith("fsync") else max(50, n // 20)
            warm = RedactingExporter(inner, Redactor(), capture_content=True)
            total = 0.0
            for _ in range(count):
                exporter = (
                    inner
                    if mode == "store"
                    else warm
                    if "warm" in mode
                    else RedactingExporter(inner, Redactor(), capture_content=True)
                )
                t0 = time.perf_counter()
                exporter.export([span])
                total += time.perf_counter() - t0
            inner.shutdown()
            print(
                f"  {label} span ({line:,} bytes a line), {mode}: {total / count * 1e6:.0f} µs per span (n={count})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rounds", type=int, default=30, help="Rounds of off / on / on-without-content runs."
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="Also the store without content writing no lines, and writing one file for all runs.",
    )
    parser.add_argument(
        "--spans", type=int, default=2000, help="Spans written per store measurement."
    )
    parser.add_argument(
        "--demo-db",
        type=Path,
        default=None,
        help="The demo catalog's LanceDB folder (as `contextos demo --db` builds it): also measure "
        "the demo agent over the 2,490-tool catalog, the real offline agent.",
    )
    parser.add_argument(
        "--demo-rounds", type=int, default=10, help="Rounds of off / on runs of the demo agent."
    )
    parser.add_argument(
        "--calls",
        action="store_true",
        help="Also count the functions entered per step, off and on.",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        toy = Agent(
            ModelClient("offline/demo"),
            name="bench",
            tools=[lookup_weather, convert_currency, search_flights],
        )
        names = ("off", "on", "on, new setup", "on, no content", "spans, no store")
        if args.breakdown:
            names += ("no content, lines not written", "no content, one file for all runs")
        per_step = asyncio.run(overhead(toy, (TASK,), args.rounds, folder, names))
        print(
            f"1. offline agent step (three tools), per step (median of {args.rounds} two-step runs per mode, interleaved):"
        )
        report(per_step)
        print("2. store write cost per span:")
        write_cost(folder, args.spans)
        demo = None
        if args.demo_db is not None:
            from contextos.agents._demo import DEMO_REQUESTS, demo_agent, open_demo_catalog

            catalog, built = open_demo_catalog(args.demo_db)
            demo = demo_agent(ModelClient("offline/bench"), catalog)
            per_part = asyncio.run(
                demo_overhead(demo, DEMO_REQUESTS, args.demo_rounds, folder / "demo")
            )
            print(
                f"3. demo agent over {len(catalog):,} tools ({'indexed now' if built else 'index reused'}), "
                f"{args.demo_rounds} rounds of its {len(DEMO_REQUESTS)} requests per mode, interleaved:"
            )
            for part, per_mode in per_part.items():
                off = per_mode["off"]
                base = statistics.median(off)
                print(
                    f"  {part:<28} off {base * 1e3:7.2f} ms (p10 {pct(off, 10) * 1e3:.2f}, p90 {pct(off, 90) * 1e3:.2f})"
                )
                for mode, values in per_mode.items():
                    if mode == "off":
                        continue
                    paired, low, high = paired_overhead(values, off)
                    print(
                        f"    {mode:<26} {statistics.median(values) * 1e3:7.2f} ms; median paired overhead "
                        f"{paired * 1e3:+.2f} ms = {100 * paired / base:+.1f}% (95% interval {100 * low / base:+.1f}% "
                        f"to {100 * high / base:+.1f}%)"
                    )
        if args.calls:
            print(
                "4. functions entered per step (Python and C, sys.setprofile), off and on (setup kept):"
            )
            agents = [("offline agent step (three tools)", toy, (TASK,))]
            if demo is not None:
                agents.append(("demo agent, a step of its requests", demo, DEMO_REQUESTS))
            for label, agent, tasks in agents:
                off, on = asyncio.run(calls_per_step(agent, tasks, folder / "calls"))
                print(
                    f"  {label:<36} off {off:8.0f}, on {on:8.0f}: {on - off:+.0f} = {100 * (on - off) / off:+.1f}%"
                )


async def calls_per_step(
    agent: Agent, tasks: tuple[str, ...], folder: Path, runs: int = 5
) -> tuple[float, float]:
    """Functions entered per step with tracing ``off`` and ``on``, over ``runs`` runs of each task after a
    warm-up run; in this thread (the agent's), as ``sys.setprofile`` reports calls."""
    counted = [0]

    def profile(frame: object, event: str, arg: object) -> None:
        if event == "call" or event == "c_call":
            counted[0] += 1

    per_step = []
    for on in (False, True):
        set_tracing(on)
        if on:
            configure_tracing(trace_dir=folder)
        for task in tasks:  # warm up
            await agent.arun(f"{task} (request {next(RUNS)})")
        counted[0], steps = 0, 0
        for _ in range(runs):
            for task in tasks:
                request = f"{task} (request {next(RUNS)})"
                sys.setprofile(profile)
                try:
                    result = await agent.arun(request)
                finally:
                    sys.setprofile(None)
                steps += len(result.steps)
        per_step.append(counted[0] / steps)
    configure_tracing(store=False)
    return per_step[0], per_step[1]


def median_interval(differences: list[float], resamples: int = 2000) -> tuple[float, float]:
    """A 95% bootstrap interval for the median of ``differences`` (the paired on - off times): how far
    the reported median could move on this machine's noise. Seeded, so a run's output repeats."""
    draw = random.Random(0).choices
    medians = sorted(
        statistics.median(draw(differences, k=len(differences))) for _ in range(resamples)
    )
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


def pct(values: list[float], q: int) -> float:
    return sorted(values)[(q * len(values)) // 100]


async def demo_overhead(
    agent: Agent, tasks: tuple[str, ...], rounds: int, folder: Path
) -> dict[str, dict[str, list[float]]]:
    """Seconds per request, per first step (it retrieves the tools) and per later step (mean over a request's
    later steps), ``off``, ``on`` and ``on, no content`` (the store without message content) taken in turn,
    the first mode rotating; the i-th value of each mode comes from the same round and request."""
    with_content, without_content = store_setups(folder)
    modes = {
        "off": lambda: set_tracing(False),
        "on": lambda: (set_tracing(True), resume(with_content)),
        "on, no content": lambda: (set_tracing(True), resume(without_content)),
    }
    names = tuple(modes)
    parts: dict[str, dict[str, list[float]]] = {
        p: {m: [] for m in modes}
        for p in ("request (all its steps)", "first step (with retrieval)", "later steps")
    }
    for setup in modes.values():
        setup()
        await timed_run(agent, tasks)
    for r in range(rounds):
        for name in in_turn(names, r):
            modes[name]()
            for task in tasks:
                t0 = time.perf_counter()
                result = await agent.arun(f"{task} (request {next(RUNS)})")
                parts["request (all its steps)"][name].append(time.perf_counter() - t0)
                parts["first step (with retrieval)"][name].append(result.steps[0].duration_s)
                later = [s.duration_s for s in result.steps[1:]] or [0.0]
                parts["later steps"][name].append(sum(later) / len(later))
    set_tracing(True)
    for handle in (with_content, without_content):
        handle.shutdown()
    configure_tracing(store=False)
    return parts


if __name__ == "__main__":
    main()
