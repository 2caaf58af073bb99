"""The vectorised redundancy index agrees with the plain definitions it speeds up."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from contextos.context._redundancy import (
    COMMON_VALUE_MIN,
    SKETCH_SIZE,
    NeighbourCache,
    neighbours,
    shingles,
    similar_pairs,
    similarities,
    similarity,
    sketch_matrix,
)

sketch = st.sets(st.integers(0, 60), max_size=SKETCH_SIZE).map(lambda s: tuple(sorted(s)))


@given(st.lists(st.tuples(sketch, sketch), min_size=1, max_size=30))
def test_vectorised_similarity_is_the_scalar_one(pairs):
    left = sketch_matrix([a for a, _ in pairs])
    right = sketch_matrix([b for _, b in pairs])
    assert similarities(left, right).tolist() == [similarity(a, b) for a, b in pairs]


def brute_force_pairs(sketches, counted, population):
    """Every pair sharing a value that at most `common` counted sketches hold, by plain loops."""
    common = max(COMMON_VALUE_MIN, int(0.01 * population))
    holders = {}
    for n, s in enumerate(sketches):
        for v in s:
            holders.setdefault(v, []).append(n)
    found = {}
    for rows in holders.values():
        if not 1 <= sum(counted[r] for r in rows) <= common:
            continue
        for a, b in itertools.combinations(sorted(rows), 2):
            sim = similarity(sketches[a], sketches[b])
            if sim > 0 and (counted[a] or counted[b]):
                found[(a, b)] = sim
    return found


@settings(max_examples=60)
@given(st.lists(st.tuples(sketch, st.booleans()), max_size=40))
def test_similar_pairs_are_those_of_the_plain_postings(rows):
    sketches = [s for s, _ in rows]
    counted = [c for _, c in rows]
    i, j, sim = similar_pairs(sketch_matrix(sketches), np.array(counted, dtype=bool), len(rows))
    assert dict(zip(zip(i.tolist(), j.tolist()), sim.tolist())) == brute_force_pairs(
        sketches, counted, len(rows)
    )


def test_values_that_many_hold_pair_nobody():
    # Twelve texts share one stock phrase and nothing else: above COMMON_VALUE_MIN holders, so
    # the phrase does not make them neighbours; two of them sharing more still are.
    stock = 7
    sketches = [(stock, 100 + n) for n in range(12)] + [(stock, 500, 501), (500, 501, 502)]
    found = neighbours(sketches, [True] * len(sketches), len(sketches))
    assert all(not found[n] for n in range(12))
    assert [other for other, _ in found[12]] == [13]


def test_near_duplicate_texts_are_neighbours():
    a = shingles("the quick brown fox jumps over the lazy dog near the river bank")
    b = shingles("the quick brown fox jumps over the lazy dog near the river")
    c = shingles("an entirely different sentence about tokens and budgets")
    found = neighbours([a, b, c], [True, True, True], 3)
    ((other, sim),) = found[0]
    assert other == 1 and sim > 0.8
    assert found[2] == []


def test_cache_reuses_and_forgets():
    cache = NeighbourCache(size=2)
    sketches = [(1, 2, 3), (1, 2, 4)]
    first = cache.get(("a", "b"), sketches, (True, True), 2)
    assert cache.get(("a", "b"), sketches, (True, True), 2) is first
    assert cache.get(("a", "b"), sketches, (True, False), 2) is not first, (
        "what counts is part of the key"
    )
    cache.get(("c", "d"), sketches, (True, True), 2)  # evicts the least recently used
    assert cache.get(("a", "b"), sketches, (True, True), 2) is not first
