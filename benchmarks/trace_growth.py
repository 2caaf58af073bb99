"""Trace growth: bytes a long agent run writes to the trace store, and the process's peak memory.

    python benchmarks/trace_growth.py                       # 40 steps, 150 KB tool results
    python benchmarks/trace_growth.py --steps 20 --kb 50
    python benchmarks/trace_growth.py --off                 # the same run untraced: its peak memory

An agent (``Agent`` with a ``ScriptedModel``: the model is scripted, everything else is the library's
default path, ``configure_tracing()`` defaults included) calls a tool at every step; each call returns
``--kb`` KB of text, kept whole (the executor's ``max_result_chars`` raised from its 8,000), and the
budget is large enough that every result stays in the conversation, so step N sends all N results. Printed: the run file's size, the characters of content the run's final
conversation holds (each message once), their ratio, the wall time and the process's peak resident
memory during the run (``ru_maxrss`` before the run is read back). A store that re-records the conversation at every step writes about
steps / 2 times the content; one that stores each message once writes about twice it (every tool
result is also on its own ``execute_tool`` span).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contextos.agents import Agent, RunLimits
from contextos.context import Budget
from contextos.testing import Reply, ScriptedModel
from contextos.tools import ToolExecutor
from contextos.tracing import configure_tracing
from contextos.tracing.store import TraceStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--kb", type=int, default=150)
    parser.add_argument(
        "--off", action="store_true", help="Run without tracing: the peak memory to compare with."
    )
    args = parser.parse_args()
    line = "2026-12-06 17:00:00 INFO worker-3 request served in 12 ms, status 200, bytes 5120\n"
    result = line * (args.kb * 1024 // len(line))

    def read_log(part: int) -> str:
        """Read one part of the service log.

        Args:
            part: Which part.
        """
        return f"part {part}\n{result}"

    script = [Reply.tool_call("read_log", {"part": i}) for i in range(args.steps - 1)] + [
        Reply.text("done")
    ]
    folder = Path(os.environ.get("GROWTH_DIR") or tempfile.mkdtemp(prefix="trace-growth-"))
    tracing = None if args.off else configure_tracing(trace_dir=folder)
    try:
        # whole results, not the default 8,000 characters
        executor = ToolExecutor(max_result_chars=2 * len(result))
        agent = Agent(
            ScriptedModel(script),
            name="growth",
            tools=[read_log],
            executor=executor,
            budget=Budget(context_window=10_000_000, reserve_output=1024),
            limits=RunLimits(max_steps=args.steps),
        )
        t0 = time.perf_counter()
        run = agent.run("read every part of the log")
        seconds = time.perf_counter() - t0
    finally:
        if tracing is not None:
            tracing.shutdown()
    # KiB on Linux; before reading back
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if tracing is None:
        print(
            f"steps {len(run.steps)}, tracing off: run time {seconds:.1f} s, peak memory {peak_mb:.0f} MB (ru_maxrss)"
        )
        return
    store = TraceStore(folder)
    size = store.path(run.run_id).stat().st_size
    last_chat = [s for s in store.spans(run.run_id) if s.name.startswith("chat ")][-1]
    messages = json.loads(last_chat.attributes["gen_ai.input.messages"])
    content = sum(len(json.dumps(m, ensure_ascii=False)) for m in messages)
    print(f"steps {len(run.steps)}, tool results {args.kb} KB, load {os.getloadavg()[0]:.1f}")
    print(f"run file      {size / 1e6:8.1f} MB")
    print(f"conversation  {content / 1e6:8.1f} MB (each message once, last step's request)")
    print(f"ratio         {size / content:8.2f}")
    print(f"run time      {seconds:8.1f} s")
    print(f"peak memory   {peak_mb:8.0f} MB (ru_maxrss, during the run)")


if __name__ == "__main__":
    main()
