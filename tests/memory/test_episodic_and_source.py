"""EpisodicMemory and MemorySource against real LanceDB, feeding a real Orchestrator."""

from __future__ import annotations

import time

import pytest

from contextos import Budget, Orchestrator, Section, Step, TiktokenCounter
from contextos.embed import HashingEmbedder
from contextos.errors import MemoryStoreError, RecordNotFoundError
from contextos.memory import (
    EpisodicMemory,
    MemoryRecord,
    MemorySource,
    MemoryStore,
    ScoringWeights,
    Trajectory,
    TrajectoryStep,
    VectorMemory,
    WorkingMemory,
    trajectory_from_messages,
)

COUNTER = TiktokenCounter()


def episodes(path) -> EpisodicMemory:
    return EpisodicMemory(path, embedder=HashingEmbedder(dimension=256))


def test_trajectories_are_found_by_task_similarity(tmp_path):
    e = episodes(tmp_path)
    assert isinstance(e, MemoryStore)
    book = Trajectory(
        id="t-book",
        task="book a table for two at an italian restaurant",
        steps=[
            TrajectoryStep(
                thought="search first",
                tool_calls=[{"name": "search_restaurants", "arguments": {"cuisine": "italian"}}],
                observation="Luigi's has a table at 8pm",
            ),
            TrajectoryStep(
                tool_calls=[{"name": "book", "arguments": {"where": "Luigi's", "time": "20:00"}}],
                observation="booked",
            ),
        ],
        outcome="Booked Luigi's at 8pm",
        success=True,
        metadata={"user": "u1"},
    )
    weather = Trajectory(
        id="t-weather",
        task="what is the weather in Paris tomorrow",
        outcome="sunny",
        success=True,
        metadata={"user": "u2"},
    )
    failed = Trajectory(
        id="t-fail",
        task="book a table for two at a french restaurant",
        outcome="no tables",
        success=False,
    )
    for t in (book, weather, failed):
        e.record(t)
    found = e.similar("please book a table for four at a restaurant", k=2)
    # the failed run is not offered as a demonstration
    assert [t.id for t in found] == [
        "t-book",
        "t-weather",
    ]
    assert found[0] == book
    assert {
        t.id for t in e.similar("book a table for two restaurant", k=2, successful_only=False)
    } == {"t-book", "t-fail"}
    assert [t.id for t in e.similar("weather", k=3, filters={"user": "u2"})] == ["t-weather"]
    demo = book.as_demonstration()
    assert 'call search_restaurants({"cuisine": "italian"})' in demo and demo.endswith(
        "Outcome: Booked Luigi's at 8pm"
    )
    assert e.trajectory("t-book") == book
    e.delete("t-weather")
    with pytest.raises(RecordNotFoundError):
        e.trajectory("t-weather")
    with pytest.raises(MemoryStoreError, match="trajectory"):
        e.add(MemoryRecord(id="x", content="not an episode"))


def test_bad_trajectories_are_refused_before_anything_is_written(tmp_path):
    e = episodes(tmp_path)
    with pytest.raises(MemoryStoreError, match="task is empty"):
        e.record(Trajectory(task="   ", outcome="done"))
    with pytest.raises(MemoryStoreError, match="call 0 has no name"):
        Trajectory(task="book", steps=[TrajectoryStep(tool_calls=[{"function": "book"}])])
    with pytest.raises(MemoryStoreError, match="success"):
        Trajectory(task="book", success="maybe")
    with pytest.raises(MemoryStoreError, match="recency"):
        ScoringWeights(recency=-1)
    assert e.store.count() == 0


async def test_episodes_become_demonstrations_in_the_context(tmp_path):
    e = episodes(tmp_path)
    messages = [
        {"role": "user", "content": "convert 10 USD to EUR"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "fx", "arguments": '{"from": "USD"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "0.92"},
        {"role": "assistant", "content": "10 USD is 9.20 EUR"},
    ]
    t = trajectory_from_messages(
        "convert 10 USD to EUR", messages, outcome="9.20 EUR", success=True
    )
    assert t.steps[0].observation == "0.92" and t.steps[0].tool_calls[0]["function"]["name"] == "fx"
    e.record(t)
    assembled = await Orchestrator([e], Budget(context_window=800), counter=COUNTER).build(
        Step(input="convert 25 USD to EUR")
    )
    assert (
        "## Examples" in assembled.messages[0]["content"]
        and 'call fx({"from": "USD"})' in assembled.messages[0]["content"]
    )


async def test_memory_source_proposes_scored_filtered_items_and_the_budget_decides(tmp_path):
    store = VectorMemory(tmp_path, embedder=HashingEmbedder(dimension=256), dedup_threshold=None)
    store.add_many(
        [
            MemoryRecord(
                id=f"f{i}",
                content=f"fact {i}: the user likes hiking in the alps " + "filler words here " * i,
                metadata={"user": "u1"},
            )
            for i in range(8)
        ]
        + [
            MemoryRecord(
                id="other", content="the user likes hiking in the alps", metadata={"user": "u2"}
            )
        ]
    )
    # The default relevance floor is a MiniLM cosine; the hashing embedder's scale is another one.
    source = MemorySource(
        store, k=6, filters=lambda step: {"user": step.metadata["user"]}, min_similarity=0.0
    )
    items = await source.candidates(
        Step(input="does the user like hiking?", metadata={"user": "u1"})
    )
    assert len(items) == 6 and all(i.metadata["record_id"] != "other" for i in items)
    assert all(0 < i.score for i in items) and len({i.score for i in items}) > 1
    budget = Budget(context_window=200, sections={"memory": Section(cap=90)})
    assembled = await Orchestrator([source], budget, counter=COUNTER).build(
        Step(input="does the user like hiking?", metadata={"user": "u1"})
    )
    kept = [d for d in assembled.decisions if d.tokens_after > 0]
    dropped = [d for d in assembled.decisions if d.tokens_after == 0]
    assert kept and dropped  # the cap let some in and kept others out
    assert sum(d.tokens_after for d in kept) <= 90
    with pytest.raises(Exception, match="metadata field 'usr'"):
        await Orchestrator(
            [MemorySource(store, filters={"usr": "u1"})], budget, counter=COUNTER
        ).build(Step(input="hiking"))
    with pytest.raises(MemoryStoreError, match="k must be at least 1"):
        MemorySource(store, k=0)
    with pytest.raises(MemoryStoreError, match="is not a MemoryStore"):
        MemorySource([store, "documents"])
    with pytest.raises(MemoryStoreError, match="k must be at least 1"):
        EpisodicMemory(tmp_path / "episodes", embedder=HashingEmbedder(dimension=256), k=0)


async def test_turns_leaving_the_window_land_in_long_term_memory(tmp_path):
    store = VectorMemory(tmp_path, embedder=HashingEmbedder(dimension=256))
    window = WorkingMemory(30, counter=COUNTER, sinks=[store], session="s1")
    await window.add(
        {
            "role": "user",
            "content": "My passport number ends in 4471, remember it for the visa form.",
        }
    )
    await window.add(
        {"role": "assistant", "content": "Noted, I will use it when we fill the visa form."}
    )
    await window.add(
        {"role": "user", "content": "Now let us talk about the hotel in Lisbon for next week."}
    )
    hits = store.search("passport number", k=1, filters={"session": "s1"})
    assert hits and "4471" in hits[0].record.content and hits[0].record.kind == "turn"
    assert hits[0].record.metadata.role == "user" and hits[0].record.metadata.free["position"] == 0
    assert hits[0].record.id == "s1/turn-0" and hits[0].record.created_at < time.time()


async def test_the_relevance_floor_keeps_irrelevant_memories_out_however_many_slots_are_free(
    tmp_path,
):
    from contextos.embed import default_embedder

    store = VectorMemory(tmp_path, embedder=default_embedder())
    store.add_many(
        [
            MemoryRecord(id="stamps", content="Bob collects stamps."),
            MemoryRecord(
                id="order", content="Order A-1001 shipped on Monday; it arrives Thursday."
            ),
        ]
    )
    offered = await MemorySource(store, k=5).candidates(Step(input="Where is my order A-1001?"))
    assert [i.metadata["record_id"] for i in offered] == ["order"]
    assert offered[0].metadata["similarity"] > 0.2
    everything = await MemorySource(store, k=5, min_similarity=0.0).candidates(
        Step(input="Where is my order A-1001?")
    )
    assert {i.metadata["record_id"] for i in everything} == {"stamps", "order"}
    with pytest.raises(MemoryStoreError, match="min_similarity"):
        MemorySource(store, min_similarity=2)
