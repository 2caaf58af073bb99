"""``PlaybookSource``: relevant bullets, weighted by their counters, under their own budget, citable."""

from __future__ import annotations

from pathlib import Path

import pytest

from contextos import Budget, InputSource, InstructionsSource, Orchestrator, Step
from contextos.context.items import CITE_ID
from contextos.playbook import Playbook, PlaybookSource

LESSONS = [
    {
        "op": "add",
        "section": "pitfalls",
        "content": "Convert both amounts to the same currency before comparing prices.",
    },
    {
        "op": "add",
        "section": "strategies",
        "content": "Compare prices only after converting them to one currency.",
    },
    {
        "op": "add",
        "section": "code",
        "content": "Read CSV files with the csv module, never by splitting on commas.",
    },
]
TASK = "Which is cheaper: 40 euros or 45 dollars?"


@pytest.fixture(scope="module")
def playbook(tmp_path_factory: pytest.TempPathFactory) -> Playbook:
    playbook = Playbook(tmp_path_factory.mktemp("pb"))
    playbook.apply(LESSONS)
    return playbook


async def test_relevant_bullets_are_offered_with_their_ids_and_a_request_to_cite(
    playbook: Playbook,
) -> None:
    items = await PlaybookSource(playbook).candidates(Step(input=TASK))
    header, *bullets = items
    assert header.priority == 1 and "cite" in header.content
    assert {i.metadata[CITE_ID] for i in bullets} == {"pb-0001", "pb-0002"}
    # the CSV lesson is not about prices
    assert "pb-0003" not in {i.metadata[CITE_ID] for i in bullets}
    assert all(i.content.startswith(f"[{i.metadata[CITE_ID]}] ") for i in bullets)


async def test_counters_weigh_the_score_and_a_harmful_bullet_drops_out(playbook: Playbook) -> None:
    source = PlaybookSource(playbook)
    before = {i.metadata.get(CITE_ID): i.score for i in await source.candidates(Step(input=TASK))}
    playbook.apply([{"op": "tag", "id": "pb-0002", "helpful": 3}])
    after = {i.metadata.get(CITE_ID): i.score for i in await source.candidates(Step(input=TASK))}
    assert after["pb-0002"] == pytest.approx(before["pb-0002"] * (1 + 0.5 * 3 / 4))
    assert after["pb-0001"] == pytest.approx(before["pb-0001"])
    playbook.apply([{"op": "tag", "id": "pb-0001", "harmful": 1}])
    offered = {i.metadata.get(CITE_ID) for i in await source.candidates(Step(input=TASK))}
    assert "pb-0001" not in offered and "pb-0002" in offered
    # helpful again as often as harmful: back in
    playbook.apply([{"op": "tag", "id": "pb-0001", "helpful": 1}])
    assert "pb-0001" in {i.metadata.get(CITE_ID) for i in await source.candidates(Step(input=TASK))}


async def test_the_offer_stays_within_its_own_token_budget(playbook: Playbook) -> None:
    source = PlaybookSource(playbook, max_tokens=60, min_similarity=0.0)
    items = await source.candidates(Step(input=TASK))
    assert 2 <= len(items) < 4
    assert sum(playbook.count_tokens(i.content) for i in items) <= 60


async def test_the_orchestrator_renders_the_playbook_section_in_the_system_message(
    playbook: Playbook,
) -> None:
    orchestrator = Orchestrator(
        [InstructionsSource("Answer briefly."), PlaybookSource(playbook), InputSource()],
        Budget(context_window=2048),
    )
    assembled = await orchestrator.build(Step(input=TASK))
    system = assembled.messages[0]["content"]
    assert "## Playbook" in system and "[pb-0002] Compare prices" in system
    assert system.index("cite its id") < system.index("[pb-0002]")


async def test_an_empty_playbook_offers_nothing(tmp_path: Path) -> None:
    assert await PlaybookSource(Playbook(tmp_path / "empty")).candidates(Step(input=TASK)) == []
