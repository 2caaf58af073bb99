"""Bounded resources: a huge text through the default embedder, a context source that never answers."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest

from contextos import Agent, Budget, ContextItem, Orchestrator, Step
from contextos.context.sources import InstructionsSource
from contextos.testing import Reply, ScriptedModel
from tests.conftest import ROOT


class Hung:
    """A source that never returns."""

    name = "memory"

    async def candidates(self, step: Step) -> list[ContextItem]:
        await asyncio.Event().wait()
        return []


def test_a_source_that_never_answers_is_left_out_and_recorded() -> None:
    orchestrator = Orchestrator(
        [InstructionsSource("Be brief."), Hung()],
        Budget(context_window=500),
        model="gpt-4",
        source_timeout_s=0.3,
    )
    started = time.monotonic()
    assembled = orchestrator.build_sync(Step(input="hi"))
    assert time.monotonic() - started < 3
    assert "did not answer within 0.3 s" in assembled.decision("memory:unavailable").reason
    assert assembled.messages[0]["content"].startswith("Be brief.")


def test_an_agent_step_goes_on_without_a_hung_source(monkeypatch) -> None:
    import contextos.context.orchestrator

    # the default, 60 s, made quick
    monkeypatch.setattr(contextos.context.orchestrator, "SOURCE_TIMEOUT_S", 0.3)
    result = Agent(ScriptedModel([Reply.text("fine")]), sources=[Hung()]).run("go")
    assert result.answer == "fine"
    assert "did not answer" in result.steps[0].context.decision("memory:unavailable").reason


_PEAK = """
import resource, sys, json
from contextos.embed import default_embedder
embedder = default_embedder()
embedder.embed(["warm up"])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
text = "contextos keeps memory bounded. " * (5_000_000 // 32)
vector = embedder.embed([text])[0]
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
same = float(vector @ embedder.embed([text[:20_000]])[0])
print(json.dumps({"grew_mb": (after - before) / 1024, "same": same}))
"""


def test_a_5_mb_text_through_the_default_embedder_stays_small() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PEAK],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["grew_mb"] < 150, measured  # the whole text tokenized: about 750 MB more
    assert measured["same"] > 0.9999  # only the first 256 tokens ever counted


def test_a_source_misconfigured_by_the_caller_still_raises() -> None:
    from contextos import InvalidItemError, SourceError, StoreError

    class Wrong:
        name = "memory"

        def __init__(self, error: Exception) -> None:
            self.error = error

        async def candidates(self, step: Step) -> list[ContextItem]:
            raise self.error

    with pytest.raises(SourceError, match="InvalidItemError: bad filter"):
        Orchestrator(
            [Wrong(InvalidItemError("bad filter"))], Budget(context_window=500), model="gpt-4"
        ).build_sync(Step())
    outage = Orchestrator(
        [Wrong(StoreError("store unreadable"))], Budget(context_window=500), model="gpt-4"
    ).build_sync(Step())
    assert "StoreError: store unreadable" in outage.decision("memory:unavailable").reason
