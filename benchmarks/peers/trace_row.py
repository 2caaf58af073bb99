"""The tracing row of run.py: what tracing adds to an agent step, contextos against the OpenAI
Agents SDK (peer_openai_agents.py), on the same scripted two-step run (a ``lookup_weather`` call,
then the answer; three tools offered), no network on either side.

contextos's side is benchmarks/tracing.py's own measurement with its ``off`` and ``on`` modes: the
offline agent (``offline/demo``) untraced, and traced by ``configure_tracing()``'s defaults (the
local JSONL store, content captured, secrets redacted, spans written as they end). The SDK's: the
same agent untraced (``tracing_disabled``) and traced by its default processor writing locally.
Both take the modes in turn, round by round, so a shared machine's load falls on both alike; the
cost of tracing a step is the median over rounds of (traced − untraced) time per step, wall and
CPU (the whole process's, background threads included).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import row_table as tables  # noqa: E402

from benchmarks import tracing as tracing_bench  # noqa: E402


def contextos_trace(rounds: int) -> dict[str, Any]:
    """Seconds per step, off and on, by benchmarks/tracing.py's ``overhead``."""
    from contextos.agents import Agent
    from contextos.llm import ModelClient
    from contextos.version import __version__

    agent = Agent(
        ModelClient("offline/demo"),
        name="bench",
        tools=[
            tracing_bench.lookup_weather,
            tracing_bench.convert_currency,
            tracing_bench.search_flights,
        ],
    )
    with tempfile.TemporaryDirectory() as folder:
        per_step = asyncio.run(
            tracing_bench.overhead(
                agent, (tracing_bench.TASK,), rounds, Path(folder), ("off", "on")
            )
        )
    return {"version": f"contextos {__version__}", "per_step": per_step}


def score(answer: dict[str, Any]) -> dict[str, Any]:
    """Median ms per step untraced and traced, and the median paired cost of tracing a step."""
    if "error" in answer:
        return answer
    per_step = answer["per_step"]
    row: dict[str, Any] = {"version": answer["version"]}
    for clock in ("wall", "cpu"):
        off, on = per_step["off"][clock], per_step["on"][clock]
        row[f"{clock}_off_ms"] = statistics.median(off) * 1000
        row[f"{clock}_on_ms"] = statistics.median(on) * 1000
        row[f"{clock}_cost_ms"] = tracing_bench.paired_overhead(on, off)[0] * 1000
    row["rounds"] = len(per_step["on"]["wall"])
    return row


def rows(
    rounds: int, call_peer: Callable[[str, dict[str, Any]], dict[str, Any]]
) -> list[dict[str, Any]]:
    task = f"two-step run, {rounds} rounds"
    mine = score(contextos_trace(rounds))
    theirs = score(
        call_peer("openai_agents", {"task": "trace", "rounds": rounds, "input": tracing_bench.TASK})
    )
    for clock in ("wall", "cpu"):  # a ratio only over a cost the noise did not swallow
        if "error" not in theirs and mine[f"{clock}_cost_ms"] > 0:
            theirs[f"{clock}_ratio"] = theirs[f"{clock}_cost_ms"] / mine[f"{clock}_cost_ms"]
    return [
        {"task": task, "system": "contextos", **mine},
        {"task": task, "system": "openai_agents", **theirs},
    ]


COLUMNS: tables.Columns = [
    ("untraced ms/step", tables.number("wall_off_ms", ".2f")),
    ("traced ms/step", tables.number("wall_on_ms", ".2f")),
    ("tracing cost ms/step", tables.number("wall_cost_ms", "+.2f")),
    ("ratio", lambda r: tables.ratio(r, "wall_ratio")),
    ("CPU untraced", tables.number("cpu_off_ms", ".2f")),
    ("CPU traced", tables.number("cpu_on_ms", ".2f")),
    ("CPU cost", tables.number("cpu_cost_ms", "+.2f")),
    ("ratio", lambda r: tables.ratio(r, "cpu_ratio")),
]
