"""How much candidates repeat each other: bottom-k MinHash sketches and the similar pairs of a step.

Selection penalises a candidate in proportion to its similarity with what is already selected, so
it needs, for each candidate, the others it resembles. ``similar_pairs`` finds them for a whole
step at once, in numpy: only candidates sharing a sketch value can be similar, so the pairs come
from runs of equal values in the sorted sketches, and every pair's similarity is computed in one
vectorised pass. Selection then walks these short neighbour lists as it takes items.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from itertools import pairwise

import numpy as np

SKETCH_SIZE = 16
#: Sketch values held by more than this share of the candidates (and by more than
#: COMMON_VALUE_MIN) are not used to find similar pairs: a stock phrase says little about whether
#: two texts repeat each other, and near-duplicates share most of their values anyway.
COMMON_VALUE_SHARE = 0.01
COMMON_VALUE_MIN = 8
_PAD = np.int64(1 << 32)
"""Fills short sketches: above every CRC-32, so it sorts last and is masked out."""


def shingles(text: str) -> tuple[int, ...]:
    """A bottom-k sketch of ``text``: the ``SKETCH_SIZE`` smallest hashes of its lower-case word
    bigrams (unigrams for one-word texts). Two sketches estimate the texts' Jaccard similarity
    (Broder's bottom-k MinHash), at a fixed cost however long the texts are. The hash is CRC-32,
    not Python's per-process ``hash``, so a selection is the same in every run."""
    words = text.lower().split()
    grams = set(words) if len(words) < 2 else {f"{a} {b}" for a, b in pairwise(words)}
    return tuple(sorted(zlib.crc32(g.encode("utf-8")) for g in grams)[:SKETCH_SIZE])


def similarity(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Estimated Jaccard similarity of the texts behind two sketches: the share of the union's
    ``SKETCH_SIZE`` smallest values that both sketches hold."""
    if not a or not b:
        return 0.0
    shared = set(a).intersection(b)
    if not shared:
        return 0.0
    union = sorted(set(a).union(b))[:SKETCH_SIZE]
    return sum(1 for h in union if h in shared) / len(union)


def sketch_matrix(sketches: Sequence[tuple[int, ...]]) -> np.ndarray:
    """Sketches as rows of an ``(n, SKETCH_SIZE)`` int64 array, short ones padded."""
    matrix = np.full((len(sketches), SKETCH_SIZE), _PAD, dtype=np.int64)
    for row, sketch in zip(matrix, sketches):
        row[: len(sketch)] = sketch
    return matrix


def similarities(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``similarity`` of each row of ``left`` with the same row of ``right`` (sketch matrices)."""
    merged = np.sort(np.concatenate([left, right], axis=1), axis=1)
    real = merged < _PAD
    same_as_next = np.zeros_like(real)
    same_as_next[:, :-1] = merged[:, :-1] == merged[:, 1:]
    first = real.copy()  # a value's first occurrence; within one sketch values are distinct
    first[:, 1:] &= ~same_as_next[:, :-1]
    in_union = first & (np.cumsum(first, axis=1) <= SKETCH_SIZE)
    size = in_union.sum(axis=1)
    shared = (in_union & same_as_next).sum(axis=1)
    similar: np.ndarray = np.divide(shared, size, out=np.zeros(len(merged)), where=size > 0)
    return similar


def similar_pairs(
    matrix: np.ndarray, counted: np.ndarray, population: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of rows that share a sketch value, and their similarity (only those above zero).

    A value held by more than ``max(COMMON_VALUE_MIN, COMMON_VALUE_SHARE * population)`` of the
    ``counted`` rows (boolean mask), or by none of them, pairs no rows; pairs of two uncounted rows
    are left out. Returns ``(i, j, sim)`` arrays with ``i < j``.
    """
    n, k = matrix.shape
    rows = np.repeat(np.arange(n), k)
    values = matrix.ravel()
    keep = values < _PAD
    rows, values = rows[keep], values[keep]
    order = np.argsort(values, kind="stable")
    rows, values = rows[order], values[order]
    # Runs of one value, and how many counted rows hold it (each row holds a value at most once).
    start = (
        np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
        if len(values)
        else np.zeros(0, np.int64)
    )
    runs = np.diff(np.append(start, len(values)))
    holders = (
        np.add.reduceat(counted[rows].astype(np.int64), start)
        if len(values)
        else np.zeros(0, np.int64)
    )
    common = max(COMMON_VALUE_MIN, int(COMMON_VALUE_SHARE * population))
    usable = (holders >= 1) & (holders <= common) & (runs >= 2)
    keep = np.repeat(usable, runs)
    rows, values = rows[keep], values[keep]
    longest = int(runs[usable].max()) if usable.any() else 0
    left, right = [], []
    for gap in range(1, longest):  # rows holding one value sit next to each other
        same = values[:-gap] == values[gap:]
        left.append(rows[:-gap][same])
        right.append(rows[gap:][same])
    if not left:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0)
    i, j = np.concatenate(left), np.concatenate(right)
    i, j = np.minimum(i, j), np.maximum(i, j)
    either_counted = counted[i] | counted[j]
    pair_keys = np.unique(i[either_counted] * n + j[either_counted])
    i, j = pair_keys // n, pair_keys % n
    sim = similarities(matrix[i], matrix[j])
    positive = sim > 0
    return i[positive], j[positive], sim[positive]


Neighbours = list[list[tuple[int, float]]]
"""Per row, the ``(row, similarity)`` of every row it resembles."""


def neighbours(
    sketches: Sequence[tuple[int, ...]], counted: Sequence[bool], population: int
) -> Neighbours:
    """``similar_pairs`` of ``sketches`` as a neighbour list per sketch."""
    left, right, sims = similar_pairs(
        sketch_matrix(sketches), np.array(counted, dtype=bool), population
    )
    out: Neighbours = [[] for _ in sketches]
    for a, b, sim in zip(left.tolist(), right.tolist(), sims.tolist()):
        out[a].append((b, sim))
        out[b].append((a, sim))
    return out


class NeighbourCache:
    """The neighbour lists of the last few candidate sets, so that a step whose candidates are
    those of an earlier step (the same catalog, memory and documents while the conversation grows)
    does not pair them again. Keyed by the candidates' content hashes, whether each is counted, and
    the population: exactly what ``neighbours`` depends on."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._entries: dict[tuple[object, ...], Neighbours] = {}

    def get(
        self,
        hashes: tuple[int | str, ...],
        sketches: Sequence[tuple[int, ...]],
        counted: tuple[bool, ...],
        population: int,
    ) -> Neighbours:
        key = (hashes, counted, population)
        found = self._entries.pop(key, None)
        if found is None:
            found = neighbours(sketches, counted, population)
            if len(self._entries) >= self.size:
                del self._entries[next(iter(self._entries))]
        self._entries[key] = found  # most recently used last
        return found
