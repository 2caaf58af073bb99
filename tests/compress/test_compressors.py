"""What each compressor keeps, drops and says, through the public API."""

from __future__ import annotations

import asyncio

import pytest

from contextos import CompressionError, ContextItem, TiktokenCounter
from contextos.compress import (
    ClusterCompressor,
    DynamicCutoff,
    ExtractivePruner,
    HistoryCompactor,
    LLMSummarizer,
    Structurizer,
    compressor_named,
    default_compressor,
    kept_items,
)
from contextos.compress.extractive import HEADING
from contextos.compress.structure import outline
from contextos.compress.summarize import GENERATED
from contextos.testing import HashingEmbedder, Reply, ScriptedModel

COUNTER = TiktokenCounter(encoding="o200k_base")


def doc(id, text, **fields):
    return ContextItem(id=id, source="documents", content=text, **fields)


PASSAGES = [
    doc(
        "bridges",
        "The city has many bridges. Most were built in stone. Traffic is heavy in summer.",
    ),
    doc(
        "tower",
        "Gustave Eiffel's company designed the tower. It was completed in 1889 for the World's Fair. "
        "Visitors climb it every day. The tower is repainted every seven years.",
    ),
    doc(
        "food",
        "Bakeries open early. Croissants are a common breakfast. Markets sell cheese and fruit.",
    ),
]


def test_extractive_keeps_the_answering_sentence_with_its_antecedent_and_reranks():
    results = ExtractivePruner(counter=COUNTER).compress_sync(
        PASSAGES, "When was the Eiffel tower completed?", 24
    )
    kept = kept_items(results)
    assert kept[0].id == "tower"  # reranked by what survived
    assert "completed in 1889" in kept[0].content
    # "It was completed ..." leans on the sentence before: kept with it
    assert "Gustave Eiffel's company designed the tower." in kept[0].content
    assert sum(COUNTER.count(i.content) for i in kept) <= 24
    tower = next(r.decision for r in results if r.decision.id == "tower")
    assert tower.status.value == "compressed" and tower.tokens_after < tower.tokens_before
    assert "removed 2 of 4 sentences" in tower.reason and "Visitors" not in kept[0].content


def test_extractive_keeps_a_heading_with_what_it_keeps():
    heading = "Document [2](Title: Eiffel Tower) "
    item = doc("t", heading + PASSAGES[1].content, metadata={HEADING: heading})
    (result,) = ExtractivePruner(counter=COUNTER).compress_sync(
        [item], "When was it completed?", 30
    )
    assert result.item.content.startswith(heading) and "1889" in result.item.content


def test_within_the_target_is_a_recorded_no_op():
    results = default_compressor(COUNTER).compress_sync(PASSAGES, "bridges", 10_000)
    assert [r.item for r in results] == PASSAGES
    assert all(
        r.decision.status.value == "included" and r.decision.reason == "already within the target"
        for r in results
    )


@pytest.mark.parametrize("target", [0, -5, 2.5])
def test_impossible_targets_are_errors(target):
    with pytest.raises(CompressionError, match="target"):
        default_compressor(COUNTER).compress_sync(PASSAGES, "q", target)


def test_non_items_are_errors():
    with pytest.raises(CompressionError, match="not a ContextItem"):
        default_compressor(COUNTER).compress_sync(["just text"], "q", 5)
    with pytest.raises(CompressionError, match="unknown compression method 'nope'"):
        compressor_named("nope")


def test_empty_passages_cost_nothing_and_stay():
    results = default_compressor(COUNTER).compress_sync([doc("e", ""), *PASSAGES], "tower", 20)
    assert next(r for r in results if r.decision.id == "e").decision.tokens_before == 0


def test_cutoff_stops_where_scores_fall_steeply():
    # 5 tokens each
    items = [
        doc(f"d{n}", f"passage number {n}", score=s)
        for n, s in enumerate([0.9, 0.85, 0.8, 0.2, 0.15])
    ]
    results = DynamicCutoff(counter=COUNTER, steepness=0.4).compress_sync(items, "", 24)
    # the target would allow a fourth
    assert [i.id for i in kept_items(results)] == [
        "d0",
        "d1",
        "d2",
    ]
    assert "score fell" in next(r for r in results if r.decision.id == "d3").decision.reason
    flat = [doc(f"d{n}", f"passage number {n}", score=0.5) for n in range(5)]
    # then the target decides
    assert len(kept_items(DynamicCutoff(counter=COUNTER).compress_sync(flat, "", 11))) == 2


REVIEWS = [
    doc(f"r{n}", text)
    for n, text in enumerate(
        [
            "Great battery life, lasts two days.",
            "Battery life is great, lasts two days!",
            "great battery life lasts two days",
            "The screen cracked after a week.",
            "Screen cracked after one week.",
            "the screen cracked after a week",
        ]
    )
]


def test_cluster_keeps_one_representative_per_cluster():
    results = ClusterCompressor(
        counter=COUNTER, embedder=HashingEmbedder(dimension=256), similarity=0.5
    ).compress_sync(REVIEWS, "", 20)
    kept = kept_items(results)
    assert len(kept) == 2
    assert {("battery" in i.content.lower()) for i in kept} == {True, False}
    assert any("represents 3 items" in r.decision.reason for r in results)


def test_cluster_with_a_summarizer_labels_the_summary_as_generated():
    model = ScriptedModel(
        responder=lambda request: Reply.text("Reviewers praise the two-day battery.")
    )
    compressor = ClusterCompressor(
        counter=COUNTER,
        embedder=HashingEmbedder(dimension=256),
        similarity=0.5,
        summarizer=LLMSummarizer(model, counter=COUNTER),
    )
    kept = kept_items(compressor.compress_sync(REVIEWS, "", 24))
    assert any(GENERATED in i.metadata for i in kept)


def test_summarizer_is_query_focused_within_share_and_labelled():
    model = ScriptedModel(
        responder=lambda request: Reply.text("The tower was completed in 1889 " + "and more " * 200)
    )
    results = LLMSummarizer(model, counter=COUNTER).compress_sync(
        PASSAGES[1:2], "When was it completed?", 20
    )
    (result,) = results
    assert COUNTER.count(result.item.content) <= 20 and result.item.content.startswith(
        "The tower was completed in 1889"
    )
    assert result.item.metadata[GENERATED] and "generated by" in result.decision.reason
    prompt = model.requests[0].messages[0]["content"]
    assert "When was it completed?" in prompt and PASSAGES[1].content in prompt


def test_structurizer_builds_an_outline_from_the_text_own_structure():
    text = "# Opening hours\n- Monday to Friday: 9 to 17\n- Saturday: 10 to 14\nPrices:\n- Adults 12 euros\n- Children free"
    sections, structured = outline(text)
    assert structured and [s.heading for s in sections] == ["Opening hours", "Prices"]
    (result,) = Structurizer(counter=COUNTER).compress_sync(
        [doc("info", text + "\n" + "Filler sentence here. " * 20)], "children price", 30
    )
    assert "## Prices" in result.item.content and "- Children free" in result.item.content
    assert COUNTER.count(result.item.content) <= 30


def test_structurizer_asks_the_model_only_where_no_structure_is_found():
    model = ScriptedModel(
        responder=lambda request: Reply.text(
            "## Tower\n- completed in 1889\n- repainted every seven years"
        )
    )
    results = Structurizer(client=model, counter=COUNTER).compress_sync(PASSAGES[1:2], "", 30)
    assert results[0].item.content.startswith("## Tower") and results[0].item.metadata[GENERATED]
    assert len(model.requests) == 1


def tool_turns():
    turns = []
    for n in range(3):
        turns.append(
            ContextItem(
                id=f"call{n}",
                source="conversation",
                role="assistant",
                content="",
                position=2 * n,
                group=f"g{n}",
            )
        )
        body = (
            f"Order ORD-{1000 + n} shipped; total 249.99 EUR; tracking 1Z999AA1{n}.\n"
            + "line of detail " * 60
        )
        if n == 0:
            body = "Error: warehouse W-7 timed out after 30 s\n" + body
        turns.append(
            ContextItem(
                id=f"result{n}",
                source="conversation",
                role="tool",
                content=body,
                position=2 * n + 1,
                group=f"g{n}",
                payload={"tool_call_id": f"c{n}", "name": "orders"},
            )
        )
    return turns


class Shelf:
    """A MemoryStore's ``add``, enough to check what the compactor stores."""

    def __init__(self):
        self.records = {}

    def add(self, record):
        self.records[record.id] = record
        return record


def test_history_compaction_digests_old_results_keeping_ids_numbers_errors_and_a_pointer():
    shelf = Shelf()
    turns = tool_turns()
    total = sum(COUNTER.count(t.content) for t in turns)
    results = HistoryCompactor(memory=shelf, counter=COUNTER).compress_sync(turns, "", total - 200)
    by_id = {r.decision.id: r for r in results}
    oldest = by_id["result0"].item.content
    assert "ORD-1000" in oldest and "249.99" in oldest and "timed out" in oldest
    assert (
        "memory record tool-result-result0" in oldest
        and shelf.records["tool-result-result0"].content == turns[1].content
    )
    # still answers its call
    assert by_id["result0"].item.payload == {
        "tool_call_id": "c0",
        "name": "orders",
    }
    assert by_id["result2"].item is turns[5]  # the newest result is never digested
    assert sum(r.decision.tokens_after for r in results if r.item) <= total - 200


def test_per_source_routes_each_source_to_its_compressor_within_one_target():
    from contextos.compress import PerSource

    memory = ContextItem(id="m", source="memory", content="The user prefers the window seat. " * 10)
    other = ContextItem(id="o", source="notes", content="unrelated note " * 5)
    router = PerSource(
        {"documents": default_compressor(COUNTER), "memory": DynamicCutoff(counter=COUNTER)},
        counter=COUNTER,
    )
    results = asyncio.run(router.compress([*PASSAGES, memory, other], "tower", 40))
    assert sorted(r.decision.id for r in results) == sorted(["bridges", "tower", "food", "m", "o"])
    assert (
        next(r for r in results if r.decision.id == "o").decision.reason
        == "no compressor for its source"
    )
    assert sum(r.decision.tokens_after for r in results if r.item is not None) <= 40
    assert "extractive" in router.name and "cutoff" in router.name


def test_run_compressor_refuses_a_compressor_that_answers_for_other_items():
    from contextos import ConfigError
    from contextos.context.sources import run_compressor

    class Liar:
        name = "liar"

        async def compress(self, items, query, target_tokens):
            return await default_compressor(COUNTER).compress(PASSAGES[:1], query, target_tokens)

    with pytest.raises(ConfigError, match="one result per item"):
        asyncio.run(run_compressor(Liar(), PASSAGES, "q", 10, counter=COUNTER))
