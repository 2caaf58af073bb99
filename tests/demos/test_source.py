"""DemoSource in an Orchestrator and an Agent: placement, its own section budget, episodes as a pool."""

from __future__ import annotations

import pytest

from contextos import (
    Agent,
    Budget,
    DemoError,
    InputSource,
    InstructionsSource,
    Orchestrator,
    Section,
    StaticSource,
    Step,
)
from contextos.context.items import ContextItem
from contextos.demos import DemoSource, MmrRetriever
from contextos.embed import HashingEmbedder
from contextos.memory import EpisodicMemory, Trajectory, TrajectoryStep
from contextos.testing import ScriptedModel


def test_demonstrations_render_before_memory_and_documents(pool):
    demos = DemoSource(pool, k=2)
    memory = StaticSource(
        "memory", [ContextItem(id="m", source="memory", content="The user likes short answers.")]
    )
    documents = StaticSource(
        "documents",
        [
            ContextItem(
                id="d", source="documents", content="Reviews are rated positive or negative."
            )
        ],
    )
    orchestrator = Orchestrator(
        [InstructionsSource("Classify the review."), documents, memory, demos, InputSource()],
        demos.within(Budget(context_window=4096)),
    )
    built = orchestrator.build_sync(Step(input="a boring and tedious film"))
    system = built.messages[0]["content"]
    assert (
        system.index("Classify the review.")
        < system.index("## Examples")
        < system.index("## Memory")
        < system.index("## Documents")
    )
    shown = [i for i in built.items if i.source == "demonstrations"]
    # the closest right before what follows
    assert len(shown) == 2 and shown[-1].metadata["rank"] == 1
    assert built.messages[-1] == {"role": "user", "content": "a boring and tedious film"}


def test_the_section_cap_bounds_the_demonstrations(pool):
    demos = DemoSource(MmrRetriever(pool, k=6), section=Section(cap=40))
    budget = demos.within(Budget(context_window=4096))
    assert budget.sections["demonstrations"].cap == 40
    assert (
        demos.within(Budget(context_window=4096, sections={"demonstrations": Section(cap=99)}))
        .sections["demonstrations"]
        .cap
        == 99
    )
    built = Orchestrator([demos, InputSource()], budget).build_sync(
        Step(input="how many moons does jupiter have")
    )
    kept = built.usage.per_source["demonstrations"]
    assert built.usage.per_source["demonstrations"].offered == 6
    assert 0 < kept.kept < 6 and kept.kept_tokens <= 40


def test_an_agent_shows_the_model_its_demonstrations(pool):
    model = ScriptedModel(["negative"])
    demos = DemoSource(pool, k=3)
    agent = Agent(
        model,
        instructions="Answer with the label only.",
        sources=[demos],
        budget=demos.within(Budget(context_window=4096)),
    )
    result = agent.run("painfully dull and badly acted")
    assert result.answer == "negative"
    system = model.requests[0].messages[0]["content"]
    assert (
        "## Examples" in system
        and "Input: painfully slow and badly acted\nOutput: negative" in system
    )


def test_episodic_trajectories_become_a_pool(tmp_path):
    episodes = EpisodicMemory(tmp_path / "episodes", embedder=HashingEmbedder(dimension=384))
    episodes.record(
        Trajectory(
            id="t1",
            task="book a table for two at an italian restaurant",
            steps=[
                TrajectoryStep(
                    tool_calls=[{"name": "book", "arguments": {"time": "20:00"}}],
                    observation="booked",
                )
            ],
            outcome="Booked Luigi's at 8pm",
            success=True,
        )
    )
    episodes.record(
        Trajectory(id="t2", task="what is the weather in Paris", outcome="sunny", success=True)
    )
    episodes.record(
        Trajectory(id="t3", task="book a flight to Rome", outcome="no seats", success=False)
    )
    source = DemoSource.from_episodes(episodes, tmp_path / "demos", k=1)
    assert len(source.retriever.pool) == 2  # the failed one is left out
    items = (
        Orchestrator([source], Budget(context_window=2048))
        .build_sync(Step(input="reserve a table at an italian place"))
        .items
    )
    assert [i.metadata["demo_id"] for i in items] == ["episode-t1"]
    assert (
        items[0].content.startswith("Input: book a table for two")
        and 'call book({"time": "20:00"})' in items[0].content
    )
    episodes.record(Trajectory(id="t4", task="order a pizza", outcome="ordered", success=True))
    assert source.refresh() == 3 and len(source.retriever.pool) == 3


def test_an_empty_pool_offers_nothing(tmp_path):
    episodes = EpisodicMemory(tmp_path / "episodes", embedder=HashingEmbedder(dimension=384))
    source = DemoSource.from_episodes(episodes, tmp_path / "demos")
    built = Orchestrator([source, InputSource()], Budget(context_window=1024)).build_sync(
        Step(input="book a table")
    )
    assert [i.source for i in built.items] == ["input"]


def test_a_source_needs_a_pool_or_retriever(pool):
    with pytest.raises(DemoError, match="DemoPool or a DemoRetriever"):
        DemoSource("pool")  # type: ignore[arg-type]
    with pytest.raises(DemoError, match="from_episodes"):
        DemoSource(pool).refresh()


def test_the_examples_stay_put_across_the_steps_of_a_run(pool):
    from contextos.testing import Reply

    def lookup(title: str) -> str:
        """Look a film up.

        Args:
            title: The film's title.
        """
        return f"{title}: 2 stars"

    model = ScriptedModel([Reply.tool_call("lookup", {"title": "Dune"}), "negative"])
    demos = DemoSource(pool, k=2)
    agent = Agent(
        model,
        instructions="Label the review.",
        tools=[lookup],
        sources=[demos],
        budget=demos.within(Budget(context_window=4096)),
    )
    assert agent.run("painfully dull and badly acted").answer == "negative"
    first, second = (r.messages[0]["content"] for r in model.requests)
    assert "## Examples" in first and first == second  # the same system prefix at both steps
