"""Finding the tools a request needs: the ``ToolRetriever`` protocol and its LanceDB implementation.

``CatalogRetriever`` scores one query three ways and adds them up:

- **BM25** over each tool's indexed text (name split into words, description, parameter names);
- **dense**: cosine similarity of the query's embedding and the tool's. A request of several
  sentences is also embedded sentence by sentence (``query_segments``) and a tool takes its best
  similarity to the whole request or any one sentence: a multi-step request asks for each tool in
  one of its sentences, and one vector of the whole request blurs those intents together (the
  max over query parts is MaxSim, Khattab & Zaharia, ColBERT, SIGIR 2020, at sentence grain);
- **family evidence**: the same two scores for the tool's family (``Tool.group``: the API or MCP
  server it is an endpoint of) over the family's text (all its members' names and descriptions).
  A request usually names what it wants done in the family's vocabulary ("a captcha API") more
  than in one endpoint's, and a multi-step request often needs several endpoints of one family.

The lists are fused by the store's score fusion (``contextos.store.fuse_scores``: each list
min-max scaled over its top ``depth``, absent = 0, then averaged), so that BM25's unbounded scores
and cosine similarities weigh alike; rank fusion (RRF) throws away how far apart scores are, which
matters here because one retriever is often much surer than the other. Several queries (one per
capability a request needs, see ``ToolQueryWriter``) are fused by reciprocal rank
(``contextos.store.fuse_ranks``), so that each capability gets its own tools into the top.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict

from contextos.errors import ConfigError
from contextos.store import fuse_ranks, fuse_scores
from contextos.tools.tool import Tool

if TYPE_CHECKING:
    from contextos.store import SearchMode, VectorTable

MAX_SEGMENTS = 8
"""At most this many sentences of one query are embedded and searched (a bound on the cost of a
pasted document, not a tuned value: requests ask for a handful of things)."""
MIN_SEGMENT_WORDS = 3
"""Shorter sentences ("Thanks!", "Please help.") name no capability and are not searched alone."""
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


class ToolHit(BaseModel):
    """One retrieved tool and how well it matched."""

    model_config = ConfigDict(frozen=True)

    tool: Tool
    """The tool."""
    score: float
    """Relevance in 0..1, higher is better (comparable within one retrieval only)."""


Reranker = Callable[[Sequence[str], list[ToolHit]], Sequence[ToolHit]]
"""``rerank(queries, hits) -> hits`` reordered (and possibly rescored or filtered)."""


@runtime_checkable
class ToolRetriever(Protocol):
    """Finds the ``k`` tools that best serve ``queries`` (one per capability the step needs).

    ```python
    class Everything:
        def retrieve(self, queries, k):
            return [ToolHit(tool=t, score=1.0) for t in MY_TOOLS[:k]]
    ```
    """

    def retrieve(self, queries: Sequence[str], k: int) -> list[ToolHit]:
        """The best ``k`` tools for ``queries``, best first."""
        ...


class BaseToolRetriever(ABC):
    """What contextos's retrievers share: composition with a reranker (intended for internal use;
    users implement ``ToolRetriever``, the one contract an ``Agent`` or a ``ToolSource`` takes)."""

    @abstractmethod
    def retrieve(self, queries: Sequence[str], k: int) -> list[ToolHit]:
        """The best ``k`` tools for ``queries``, best first."""

    def reranked(self, rerank: Reranker, *, depth: int = 3) -> RerankedRetriever:
        """This retriever, with ``rerank`` reordering its top ``k * depth`` before the top ``k`` is kept.

        ```python
        retriever = catalog.retriever().reranked(lambda queries, hits: sorted(hits, key=my_score))
        ```
        """
        return RerankedRetriever(self, rerank, depth=depth)


class RerankedRetriever(BaseToolRetriever):
    """A retriever whose candidates pass through a reranking function."""

    def __init__(self, inner: ToolRetriever, rerank: Reranker, *, depth: int = 3) -> None:
        if depth < 1:
            raise ConfigError("depth must be at least 1")
        self.inner = inner
        self.rerank = rerank
        self.depth = depth

    def retrieve(self, queries: Sequence[str], k: int) -> list[ToolHit]:
        hits = self.inner.retrieve(queries, k * self.depth)
        return list(self.rerank(list(queries), hits))[:k]


class SearchableTools(Protocol):
    """What ``CatalogRetriever`` reads from a catalog (``ToolCatalog`` provides it): the tools'
    and their families' tables, and the tools by id."""

    table: VectorTable
    groups: VectorTable

    def get_many(
        self, ids: Sequence[str], *, row_ids: Mapping[str, int] | None = None
    ) -> list[Tool]: ...


class CatalogRetriever(BaseToolRetriever):
    """Retrieval over a ``ToolCatalog`` in LanceDB (see the module docstring for how it scores).

    ``mode`` picks the matching: ``"fts"`` (BM25 only), ``"dense"`` (embeddings only) or
    ``"hybrid"`` (both). ``family_weight`` is how much the family's score adds (0 turns it off);
    ``depth`` how many candidates each search returns before fusion.
    """

    def __init__(
        self,
        catalog: SearchableTools,
        *,
        mode: SearchMode = "hybrid",
        family_weight: float = 0.5,
        depth: int = 100,
    ) -> None:
        if mode not in ("dense", "fts", "hybrid"):
            raise ConfigError(f"mode must be 'dense', 'fts' or 'hybrid', not {mode!r}")
        if family_weight < 0 or depth < 1:
            raise ConfigError("family_weight must be >= 0 and depth >= 1")
        self.catalog = catalog
        self.mode: SearchMode = mode
        self.family_weight = family_weight
        self.depth = depth

    def warmup(self) -> None:
        """Load what the first retrieval would load on its clock: the query embedder, the indexes' first reads."""
        self.catalog.table.search("warm up", k=1, mode=self.mode)

    def retrieve(self, queries: Sequence[str], k: int) -> list[ToolHit]:
        queries = [q for q in dict.fromkeys(q.strip() for q in queries) if q]
        if not queries or k < 1:
            return []
        rankings, row_ids = [], {}
        for q in queries:
            scores, rows = self._scores(q)
            rankings.append(scores)
            row_ids.update(rows)
        if len(rankings) == 1:
            fused = rankings[0]
        else:
            # Each query's own top k only: a tool that is middling for every capability must not
            # outrank the best tool of one capability just by appearing in every list.
            fused = fuse_ranks([sorted(r, key=lambda i: (-r[i], i))[:k] for r in rankings])
        best = sorted(fused, key=lambda i: (-fused[i], i))[:k]
        tools = {t.id: t for t in self.catalog.get_many(best, row_ids=row_ids)}
        return [ToolHit(tool=tools[i], score=round(fused[i], 6)) for i in best if i in tools]

    def scores(self, query: str) -> dict[str, float]:
        """Tool id to score in 0..1 for one query, over the candidates the searches returned."""
        return self._scores(query)[0]

    def _scores(self, query: str) -> tuple[dict[str, float], dict[str, int]]:
        """``scores(query)``, and the row ids the searches found the tools at (to read them fast)."""
        table, groups = self.catalog.table, self.catalog.groups
        use_families = self.family_weight > 0 and groups.count() > 0
        queries: list[str | np.ndarray] = []
        if self.mode in ("dense", "hybrid"):
            from contextos.embed.base import embed_queries

            queries.append(embed_queries(table.embedder, [query, *query_segments(query)]))
        text = fts_query(query)
        if self.mode in ("fts", "hybrid") and text:
            queries.append(text)
        # The searches are independent and LanceDB runs them outside the GIL: run them together.
        jobs = [(table, q, ["id", "grp"]) for q in queries] + (
            [(groups, q, ["id"]) for q in queries] if use_families else []
        )
        results = list(_pool().map(lambda job: _search(job[0], job[1], self.depth, job[2]), jobs))
        if not queries:
            return {}, {}
        own = fuse_scores([found.scores for found in results[: len(queries)]])
        family = fuse_scores([found.scores for found in results[len(queries) :]])
        family_of = {i: g for found in results[: len(queries)] for i, g in found.families.items()}
        row_ids = {i: r for found in results[: len(queries)] for i, r in found.row_ids.items()}
        weight = self.family_weight if use_families else 0.0
        scores = {}
        for i, mine in own.items():
            group = family_of.get(i, "")
            # A tool without a family is a family of one: its own score stands in for the family's,
            # so that grouped tools do not outrank it just for having a family.
            scores[i] = (mine + weight * (family.get(group, 0.0) if group else mine)) / (
                1.0 + weight
            )
        return scores, row_ids


def query_segments(query: str) -> list[str]:
    """The sentences of ``query`` searched on their own: its sentences of at least
    ``MIN_SEGMENT_WORDS`` words (the first ``MAX_SEGMENTS``), or none when fewer than two are
    (the whole query already stands for its one sentence).

    ```python
    query_segments("Find flights to Oslo. Also book a hotel near the airport.")
    # ['Find flights to Oslo.', 'Also book a hotel near the airport.']
    ```
    """
    parts = [p.strip() for p in _SENTENCE_END.split(query.strip())]
    parts = [p for p in parts if len(p.split()) >= MIN_SEGMENT_WORDS]
    return parts[:MAX_SEGMENTS] if len(parts) > 1 else []


_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="contextos-tool-search")
    return _POOL


@dataclass(frozen=True)
class _Found:
    scores: dict[str, float]
    """Id to score: BM25, or the best cosine similarity over the query vectors."""
    families: dict[str, str]
    """Id to family ("" for none)."""
    row_ids: dict[str, int]
    """Id to LanceDB row id, where the table gives them (a hint for reading the rows, not an identity)."""


def _search(table: VectorTable, query: str | np.ndarray, depth: int, columns: list[str]) -> _Found:
    """The top ``depth`` of one search (``VectorTable.ranked``): BM25 for a text; for a matrix of
    query vectors, each id's best cosine similarity over the rows. Only the id and family columns
    are read."""
    rows = table.ranked(query, depth, columns)
    return _Found(
        _best((r["id"], r["_score"]) for r in rows),
        {r["id"]: r.get("grp") or "" for r in rows},
        {r["id"]: r["_rowid"] for r in rows if "_rowid" in r},
    )


def _best(pairs: Iterable[tuple[str, float]]) -> dict[str, float]:
    best: dict[str, float] = {}
    for i, score in pairs:
        if score > best.get(i, -np.inf):
            best[i] = score
    return best


def fts_query(text: str) -> str:
    """``text`` as a full-text query: words only (the query parser would read punctuation as syntax)."""
    return " ".join(re.findall(r"\w+", text))
