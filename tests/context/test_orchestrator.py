import asyncio
import time

import pytest

from contextos import (
    Budget,
    BudgetError,
    ConfigError,
    ContextItem,
    InputSource,
    InstructionsSource,
    InvalidItemError,
    Orchestrator,
    Section,
    StaticSource,
    Step,
)
from contextos.context.items import ContextDecision, DecisionStatus
from contextos.context.sources import Compressed
from tests.context.helpers import COUNTER


class SlowSource:
    def __init__(self, name, delay):
        self.name, self.delay = name, delay

    async def candidates(self, step):
        await asyncio.sleep(self.delay)
        return [
            ContextItem(
                id=f"{self.name}-1",
                source=self.name,
                content=f"{self.name} says {step.input}",
                score=0.5,
            )
        ]


def test_sources_run_concurrently():
    sources = [SlowSource(f"s{i}", 0.3) for i in range(5)]
    orchestrator = Orchestrator(sources, Budget(context_window=4000), counter=COUNTER)
    start = time.perf_counter()
    result = orchestrator.build_sync(Step(input="hi"))
    # five 0.3 s sources, one after another, would take 1.5 s
    assert time.perf_counter() - start < 1.0
    assert {d.id for d in result.decisions} == {f"s{i}-1" for i in range(5)}


def test_a_failing_source_is_named_and_the_step_goes_on():
    class Broken:
        name = "memory"

        async def candidates(self, step):
            raise RuntimeError("disk on fire")

    docs = StaticSource("documents", [ContextItem(id="d", source="documents", content="a")])
    orchestrator = Orchestrator([Broken(), docs], Budget(context_window=100), counter=COUNTER)
    result = orchestrator.build_sync(Step())
    assert result.decision("d").status == "included"
    assert (
        "source 'memory' failed (RuntimeError: disk on fire)"
        in result.decision("memory:unavailable").reason
    )


def test_duplicate_ids_are_rejected():
    a = StaticSource("documents", [ContextItem(id="x", source="documents", content="a")])
    b = StaticSource("memory", [ContextItem(id="x", source="memory", content="b")])
    with pytest.raises(InvalidItemError, match="share the id 'x'"):
        Orchestrator([a, b], Budget(context_window=100), counter=COUNTER).build_sync(Step())


def test_sources_must_be_distinct_and_sections_known():
    with pytest.raises(ConfigError, match="distinct"):
        Orchestrator([InputSource(), InputSource()], Budget(context_window=100))
    with pytest.raises(BudgetError, match="unknown sources"):
        Orchestrator(
            [InputSource()], Budget(context_window=100, sections={"tools": Section(cap=5)})
        )


def test_pinned_instructions_and_input_over_budget_fail_loudly():
    orchestrator = Orchestrator(
        [InstructionsSource("word " * 500), InputSource()],
        Budget(context_window=200),
        counter=COUNTER,
    )
    with pytest.raises(BudgetError, match="instructions"):
        orchestrator.build_sync(Step(input="hi"))


class HalvingCompressor:
    name = "halve"

    def __init__(self):
        self.seen = []
        self.targets = []

    async def compress(self, items, query, target_tokens):
        self.seen.extend(i.id for i in items)
        self.targets.append(target_tokens)
        out = []
        for i in items:
            short = " ".join(i.content.split()[: len(i.content.split()) // 2])
            before, after = COUNTER.count(i.content), COUNTER.count(short)
            decision = ContextDecision(
                i.id, i.source, DecisionStatus.COMPRESSED, before, after, i.score, "halved"
            )
            out.append(Compressed(i.with_content(short), decision))
        return out


def test_compressors_shorten_only_compressible_items_and_are_recorded():
    compressor = HalvingCompressor()
    docs = StaticSource(
        "documents",
        [
            ContextItem(id="long", source="documents", content="fact " * 200, score=0.9),
            ContextItem(
                id="keep",
                source="documents",
                content="exact quote " * 20,
                compressible=False,
                score=0.9,
            ),
        ],
    )
    orchestrator = Orchestrator(
        [InstructionsSource("Be exact."), docs],
        Budget(context_window=250),
        counter=COUNTER,
        compressors=[compressor],
    )
    result = orchestrator.build_sync(Step())
    assert compressor.seen == ["long"]
    # toward the room left beside the pinned and incompressible items
    assert 0 < compressor.targets[0] < 200
    decision = result.decision("long")
    assert decision.status.value == "compressed"
    assert decision.tokens_after < decision.tokens_before
    assert "compressed from" in decision.reason
    assert result.decision("keep").status.value == "included"


def test_compressors_are_not_called_when_everything_fits():
    compressor = HalvingCompressor()
    docs = StaticSource(
        "documents", [ContextItem(id="long", source="documents", content="fact " * 200, score=0.9)]
    )
    orchestrator = Orchestrator(
        [docs], Budget(context_window=2000), counter=COUNTER, compressors=[compressor]
    )
    result = orchestrator.build_sync(Step())
    assert compressor.seen == []
    assert result.decision("long").status.value == "included"


def test_usage_accounts_per_source():
    docs = StaticSource(
        "documents",
        [
            ContextItem(id=f"d{i}", source="documents", content=f"doc {i} " * 30, score=i / 10)
            for i in range(10)
        ],
    )
    orchestrator = Orchestrator([docs, InputSource()], Budget(context_window=300), counter=COUNTER)
    result = orchestrator.build_sync(Step(input="question"))
    usage = result.usage.per_source["documents"]
    assert usage.offered == 10
    assert 0 < usage.kept < 10
    assert usage.kept_tokens == sum(
        d.tokens_after for d in result.decisions if d.source == "documents"
    )
    assert result.usage.request_tokens == COUNTER.count_request(result.messages, result.tools)
