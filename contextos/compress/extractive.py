"""Query-aware extractive pruning: keep the sentences a question needs, and rerank by what survived.

Provence (Chirkova et al., "Provence: efficient and robust context pruning for retrieval-augmented
generation", ICLR 2025) prunes a passage by labelling each of its sentences as needed or not for the
question, in the same pass that reranks the passages. Provence learns both with one cross-encoder;
here both come from scores a CPU affords inside an agent's step: Okapi BM25 of each sentence and of
its whole passage against the question (the passage score carries a sentence whose own words do
not match, such as "It was recorded in 1965."), fused, and, in the ``dense`` mode, the shipped
MiniLM embedder's cosine between the question and each sentence. The best sentences are kept in
their original order until the target; a kept sentence that opens with a pronoun brings the
sentence before it (its antecedent) when that fits; passages are reranked by the score of what
survived of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from contextos.compress._text import BM25, PRONOUN_OPENERS, Span, split_sentences, terms, words
from contextos.compress.base import CompressorBase
from contextos.context.items import ContextItem
from contextos.context.sources import Compressed
from contextos.context.tokens import TokenCounter
from contextos.embed.base import Embedder

HEADING = "heading"
"""``ContextItem.metadata`` key: a prefix of the content (a title line) kept whole with any kept sentence."""


@dataclass(slots=True)
class _Passage:
    item: ContextItem
    heading: str
    sentences: list[Span]
    kept: set[int] = field(default_factory=set)


class ExtractivePruner(CompressorBase):
    """Keeps the sentences most relevant to the query, in order, within the target; reranks items.

    ```python
    pruner = ExtractivePruner()                      # lexical, fast: the default compressor
    strong = ExtractivePruner(embedder=default_embedder())   # adds dense sentence scores; slower
    results = pruner.compress_sync(items, "who wrote Dune?", target_tokens=300)
    ```

    ``passage_weight``: how much a sentence's passage score counts beside its own (0..1).
    ``dense_weight``: the share of the dense cosine in a sentence's score when an embedder is given;
    ``dense_passages``: how many of the best passages (by the lexical score) get dense sentence scores.
    """

    def __init__(
        self,
        *,
        counter: TokenCounter | None = None,
        embedder: Embedder | None = None,
        passage_weight: float = 0.7,
        dense_weight: float = 0.5,
        dense_passages: int = 5,
        lead_bonus: float = 0.05,
    ) -> None:
        super().__init__(counter=counter)
        self.embedder = embedder
        self.passage_weight = passage_weight
        self.dense_weight = dense_weight
        self.dense_passages = dense_passages
        self.lead_bonus = lead_bonus
        self.name = "extractive+dense" if embedder is not None else "extractive"

    async def _shorten(
        self, items: list[ContextItem], query: str, target: int, before: list[int]
    ) -> list[Compressed]:
        passages = [_split(item) for item in items]
        scores = self._sentence_scores(passages, query)
        self._keep_best(passages, scores, target)
        return self._results(passages, scores, before, target)

    # -- scoring ------------------------------------------------------------------------------
    def _sentence_scores(self, passages: list[_Passage], query: str) -> list[np.ndarray]:
        """A score per sentence of every passage: its own BM25 fused with its passage's (and dense)."""
        q = terms(query)
        titles = [terms(p.heading) for p in passages]
        sentence_terms = [[terms(s.text) for s in p.sentences] for p in passages]
        whole = BM25(
            [t + [w for s in st for w in s] for t, st in zip(titles, sentence_terms)]
        ).scores(q)
        flat = [s for st in sentence_terms for s in st]
        own = np.array(BM25(flat).scores(q), dtype=np.float64) if flat else np.zeros(0)
        own = _unit(own)
        passage = _unit(np.array(whole, dtype=np.float64))
        if self.embedder is not None and flat:
            # Dense scores only for the sentences of the best passages by the lexical score: the
            # numpy MiniLM embeds a few hundred tokens in the time an agent's step can spare.
            best = set(np.argsort(-passage, kind="stable")[: self.dense_passages].tolist())
            chosen = [
                k
                for k, i in enumerate(i for i, p in enumerate(passages) for _ in p.sentences)
                if i in best
            ]
            texts = [s.text for p in passages for s in p.sentences]
            vectors = self.embedder.embed([query, *(texts[k] for k in chosen)])
            dense = np.zeros(len(flat))
            dense[chosen] = np.clip(vectors[1:] @ vectors[0], 0.0, None)
            own = (1.0 - self.dense_weight) * own + self.dense_weight * _unit(dense)
        out, at = [], 0
        for i, p in enumerate(passages):
            n = len(p.sentences)
            s = (1.0 - self.passage_weight) * own[at : at + n] + self.passage_weight * passage[i]
            if n:
                s[0] += self.lead_bonus  # a passage's first sentence names its subject
            out.append(s)
            at += n
        return out

    # -- choosing -----------------------------------------------------------------------------
    def _keep_best(self, passages: list[_Passage], scores: list[np.ndarray], target: int) -> None:
        """Greedy by score: take each sentence (with its heading, the first time) while it fits."""
        count = self.counter.count
        ranked = sorted(
            ((float(s), i, j) for i, ss in enumerate(scores) for j, s in enumerate(ss)),
            key=lambda t: (-t[0], t[1], t[2]),
        )
        room = target
        for _, i, j in ranked:
            p = passages[i]
            if j in p.kept:
                continue
            wanted = [j]
            opener = words(p.sentences[j].text[:24])
            if j > 0 and (j - 1) not in p.kept and opener and opener[0] in PRONOUN_OPENERS:
                wanted.insert(0, j - 1)  # its antecedent first, when both fit
            for choice in (wanted, [j]) if len(wanted) > 1 else (wanted,):
                cost = sum(count(p.sentences[k].text) + 1 for k in choice) + (
                    count(p.heading) if p.heading and not p.kept else 0
                )
                if cost <= room:
                    p.kept.update(choice)
                    room -= cost
                    break
            if room <= 0:
                break

    def _results(
        self, passages: list[_Passage], scores: list[np.ndarray], before: list[int], target: int
    ) -> list[Compressed]:
        """Texts of what was kept, trimmed (lowest score first) if joining them cost more than counted."""
        while True:
            texts = [_text(p) for p in passages]
            total = sum(self.counter.count(t) for t in texts if t is not None)
            if total <= target:
                break
            worst = min(
                ((float(scores[i][j]), i, j) for i, p in enumerate(passages) for j in p.kept)
            )
            passages[worst[1]].kept.discard(worst[2])
        # Rerank by what survived: the best kept sentence's score, ties in the given order.
        order = sorted(
            range(len(passages)),
            key=lambda i: (-max((scores[i][j] for j in passages[i].kept), default=-1.0), i),
        )
        results = []
        for i in order:
            p, n = passages[i], len(passages[i].sentences)
            removed = n - len(p.kept)
            what = "kept all sentences" if not removed else f"removed {removed} of {n} sentences"
            results.append(
                self._result(
                    p.item,
                    before[i],
                    texts[i],
                    what
                    if p.kept
                    else f"no sentence among the best within the target ({n} removed)",
                )
            )
        return results


def _split(item: ContextItem) -> _Passage:
    heading = item.metadata.get(HEADING) or ""
    if not isinstance(heading, str) or not item.content.startswith(heading):
        heading = ""
    return _Passage(item, heading, split_sentences(item.content[len(heading) :]))


def _text(p: _Passage) -> str | None:
    if not p.kept:
        return None
    if len(p.kept) == len(p.sentences):
        return p.item.content
    return p.heading + " ".join(p.sentences[k].text for k in sorted(p.kept))


def _unit(x: np.ndarray) -> np.ndarray:
    """Scaled so the largest is 1 (all zeros stay zeros)."""
    top = float(x.max()) if x.size else 0.0
    return x / top if top > 0 else x
