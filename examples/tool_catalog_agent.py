"""An agent over a large tool catalog.

Opens the ToolBench catalog shipped with contextos (2,490 real API descriptions) in LanceDB, reusing
the index `contextos demo` built (or building it, in seconds, from the vectors shipped with it), then
lets an agent answer a request: the tools it is offered are retrieved from the catalog with
model-written queries at every step (a tool found at a later step is added after those already
offered, so the prompt's tool block stays the same while nothing new is found) and selected under a
token budget. The catalog's tools have no
implementations, so calls get a labelled simulated response.

    python examples/tool_catalog_agent.py [--limit N] [--db DIR] ["your request"]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from _setup import model_client

from contextos.agents._demo import default_demo_db, demo_agent, demo_catalog_path, open_demo_catalog


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "request", nargs="?", default="What's the weather forecast in Oslo for the next days?"
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="Index only the first N tools (quicker)."
    )
    parser.add_argument(
        "--db",
        default=None,
        help="LanceDB folder (default: the demo's index; a temporary one with --limit).",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        source = demo_catalog_path()
        if args.limit:
            lines = source.read_text().splitlines()
            rows = [json.loads(line) for line in lines]
            # Keep whole categories' worth of weather tools in the sample, so the default request has tools.
            rows = sorted(rows, key=lambda r: r["metadata"]["category"] != "Weather")[: args.limit]
            source = Path(tmp) / "tools.jsonl"
            source.write_text("".join(json.dumps(r) + "\n" for r in rows))
        db = args.db or (Path(tmp) / "db" if args.limit else default_demo_db())
        catalog, built = open_demo_catalog(db, source=source)
        print(f"{len(catalog)} tools in the catalog ({'indexed now' if built else 'index reused'})")

        result = demo_agent(model_client(), catalog).run(args.request)
        for step in result.steps:
            kept = [
                d.id
                for d in step.context.decisions
                if d.source == "tools" and d.status.value != "dropped"
            ]
            print(
                f"step {step.index}: {len(kept)} tools offered; calls: {[c.name for c in step.tool_calls] or 'none'}"
            )
        print(f"answer ({result.stop_reason}): {result.answer}")


if __name__ == "__main__":
    main()
