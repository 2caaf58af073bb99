"""``DemoPool``: worked examples (demonstrations) in a LanceDB table, embedded by their input."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contextos._checked import validation_problems
from contextos.demos._lexical import LexicalIndex
from contextos.embed.base import Embedder
from contextos.errors import DemoError
from contextos.store.where import id_in

if TYPE_CHECKING:
    from contextos.memory.episodic import EpisodicMemory
    from contextos.store import VectorTable

_COLUMNS = ["id", "text", "output", "label", "metadata"]
Similarity = Literal["hybrid", "dense"]


class Demonstration(BaseModel):
    """One worked example: an input and the output the model should learn to give for it.

    ```python
    Demonstration(id="ex-1", input="the film is a delight", output="positive", label="positive")
    ```
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    """Unique within its pool."""
    input: str
    """What the example answers; retrieval compares a step's input with it."""
    output: str
    """The answer (a label, a worked solution, a tool-call trajectory)."""
    label: str | None = None
    """A class, for classification pools: label-balanced retrieval and coverage measures use it."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Anything else (source, author, difficulty); kept as JSON, never rendered."""

    @field_validator("input")
    @classmethod
    def _input_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("input is empty; a demonstration is found by its input")
        return value

    @classmethod
    def parse(cls, data: Any, *, where: str = "demonstration") -> Demonstration:
        """Validate untrusted data, raising ``DemoError`` that names ``where`` and what is wrong."""
        if not isinstance(data, dict):
            raise DemoError(
                f"{where} is a JSON {type(data).__name__}, not an object like "
                '{"id": "...", "input": "...", "output": "...", "label": "..."}'
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise DemoError(
                f"{where} is not a valid demonstration ({validation_problems(exc)}); each needs string "
                '"id", "input" and "output", and may have "label" and "metadata"'
            ) from None


@dataclass(frozen=True)
class ScoredDemo:
    """A demonstration with its similarity to a query (cosine, higher is closer)."""

    demo: Demonstration
    """The example."""
    score: float
    """Cosine similarity of its input to the query."""


def read_demonstrations(path: str | Path) -> list[Demonstration]:
    """The demonstrations of a JSONL file (``{"id", "input", "output", "label"?, "metadata"?}`` per line),
    all checked before any is returned: a bad line or a repeated id raises ``DemoError`` naming it."""
    path = Path(path)
    if not path.is_file():
        raise DemoError(f"demonstration file {path} does not exist")
    from contextos._jsonl import jsonl_rows

    demos: list[Demonstration] = []
    seen: dict[str, int] = {}
    for n, row in jsonl_rows(path, DemoError):
        demo = Demonstration.parse(row, where=f"{path}:{n}")
        if demo.id in seen:
            raise DemoError(
                f"{path}:{n} repeats id {demo.id!r} of line {seen[demo.id]}: ids must be unique"
            )
        seen[demo.id] = n
        demos.append(demo)
    return demos


def check_unique(ids: Sequence[str], what: str = "demonstrations") -> None:
    """Raise ``DemoError`` naming the first id that occurs twice."""
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise DemoError(f"id {i!r} occurs twice among the {what}: ids must be unique")
        seen.add(i)


class DemoPool:
    """Demonstrations in a LanceDB table (the shared ``VectorTable``), embedded by their input.

    ```python
    pool = DemoPool("./demos")                       # all-MiniLM-L6-v2 by default
    pool.add([Demonstration(id="a", input="2+2?", output="4")])
    pool.search("3+5?", k=2)                          # [ScoredDemo(...)], closest first
    ```

    ``add`` refuses ids the pool already holds unless ``replace=True``; every batch is checked
    whole before anything is written.
    """

    def __init__(
        self,
        uri: str | Path,
        *,
        embedder: Embedder | None = None,
        table: str = "demonstrations",
        create: bool = True,
        connect_options: dict[str, Any] | None = None,
    ) -> None:
        from contextos.store import VectorTable

        if embedder is None:
            from contextos.embed import default_embedder

            embedder = default_embedder()
        self.table: VectorTable = VectorTable.open(
            uri, table, embedder=embedder, create=create, connect_options=connect_options
        )
        columns = self.table.columns
        if columns and not set(_COLUMNS) <= set(columns):
            raise DemoError(
                f"table {table!r} in {uri} is not a demonstration table (columns {columns}): "
                "use another table name or folder"
            )
        self._lexical: tuple[int | None, list[str], LexicalIndex] | None = None

    @classmethod
    def from_jsonl(cls, path: str | Path, uri: str | Path, **options: Any) -> DemoPool:
        """A pool at ``uri`` holding the demonstrations of ``path`` (see ``read_demonstrations``)."""
        demos = read_demonstrations(path)
        if not demos:
            raise DemoError(f"{path} holds no demonstrations")
        pool = cls(uri, **options)
        pool.add(demos, replace=True)
        return pool

    # ------------------------------------------------------------------ writing
    def add(self, demos: Iterable[Demonstration | dict[str, Any]], *, replace: bool = False) -> int:
        """Store ``demos``; returns how many were written. An id the pool already holds raises
        ``DemoError`` unless ``replace`` (then the stored example is replaced)."""
        checked = [
            d
            if isinstance(d, Demonstration)
            else Demonstration.parse(d, where=f"demonstration {n}")
            for n, d in enumerate(demos)
        ]
        check_unique([d.id for d in checked])
        if not replace and checked:
            stored = [r["id"] for r in self.table.get([d.id for d in checked])]
            if stored:
                raise DemoError(
                    f"the pool already holds {len(stored)} of these ids (first: {stored[0]!r}): "
                    "remove them first or add with replace=True"
                )
        rows = [
            {
                "id": d.id,
                "text": d.input,
                "output": d.output,
                "label": d.label or "",
                "metadata": json.dumps(d.metadata, ensure_ascii=False, sort_keys=True),
            }
            for d in checked
        ]
        return self.table.upsert(rows)

    def add_episodes(
        self,
        episodes: EpisodicMemory,
        *,
        successful_only: bool = True,
        max_steps: int | None = None,
    ) -> int:
        """Add the finished trajectories of ``episodes`` as demonstrations: input = the task, output = the
        steps and outcome (``Trajectory.as_demonstration`` without its task line), label = "success" or
        "failure" when known. Ids are ``episode-<trajectory id>``; re-adding replaces them."""
        from contextos.memory.episodic import Trajectory

        ids = [r["id"] for r in episodes.store.table.scan(columns=["id"])]
        demos = []
        for record in episodes.store.get_many(ids):
            trajectory = Trajectory.model_validate_json(record.metadata.free["trajectory"])
            if successful_only and trajectory.success is not True:
                continue
            worked = trajectory.as_demonstration(max_steps).split("\n", 1)
            label = (
                None
                if trajectory.success is None
                else "success"
                if trajectory.success
                else "failure"
            )
            demos.append(
                Demonstration(
                    id=f"episode-{trajectory.id}",
                    input=trajectory.task,
                    output=worked[1] if len(worked) > 1 else "",
                    label=label,
                    metadata={
                        "trajectory_id": trajectory.id,
                        "finished_at": trajectory.finished_at,
                    },
                )
            )
        return self.add(demos, replace=True)

    def remove(self, ids: Sequence[str]) -> int:
        """Delete these examples; an id the pool does not hold raises ``DemoError`` (nothing is deleted)."""
        ids = list(dict.fromkeys(ids))
        stored = {r["id"] for r in self.table.get(ids)}
        missing = [i for i in ids if i not in stored]
        if missing:
            raise DemoError(
                f"the pool holds no demonstration with id {missing[0]!r} ({len(missing)} unknown ids); nothing was removed"
            )
        return self.table.delete(ids)

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return self.table.count()

    def get(self, ids: Sequence[str]) -> list[Demonstration]:
        """The stored examples with these ids, in the order asked (unknown ids left out)."""
        return [_from_row(r) for r in self.table.get(ids)]

    def all(self) -> list[Demonstration]:
        """Every stored example, in storage order."""
        return [_from_row(r) for r in self.table.scan(columns=_COLUMNS)]

    def vectors(self) -> tuple[list[str], np.ndarray]:
        """Every example's id and input vector (unit length), in storage order."""
        rows = self.table.scan(columns=["id", "vector"])
        if not rows:
            return [], np.zeros((0, self.table.embedder.dimension), dtype=np.float32)
        return [r["id"] for r in rows], np.asarray([r["vector"] for r in rows], dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """The query vector of ``text`` under the pool's embedder."""
        from contextos.embed.base import embed_query

        return embed_query(self.table.embedder, text)

    def nearest(
        self,
        query: str,
        k: int,
        *,
        vector: np.ndarray | None = None,
        similarity: Similarity = "hybrid",
    ) -> tuple[list[ScoredDemo], np.ndarray]:
        """The ``k`` examples closest to ``query``, closest first, with their input vectors (shape
        (found, dimension)) for retrievers that compare examples with each other.

        ``similarity``: ``"dense"``, the cosine of the input vectors (searched in LanceDB); or
        ``"hybrid"`` (the default), that cosine plus the cosine of word unigram + bigram TF-IDF
        vectors (``LexicalIndex``), over the union of both measures' nearest. ``vector``: the
        query's vector when already embedded (a batch of queries embeds once).
        """
        if similarity not in ("dense", "hybrid"):
            raise DemoError(f"similarity must be 'dense' or 'hybrid', not {similarity!r}")
        if len(self) == 0:
            raise DemoError(
                "the demonstration pool is empty: add examples (DemoPool.add or from_jsonl) before retrieving"
            )
        vector = self.embed_query(query) if vector is None else np.asarray(vector, dtype=np.float32)
        # Hybrid: the sum is computed exactly on the union of each measure's top ``depth``; an example
        # outside both lists rarely has the top sum, and a deeper list makes that rarer still.
        depth = k if similarity == "dense" else max(4 * k, 64)
        rows = self.table.ranked(vector, depth, [*_COLUMNS, "vector"])
        # the exact cosine: past its ANN threshold the table's scores are quantised estimates
        for r in rows:
            r["_score"] = float(np.dot(np.asarray(r["vector"], dtype=np.float32), vector))
        if similarity == "hybrid":
            rows = self._with_lexical(query, vector, rows, depth)
        rows.sort(key=lambda r: (-r["_score"], r["id"]))
        rows = rows[:k]
        vectors = np.asarray([r.pop("vector") for r in rows], dtype=np.float32).reshape(
            len(rows), -1
        )
        return [ScoredDemo(_from_row(r), float(r["_score"])) for r in rows], vectors

    def _with_lexical(
        self, query: str, vector: np.ndarray, rows: list[dict[str, Any]], depth: int
    ) -> list[dict[str, Any]]:
        ids, index = self._lexical_index()
        lexical = index.scores(query)
        position = {i: n for n, i in enumerate(ids)}
        best = np.argsort(-lexical, kind="stable")[:depth]
        have = {r["id"] for r in rows}
        more = [ids[n] for n in best if lexical[n] > 0 and ids[n] not in have]
        if more:
            found = self.table.scan(
                where=id_in(more),
                columns=[*_COLUMNS, "vector"],
            )
            for r in found:
                r["_score"] = float(np.dot(np.asarray(r["vector"], dtype=np.float32), vector))
            rows = rows + found
        for r in rows:
            r["_score"] += float(lexical[position[r["id"]]]) if r["id"] in position else 0.0
        return rows

    def _lexical_index(self) -> tuple[list[str], LexicalIndex]:
        # Rebuilt when the table changed (every write makes a new version).
        version = self.table.version
        if self._lexical is None or self._lexical[0] != version:
            rows = self.table.scan(columns=["id", "text"])
            self._lexical = (
                version,
                [r["id"] for r in rows],
                LexicalIndex([r["text"] for r in rows]),
            )
        return self._lexical[1], self._lexical[2]

    def search(
        self, query: str, k: int = 4, *, similarity: Similarity = "hybrid"
    ) -> list[ScoredDemo]:
        """The ``k`` examples whose inputs are most similar to ``query``, closest first."""
        return self.nearest(query, k, similarity=similarity)[0]


def _from_row(row: dict[str, Any]) -> Demonstration:
    return Demonstration(
        id=row["id"],
        input=row["text"],
        output=row["output"],
        label=row["label"] or None,
        metadata=json.loads(row["metadata"]) if row.get("metadata") else {},
    )
