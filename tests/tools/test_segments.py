"""Multi-sentence requests: each sentence is searched too, so a tool asked for in one sentence is
not lost in the blurred vector of the whole request."""

from __future__ import annotations

import numpy as np
import pytest

from contextos.tools import Tool, ToolCatalog
from contextos.tools.retrieve import MAX_SEGMENTS, query_segments


class KeywordEmbedder:
    """One axis per keyword (weather, sms), one for everything else: vectors anyone can work out."""

    name = "keyword-test-3"
    dimension = 3

    def embed(self, texts):
        rows = []
        for text in texts:
            t = text.lower()
            v = np.array(
                [("weather" in t), ("sms" in t), not ("weather" in t or "sms" in t)],
                dtype=np.float32,
            )
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows)


def tool(tid: str, description: str) -> Tool:
    return Tool(
        id=tid, name=tid, description=description, parameters={"type": "object", "properties": {}}
    )


def test_sentences_of_at_least_three_words():
    assert query_segments("Find flights to Oslo. Also book a hotel near the airport!") == [
        "Find flights to Oslo.",
        "Also book a hotel near the airport!",
    ]
    assert query_segments("Thanks! What is the weather in Oslo?\nSend an SMS to Ana.") == [
        "What is the weather in Oslo?",
        "Send an SMS to Ana.",
    ]


@pytest.mark.parametrize(
    "text",
    ["One sentence asking for the weather in Oslo.", "Thanks! Weather in Oslo, please.", "", "   "],
)
def test_a_single_sentence_is_not_split(text):
    assert query_segments(text) == []


def test_segments_are_capped():
    text = " ".join(f"Sentence number {i} here." for i in range(MAX_SEGMENTS + 5))
    assert len(query_segments(text)) == MAX_SEGMENTS


def test_a_tool_asked_for_in_one_sentence_matches_as_well_as_the_whole_request(tmp_path):
    catalog = ToolCatalog.open(tmp_path / "db", embedder=KeywordEmbedder())
    catalog.add(
        [
            tool("forecast", "the weather forecast"),
            tool("texting", "send an sms"),
            tool("both", "weather alerts by sms"),
            tool("recipes", "cooking recipes"),
        ]
    )
    request = "What will the weather be in Oslo tomorrow? Then send an sms to Ana about it."
    scores = catalog.retriever("dense", family_weight=0.0).scores(request)
    # The whole request's vector is halfway between weather and sms: alone, it would put "both"
    # (cosine 1) well above "forecast" and "texting" (cosine 0.71). Each sentence matches one of them exactly.
    assert scores["forecast"] == pytest.approx(scores["both"])
    assert scores["texting"] == pytest.approx(scores["both"])
    assert scores["recipes"] < scores["forecast"]
