"""A TF-IDF index of word unigrams and bigrams over a pool's inputs, for hybrid demonstration retrieval.

Bigrams keep what sentence embedders blur and stop-word lists drop: "how many", "who was",
"not good". Weights: sublinear term frequency times smoothed inverse document frequency,
vectors L2-normalised, so a score is a cosine in [0, 1] like the dense one it is added to.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np

_WORD = re.compile(r"\w+")


def features(text: str) -> list[str]:
    """Lower-cased words and adjacent word pairs of ``text``."""
    words = _WORD.findall(text.lower())
    return words + [f"{a} {b}" for a, b in pairwise(words)]


class LexicalIndex:
    """Cosine similarity of TF-IDF vectors (of ``analyzer``'s terms: unigrams + bigrams) between queries and ``texts``.

    ```python
    index = LexicalIndex(["how many moons has Mars?", "who wrote Hamlet?"])
    index.scores("how many legs has a spider?")   # array of 2 cosines
    ```
    """

    def __init__(
        self, texts: Sequence[str], analyzer: Callable[[str], list[str]] = features
    ) -> None:
        self.size = len(texts)
        self.analyzer = analyzer
        counts = [Counter(analyzer(t)) for t in texts]
        df: Counter[str] = Counter()
        for c in counts:
            df.update(c.keys())
        self.idf = {t: math.log((1 + self.size) / (1 + d)) + 1.0 for t, d in df.items()}
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for doc, c in enumerate(counts):
            weights = {t: (1.0 + math.log(n)) * self.idf[t] for t, n in c.items()}
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            for t, w in weights.items():
                docs, ws = postings.setdefault(t, ([], []))
                docs.append(doc)
                ws.append(w / norm)
        self._postings = {
            t: (np.asarray(d, dtype=np.int64), np.asarray(w, dtype=np.float32))
            for t, (d, w) in postings.items()
        }

    def query_vector(self, text: str) -> dict[str, float]:
        """The query's normalised TF-IDF weights over the indexed vocabulary."""
        weights = {
            t: (1.0 + math.log(n)) * self.idf[t]
            for t, n in Counter(self.analyzer(text)).items()
            if t in self.idf
        }
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {t: w / norm for t, w in weights.items()}

    def scores(self, text: str) -> np.ndarray:
        """The cosine of ``text`` with every indexed text, shape (size,)."""
        out = np.zeros(self.size, dtype=np.float32)
        for t, w in self.query_vector(text).items():
            docs, ws = self._postings[t]
            out[docs] += w * ws
        return out
