"""Tracing: what recording spans costs an offline agent step, and what the local store costs per span.

    python benchmarks/tracing.py                  # 30 rounds of interleaved off / on / on-without-content runs
    python benchmarks/tracing.py --rounds 60

1. Overhead per agent step. The offline agent (``offline/demo``: no model, so the step is all
   contextos) runs a two-step task (a tool call, then the answer) over and over, in three modes taken
   in turn within each round, so that the load of a shared machine falls on all three alike:
   ``off``  OpenTelemetry's no-op tracer, what a process that never calls ``configure_tracing`` gets;
   ``on``   ``configure_tracing()`` defaults: local JSONL store, content captured, secrets redacted;
   ``on, no content``  the store without message content;
   ``spans, no store``  SDK spans recorded but exported nowhere (what the spans themselves cost).
   Reported: median wall time of a step per mode and the overhead of each ``on`` mode over ``off``.
2. The store's write cost per span: ``TraceStoreExporter`` writing real spans of that run (the
   content-heavy ``chat`` span and the small ``contextos.step`` span), alone, behind the redacting
   wrapper (what ``configure_tracing`` installs), and with ``fsync=True``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult  # noqa: E402

import contextos.tracing.conventions as conventions  # noqa: E402
import contextos.tracing.spans as spans_module  # noqa: E402
from contextos.agents import Agent  # noqa: E402
from contextos.llm import ModelClient  # noqa: E402
from contextos.tracing import configure_tracing  # noqa: E402
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
REAL_TRACER = spans_module.tracer


def set_tracing(on: bool) -> None:
    """``off``: hand the helpers OpenTelemetry's no-op tracer (as before any configuration)."""
    chosen = REAL_TRACER if on else (lambda: NOOP)
    spans_module.tracer = chosen
    conventions.tracer = chosen


async def timed_run(agent: Agent) -> tuple[float, int]:
    t0 = time.perf_counter()
    result = await agent.arun(TASK)
    return time.perf_counter() - t0, len(result.steps)


async def overhead(rounds: int, folder: Path) -> dict[str, list[float]]:
    agent = Agent(ModelClient("offline/demo"), name="bench", tools=[lookup_weather, convert_currency, search_flights])
    with_content = configure_tracing(trace_dir=folder / "content")
    without_content = configure_tracing(trace_dir=folder / "nocontent", capture_content=False)
    no_exporter = configure_tracing(store=False)
    modes = {
        "off": lambda: set_tracing(False),
        "on": lambda: (set_tracing(True), configure_tracing(with_content.config)),
        "on, no content": lambda: (set_tracing(True), configure_tracing(without_content.config)),
        "spans, no store": lambda: (set_tracing(True), configure_tracing(no_exporter.config)),
    }
    for setup in modes.values():  # warm up: litellm's import, tiktoken, first spans
        setup()
        for _ in range(3):
            await timed_run(agent)
    per_step: dict[str, list[float]] = {m: [] for m in modes}
    names = list(modes)
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:  # rotate which mode goes first
            modes[name]()
            seconds, steps = await timed_run(agent)
            per_step[name].append(seconds / steps)
    set_tracing(True)
    configure_tracing(store=False)
    return per_step


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
    wanted = {"chat": next(s for s in records if s.name.startswith("chat ")),
              "step": next(s for s in records if s.name == "contextos.step")}
    with tracer.start_as_current_span("root"):
        for label, record in wanted.items():
            with tracer.start_as_current_span(record.name, attributes=record.attributes):
                pass
    return {label: next(s for s in captured if s.name == wanted[label].name) for label in wanted}


def write_cost(folder: Path, n: int) -> None:
    sample = real_spans(folder)
    redactor = Redactor()
    for label, span in sample.items():
        line = len(json.dumps(span_record(span), ensure_ascii=False, default=str))
        for mode in ("store", "redact + store", "redact + store, fsync"):
            store = TraceStore(folder / f"w-{label}-{mode.replace(' ', '').replace(',', '').replace('+', '')}")
            inner = TraceStoreExporter(store, fsync=mode.endswith("fsync"))
            exporter = inner if mode == "store" else RedactingExporter(inner, redactor, capture_content=True)
            count = n if not mode.endswith("fsync") else max(50, n // 20)
            t0 = time.perf_counter()
            for _ in range(count):
                exporter.export([span])
            per = (time.perf_counter() - t0) / count
            inner.shutdown()
            print(f"  {label} span ({line:,} bytes a line), {mode}: {per * 1e6:.0f} µs per span (n={count})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30, help="Rounds of off / on / on-without-content runs.")
    parser.add_argument("--spans", type=int, default=2000, help="Spans written per store measurement.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        per_step = asyncio.run(overhead(args.rounds, folder))
        off = statistics.median(per_step["off"])
        print(f"1. offline agent step, wall time (median of {args.rounds} two-step runs per mode, interleaved):")
        for mode, values in per_step.items():
            med = statistics.median(values)
            paired = statistics.median(v - o for v, o in zip(values, per_step["off"]))  # same round, same load
            extra = "" if mode == "off" else (f"  overhead {(med - off) * 1e3:+.2f} ms = {100 * (med - off) / off:+.1f}%; "
                                              f"median paired (same round) {paired * 1e3:+.2f} ms = {100 * paired / off:+.1f}%")
            print(f"  {mode:<16} {med * 1e3:7.2f} ms per step (p10 {sorted(values)[len(values) // 10] * 1e3:.2f}, "
                  f"p90 {sorted(values)[(9 * len(values)) // 10] * 1e3:.2f}){extra}")
        print("2. store write cost per span:")
        write_cost(folder, args.spans)


if __name__ == "__main__":
    main()
