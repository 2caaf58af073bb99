"""Small pools in real LanceDB folders, embedded by the real default embedder."""

from __future__ import annotations

import pytest

from contextos.demos import Demonstration, DemoPool

SENTIMENT = [
    ("p1", "a warm, funny and moving film", "positive"),
    ("p2", "the acting is superb and the story delights", "positive"),
    ("p3", "an absolute joy from start to finish", "positive"),
    ("n1", "a dull, tedious and boring mess", "negative"),
    ("n2", "the plot is a tiresome waste of time", "negative"),
    ("n3", "painfully slow and badly acted", "negative"),
    ("q1", "how many moons does mars have", "NUM"),
    ("q2", "who wrote the novel moby dick", "HUM"),
]


@pytest.fixture
def pool(tmp_path) -> DemoPool:
    p = DemoPool(tmp_path / "demos")
    p.add(
        [Demonstration(id=i, input=text, output=label, label=label) for i, text, label in SENTIMENT]
    )
    return p
