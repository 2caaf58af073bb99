"""ModelClient.replicas over two real CPU vLLM servers: an agent run stays on one, survives its death.

Both servers serve the tiny random-weight model and start in parallel. The model's words are
gibberish, so each step's answer is pinned by vLLM's structured outputs to ``[lookup()]``, which
vLLM's ``pythonic`` tool parser turns into a real tool call: every step of the run calls the tool,
and the run goes on until ``max_steps``. The tool kills the replica the run is on halfway; the run
must finish on the other one, and vLLM's own prefix-cache counters must show the reuse on the
replica that served the steps, none on the one that did not.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from contextos import Agent, Budget
from contextos.llm import ModelClient, PrefixCacheCounters, RetryPolicy, VllmServer
from contextos.llm.vllm_metrics import read_prefix_cache_counters
from contextos.testing.tiny_model import TINY_MODEL_NAME
from tests.llm.conftest import vllm_python

pytestmark = pytest.mark.vllm

BLOCK = 32
"""KV block size (the CPU backend needs a multiple of 32): the prefix cache reuses whole blocks."""
STEPS = 6
KILL_AFTER = 3
"""The tool kills the run's replica after this many steps ran there."""


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path
) -> Iterator[list[VllmServer]]:
    logs = tmp_path_factory.mktemp("vllm-replicas")
    args = [
        "--served-model-name",
        TINY_MODEL_NAME,
        "--max-model-len",
        "1024",
        "--block-size",
        str(BLOCK),
        "--kv-cache-memory-bytes",
        str(32 << 20),
        "--enforce-eager",
        "--enable-prompt-tokens-details",
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        "pythonic",
    ]
    pair = [
        VllmServer(
            str(tiny_model_dir),
            args,
            port=0,
            python=str(vllm_python()),
            log=logs / f"replica-{i}.log",
            wait_timeout=600,
        )
        for i in range(2)
    ]
    try:
        with ThreadPoolExecutor(2) as pool:  # startup dominates: both at once
            list(pool.map(VllmServer.start, pair))
        yield pair
    finally:
        for server in pair:
            server.stop(grace=10)


def test_a_run_stays_on_one_replica_and_finishes_on_the_other_when_that_one_dies(
    servers: list[VllmServer], tiny_model_dir: Path
) -> None:
    by_base = {s.api_base: s for s in servers}
    client = ModelClient.replicas(
        servers[0].litellm_model,
        list(by_base),
        timeout=180,
        retry=RetryPolicy(max_attempts=2, initial_wait_s=0.1, jitter_s=0.0),
    )
    before = {base: read_prefix_cache_counters(base) for base in by_base}
    at_kill: dict[str, PrefixCacheCounters] = {}
    killed: list[str] = []
    lookups: list[int] = []

    def lookup() -> str:
        """Look up the next fact."""
        lookups.append(len(lookups))
        if len(lookups) == KILL_AFTER:
            (serving,) = (s.replica.api_base for s in client.replica_status() if s.sessions)
            at_kill.update({base: read_prefix_cache_counters(base) for base in by_base})
            os.killpg(by_base[serving].process.pid, signal.SIGKILL)  # no goodbye: a crash
            by_base[serving].process.wait(60)
            killed.append(serving)
        return f"Fact {len(lookups)}: the budget of step {len(lookups)} is {100 * len(lookups)} tokens."

    agent = Agent(
        client,
        tools=[lookup],
        budget=Budget(context_window=1024, reserve_output=16),
        tokenizer=tiny_model_dir,  # its tokenizer and chat template: exact local counts
        model_params={
            "max_tokens": 16,
            "temperature": 0,
            "extra_body": {"structured_outputs": {"regex": r"\[lookup\(\)\]"}},
        },
    )
    result = agent.run("Look up six facts, one per step.", max_steps=STEPS)

    # the run completed every step, through the failover
    assert result.stop_reason == "max_steps" and len(result.steps) == STEPS
    assert all([c.name for c in s.completion.tool_calls] == ["lookup"] for s in result.steps)
    assert len(lookups) == STEPS
    (dead,) = killed
    (alive,) = (base for base in by_base if base != dead)
    served_by = [s.completion.attempts[-1].api_base for s in result.steps]
    assert served_by == [dead] * KILL_AFTER + [alive] * (STEPS - KILL_AFTER)
    moved = result.steps[KILL_AFTER].completion.attempts
    assert [(a.api_base, a.outcome) for a in moved] == [
        (dead, "ModelConnectionError"),
        (alive, "ok"),
    ]

    # vLLM's own counters: until the kill, every lookup and hit on the run's replica, none elsewhere
    on_dead = at_kill[dead] - before[dead]
    elsewhere = at_kill[alive] - before[alive]
    after = read_prefix_cache_counters(alive) - at_kill[alive]
    print(f"replica the run started on, steps 0-{KILL_AFTER - 1}: {on_dead}")
    print(f"other replica until the kill: {elsewhere}")
    print(f"other replica, steps {KILL_AFTER}-{STEPS - 1}: {after}")
    assert elsewhere.queries == 0 and elsewhere.hits == 0
    cached = [s.completion.usage.cached_tokens for s in result.steps]
    print(f"cached tokens per step: {cached}")
    assert on_dead.hits == sum(cached[:KILL_AFTER]) > 0
    assert after.hits == sum(cached[KILL_AFTER:]) > 0
    # each step reuses the previous steps' prompt, except the first and the first after the move
    assert cached[0] == 0 and cached[KILL_AFTER] == 0
    assert all(c >= BLOCK for i, c in enumerate(cached) if i not in (0, KILL_AFTER))
