"""The store's one score fusion: min-max scaled scores averaged; reciprocal rank across queries."""

from __future__ import annotations

import pytest

from contextos.store import fuse_ranks, fuse_scores, minmax


def test_minmax_scales_each_list_to_its_own_range():
    assert minmax({"a": 12.0, "b": 7.0, "c": 2.0}) == {"a": 1.0, "b": 0.5, "c": 0.0}
    assert minmax({"a": 3.0, "b": 3.0}) == {"a": 1.0, "b": 1.0}
    assert minmax({}) == {}


def test_fuse_scores_keeps_how_much_surer_one_list_is():
    # BM25 is far surer of b than of c; rank fusion would score a and b alike.
    fused = fuse_scores([{"a": 0.52, "b": 0.51, "c": 0.50}, {"b": 30.0, "c": 1.0, "d": 0.9}])
    assert max(fused, key=fused.get) == "b"
    assert fused["b"] == pytest.approx((0.5 + 1.0) / 2)
    assert fused["d"] == 0.0  # the bottom of one list, absent from the other
    weighted = fuse_scores([{"a": 1.0, "b": 0.0}, {"b": 1.0, "a": 0.0}], weights=[3, 1])
    assert weighted == {"a": 0.75, "b": 0.25}
    with pytest.raises(ValueError, match="one non-negative weight per list"):
        fuse_scores([{"a": 1.0}], weights=[1, 1])


def test_fuse_ranks_scores_first_everywhere_as_one():
    fused = fuse_ranks([["a", "b"], ["a", "c"]])
    assert fused["a"] == pytest.approx(1.0)
    assert fused["b"] == pytest.approx(fused["c"]) and fused["b"] < 1
    assert fuse_ranks([]) == {}
