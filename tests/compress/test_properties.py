"""The invariants every compressor keeps, on random texts and targets (hypothesis)."""

from __future__ import annotations

import asyncio
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextos import ContextItem, TiktokenCounter
from contextos.compress import (
    ClusterCompressor,
    DynamicCutoff,
    ExtractivePruner,
    HistoryCompactor,
    Structurizer,
)
from contextos.compress.base import COMPRESSION
from contextos.testing import HashingEmbedder

COUNTER = TiktokenCounter(encoding="o200k_base")
WORDS = [
    "Paris",
    "river",
    "it",
    "He",
    "1889",
    "tower",
    "the",
    "capital",
    "error",
    "id-42",
    "built",
    "was",
    "of",
    "3.5",
    "Seine",
]

sentence = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(
    lambda w: " ".join(w).capitalize() + "."
)
text = st.lists(sentence, min_size=0, max_size=6).map(" ".join)


@st.composite
def requests(draw):
    texts = draw(st.lists(text, min_size=1, max_size=6))
    roles = draw(
        st.lists(
            st.sampled_from(["user", "assistant", "tool"]), min_size=len(texts), max_size=len(texts)
        )
    )
    items = [
        ContextItem(
            id=f"i{n}",
            source="documents",
            role=r,
            content=t,
            position=n,
            group=f"g{n}",
            score=n / 10,
        )
        for n, (t, r) in enumerate(zip(texts, roles))
    ]
    total = sum(COUNTER.count(i.content) for i in items)
    target = draw(st.integers(min_value=1, max_value=max(1, total + 5)))
    query = draw(
        st.sampled_from(
            ["", "Which river runs through Paris?", "when was the tower built", "error id-42"]
        )
    )
    return items, query, target


COMPRESSORS = [
    ExtractivePruner(counter=COUNTER),
    DynamicCutoff(counter=COUNTER),
    ClusterCompressor(counter=COUNTER, embedder=HashingEmbedder(dimension=64)),
    Structurizer(counter=COUNTER),
    HistoryCompactor(counter=COUNTER, digest_tokens=30),
]
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _words(s: str) -> set[str]:
    return set(re.findall(r"[\w.-]+", s.lower()))


@FAST
@given(requests())
def test_never_above_the_target_and_one_result_per_item(request):
    items, query, target = request
    total = sum(COUNTER.count(i.content) for i in items)
    for compressor in COMPRESSORS:
        results = asyncio.run(compressor.compress(items, query, target))
        assert sorted(r.decision.id for r in results) == sorted(i.id for i in items), (
            compressor.name
        )
        kept = [r.item for r in results if r.item is not None]
        assert all(r.item is None or r.item.id == r.decision.id for r in results)
        used = sum(COUNTER.count(i.content) for i in kept)
        assert used == sum(r.decision.tokens_after for r in results), compressor.name
        if total <= target:
            assert kept == items or {i.id for i in kept} == {i.id for i in items}, compressor.name
        else:
            assert used <= target, (compressor.name, used, target)


@FAST
@given(requests())
def test_deterministic_and_inventing_no_words(request):
    items, query, target = request
    originals = {i.id: i for i in items}
    for compressor in COMPRESSORS:
        first = asyncio.run(compressor.compress(items, query, target))
        again = asyncio.run(compressor.compress(items, query, target))
        assert [(r.decision.id, r.item and r.item.content) for r in first] == [
            (r.decision.id, r.item and r.item.content) for r in again
        ]
        for r in first:
            if r.item is None or r.item.content == originals[r.item.id].content:
                continue
            assert COMPRESSION in r.item.metadata
            # only the text's own words (the outline adds "-")
            if compressor.name in ("extractive", "structure"):
                assert _words(r.item.content) - {"-", "##"} <= _words(
                    originals[r.item.id].content
                ), compressor.name
