"""The peers' side of run.py's protocol: one JSON request on stdin, one JSON answer on stdout.

Runs inside a peer's own venv (it imports nothing from contextos). ``fit`` requests carry a
conversation, a token budget and the points (indices of user turns) at which to fit it: ``cold``
builds the peer's objects afresh for the whole conversation ``repeats`` times; ``warm`` keeps one
object and feeds it the conversation point by point, as an agent loop would.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any


def serve(version: str, handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]]) -> None:
    request = json.load(sys.stdin)
    answer = handlers[request["task"]](request)
    json.dump({"version": version, **answer}, sys.stdout)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return (time.perf_counter() - start) * 1000, out


def retrieve_task(
    index: Callable[[list[dict[str, str]]], Any], search: Callable[[Any, str, int], list[str]]
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A ``retrieve`` handler: index the documents once, then search each query alone, timed."""

    def handle(request: dict[str, Any]) -> dict[str, Any]:
        build_ms, built = timed(lambda: index(request["docs"]))
        ranked, latency = {}, []
        for q in request["queries"]:
            ms, ids = timed(partial(search, built, q["query"], request["k"]))
            ranked[q["id"]] = ids
            latency.append(ms)
        return {"build_ms": build_ms, "latency_ms": latency, "ranked": ranked}

    return handle
