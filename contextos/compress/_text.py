"""Text pieces the compressors share: sentences, words, and Okapi BM25 over a handful of texts."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

# A sentence ends at . ! or ? (optionally closed by a quote or bracket) followed by white space and
# an upper-case letter, a digit or an opening quote; or at a line break. Abbreviations such as
# "U.S." or "Dr." followed by a capitalised name are the common failure, and cost only a split.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]?\s+(?=[\"'“‘(\[]?[A-Z0-9])|\n+")
_ABBREVIATIONS = re.compile(
    r"(?:\b[A-Z]|\bMr|\bMrs|\bMs|\bDr|\bSt|\bNo|\bvs|\bJr|\bSr|\bInc|\bCo|\bLt|\bGen|\bProf)\.$"
)
_WORD = re.compile(r"\w+", re.UNICODE)

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
    off on once only or other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself yourselves""".split()
)
"""English function words: they match everywhere and say nothing about relevance."""

PRONOUN_OPENERS = frozenset(
    "he she it they his her its their him them this these that those such there both".split()
)
"""First words of a sentence that lean on the one before it (an antecedent to complete)."""


@dataclass(frozen=True, slots=True)
class Span:
    """One sentence of a text: where it is and what it says."""

    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[Span]:
    """The sentences of ``text``, with their character offsets; together they cover every non-blank part.

    ```python
    [s.text for s in split_sentences("It rained. Then it stopped.")]  # ["It rained.", "Then it stopped."]
    ```
    """
    spans: list[Span] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if "\n" not in match.group() and _ABBREVIATIONS.search(text, 0, match.start()):
            continue  # "Dr. Smith": not the end of a sentence
        _add(spans, text, start, match.start())
        start = match.end()
    _add(spans, text, start, len(text))
    return spans


def _add(spans: list[Span], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        spans.append(Span(start + lead, start + lead + len(stripped), stripped))


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return _WORD.findall(text.lower())


def terms(text: str) -> list[str]:
    """Content words: lower-cased words without stop words, crudely stemmed (plural and -ing/-ed endings)."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def _stem(word: str) -> str:
    if len(word) > 4 and not word.isdigit():
        for suffix in ("ing", "ed", "es", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                return word[: -len(suffix)]
    return word


class BM25:
    """Okapi BM25 (Robertson & Zaragoza, 2009) over a small corpus given at once: the passages or
    sentences of one request, whose own statistics give the inverse document frequencies.

    ```python
    BM25([terms(t) for t in texts]).scores(terms(question))  # one score per text
    ```
    """

    def __init__(
        self, documents: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75
    ) -> None:
        self.k1, self.b = k1, b
        self.counts = [Counter(d) for d in documents]
        self.lengths = [len(d) for d in documents]
        n = len(documents)
        self.average = (sum(self.lengths) / n) if n else 0.0
        frequency: Counter[str] = Counter()
        for c in self.counts:
            frequency.update(c.keys())
        # The "plus one" form keeps every idf positive: with twenty passages a word in most of them
        # would otherwise subtract from a score.
        self.idf = {t: math.log(1.0 + (n - f + 0.5) / (f + 0.5)) for t, f in frequency.items()}

    def scores(self, query: Sequence[str]) -> list[float]:
        """Each document's BM25 score for ``query`` (0 for a document that shares no term)."""
        wanted = [(t, self.idf[t]) for t in dict.fromkeys(query) if t in self.idf]
        out = []
        k1, b, average = self.k1, self.b, self.average or 1.0
        for counts, length in zip(self.counts, self.lengths):
            norm = k1 * (1.0 - b + b * length / average)
            total = 0.0
            for t, idf in wanted:
                f = counts.get(t)
                if f:
                    total += idf * f * (k1 + 1.0) / (f + norm)
            out.append(total)
        return out
