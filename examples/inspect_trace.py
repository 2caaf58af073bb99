"""Inspecting a trace from Python.

Runs a small agent with tracing on (a local trace store in a temporary folder), then reads the run
back: the span tree with durations and tokens, and what step 0's context held and why.

    python examples/inspect_trace.py
"""

from __future__ import annotations

import tempfile

from _setup import model_client

from contextos.agents import Agent
from contextos.tracing import TraceStore, configure_tracing, span_tree, step_context


def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
        city: The city name.
    """
    return f"Light rain in {city}, 9 C"


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        tracing = configure_tracing(trace_dir=folder)
        result = Agent(model_client(), name="weather", tools=[get_weather]).run(
            'Weather in "Bergen"?'
        )
        tracing.shutdown()

        store = TraceStore(folder)
        spans = store.spans(result.run_id)
        print(f"run {result.run_id}: {len(spans)} spans")
        for depth, s in span_tree(spans):
            tokens = s.attributes.get("gen_ai.usage.input_tokens")
            print(
                f"{'  ' * depth}{s.name}  {s.duration_ms:.1f} ms"
                + (f"  ({tokens} prompt tokens)" if tokens else "")
            )
        context = step_context(spans, 0)
        print(f"step 0 used {context.request_tokens} of {context.budget} tokens:")
        for source, decisions in context.sections():
            for d in decisions:
                print(f"  {source:<13} {d['status']:<9} {d['id']}  ({d['reason']})")


if __name__ == "__main__":
    main()
