"""Every public constructor raises under ``ContextOSError`` for bad arguments, never pydantic's
``ValidationError``, ``ValueError``, ``TypeError`` or ``AttributeError``."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import contextos
from contextos import ContextOSError


def _cases(tmp: Path) -> list[tuple[str, object]]:
    from contextos import (
        Agent,
        Budget,
        ContextItem,
        HashingEmbedder,
        ModelClient,
        Orchestrator,
        RetryPolicy,
        RunLimits,
        Section,
        Step,
        Tool,
        ToolCatalog,
        ToolExecutor,
        VectorMemory,
    )
    from contextos.agents.hooks import ToolDecision
    from contextos.llm import Endpoint
    from contextos.memory import MemoryRecord, ScoringWeights

    return [
        ("ContextItem(content=5)", lambda: ContextItem(id="a", source="documents", content=5)),
        ("ContextItem(no id)", lambda: ContextItem(source="documents", content="x")),
        ("ContextItem(role=bad)", lambda: ContextItem(id="a", source="documents", role="boss")),
        ("ContextItem(score=nan)", lambda: ContextItem(id="a", source="documents", score=math.nan)),
        ("ContextItem(score=inf)", lambda: ContextItem(id="a", source="documents", score=math.inf)),
        ("Step(index=x)", lambda: Step(index="x")),
        ("RunLimits(max_steps=0)", lambda: RunLimits(max_steps=0)),
        ("RunLimits(max_cost_usd=-1)", lambda: RunLimits(max_cost_usd=-1)),
        ("RunLimits(typo)", lambda: RunLimits(max_step=3)),
        ("RetryPolicy(max_attempts=0)", lambda: RetryPolicy(max_attempts=0)),
        ("Endpoint(model=None)", lambda: Endpoint(model=None)),
        ("ToolDecision(action=maybe)", lambda: ToolDecision(action="maybe")),
        ("Budget(context_window=x)", lambda: Budget(context_window="x")),
        ("Section(floor=-1)", lambda: Section(floor=-1)),
        ("ToolExecutor(timeout_s=0)", lambda: ToolExecutor(timeout_s=0)),
        ("ToolExecutor(tools=[5])", lambda: ToolExecutor([5])),
        ("Tool(name=5)", lambda: Tool(name=5)),
        ("ModelClient(timeout=x)", lambda: ModelClient("offline/demo", timeout="x")),
        ("ModelClient(model=5)", lambda: ModelClient(5)),
        (
            "VectorMemory(mode=bad)",
            lambda: VectorMemory(tmp / "m1", embedder=HashingEmbedder(), mode="bad"),
        ),
        (
            "VectorMemory(dedup_threshold=2)",
            lambda: VectorMemory(tmp / "m2", embedder=HashingEmbedder(), dedup_threshold=2),
        ),
        (
            "VectorMemory(table=../x)",
            lambda: VectorMemory(tmp / "m3", embedder=HashingEmbedder(), table="../x"),
        ),
        (
            "VectorMemory(weights=dict)",
            lambda: VectorMemory(tmp / "m4", embedder=HashingEmbedder(), weights={"recency": 1}),
        ),
        (
            "MemoryRecord(importance=nan)",
            lambda: MemoryRecord(id="a", content="x", importance=math.nan),
        ),
        ("ScoringWeights(recency=-1)", lambda: ScoringWeights(recency=-1)),
        ("HashingEmbedder(dimension=0)", lambda: HashingEmbedder(dimension=0)),
        (
            "ToolCatalog.upsert([dict])",
            lambda: ToolCatalog.open(tmp / "c1", embedder=HashingEmbedder()).upsert(
                [{"name": "x"}]
            ),
        ),
        ("Orchestrator([object()])", lambda: Orchestrator([object()], Budget(context_window=100))),
        ("Orchestrator(budget=100)", lambda: Orchestrator([], 100)),
        ("Agent(client=None, tools=[5])", lambda: Agent(ModelClient("offline/demo"), tools=[5])),
        ("Agent(limits=dict)", lambda: Agent(ModelClient("offline/demo"), limits={"max_steps": 1})),
    ]


def test_every_bad_constructor_call_raises_a_contextos_error(tmp_path: Path) -> None:
    escaped = []
    for label, make in _cases(tmp_path):
        try:
            make()
        except ContextOSError as exc:
            assert str(exc), label
        except Exception as exc:
            escaped.append(f"{label}: {type(exc).__name__}: {str(exc)[:120]}")
        else:
            escaped.append(f"{label}: accepted")
    assert not escaped, "\n".join(escaped)


def test_the_helper_names_the_field_and_keeps_the_error_class() -> None:
    with pytest.raises(
        contextos.ConfigError,
        match=r"invalid run limits \(max_steps: Input should be greater than or equal to 1\)",
    ):
        contextos.RunLimits(max_steps=0)
    with pytest.raises(contextos.InvalidItemError, match=r"invalid context item 'a' \(score"):
        contextos.ContextItem(id="a", source="documents", score=math.inf)
