"""What a memory holds (``MemoryRecord``) and the protocol every long-term store implements."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

import contextos._checked
from contextos.errors import ContextOSError, MemoryStoreError
from contextos.memory._timestamps import parse_time

Filters = dict[str, Any]
"""Exact-match metadata filters: ``{"user": "u1", "conv_id": "conv-26"}``. A list value matches any
of its elements (for ``tags``: every listed tag must be present)."""


class CheckedModel(contextos._checked.CheckedModel):
    """A memory model whose invalid input raises ``MemoryStoreError`` naming each bad field."""

    _error: ClassVar[type[ContextOSError]] = MemoryStoreError


class Provenance(CheckedModel):
    """Which run and step wrote a record."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    _what: ClassVar[str] = "provenance"

    run_id: str | None = None
    """The run that wrote it."""
    step: int | None = Field(default=None, ge=0)
    """The step within that run."""


class MemoryMetadata(CheckedModel):
    """Who and what a record is about. Fields beyond the named ones are kept as free metadata.

    ```python
    MemoryMetadata(user="u1", session="s7", role="user", tags=["travel"], conv_id="conv-26")
    ```
    """

    model_config = ConfigDict(frozen=True, extra="allow")
    _what: ClassVar[str] = "memory metadata"

    session: str | int | None = None
    """The conversation / session it came from: a string or an integer, kept as given."""
    user: str | int | None = None
    """The user it belongs to (filters keep users apart): a string or an integer, kept as given."""
    role: str | None = None
    """The chat role of the turn it came from, when it came from one."""
    tags: list[str] = Field(default_factory=list)
    """Free labels; a ``tags`` filter matches records carrying every listed tag (one string is one tag)."""

    @field_validator("session", "user", mode="before")
    @classmethod
    def _id_like(cls, value: Any, info: Any) -> Any:
        # Kept as given: "1" and 1 are different values, and a filter must name the one stored.
        if value is None or (isinstance(value, (str, int)) and not isinstance(value, bool)):
            return value
        raise ValueError(
            f"{info.field_name} must be a string or an integer, got {type(value).__name__} {value!r}"
        )

    @field_validator("role", mode="before")
    @classmethod
    def _role_text(cls, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        raise ValueError(
            f"role must be a string such as 'user' or 'assistant', got {type(value).__name__} {value!r}"
        )

    @field_validator("tags", mode="before")
    @classmethod
    def _one_tag(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @property
    def free(self) -> dict[str, Any]:
        """The free fields (everything but session, user, role and tags)."""
        return dict(self.__pydantic_extra__ or {})


class MemoryRecord(CheckedModel):
    """One memory: a fact, a conversation turn, an episode, a summary.

    ```python
    MemoryRecord(id="m1", content="Alice moved to Berlin in May.", metadata={"user": "alice"}, importance=0.8)
    ```
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    _what: ClassVar[str] = "memory record"

    id: str = Field(min_length=1)
    """Unique within a store."""
    kind: str = "fact"
    """What it is: ``fact``, ``turn``, ``episode``, ``summary``, or any other label."""
    content: str
    """The text that is embedded, searched and shown to the model."""
    metadata: MemoryMetadata = Field(default_factory=MemoryMetadata)
    """Session, user, role, tags and free fields."""
    created_at: float = Field(default_factory=time.time)
    """When the remembered thing happened or was first written (Unix seconds); recency counts from here."""
    updated_at: float | None = None
    """When it was last changed or re-confirmed (Unix seconds); None: never since creation."""
    importance: float = Field(default=0.5, ge=0.0, le=1.0)
    """How much it matters, 0..1, independent of any query."""
    provenance: Provenance = Field(default_factory=Provenance)
    """Which run and step wrote it."""

    @field_validator("created_at", "updated_at", mode="before")
    @classmethod
    def _readable_time(cls, value: Any, info: Any) -> Any:
        # An ISO 8601 or human date means one moment: read it; a number stays Unix seconds.
        if isinstance(value, (str, datetime)):
            return parse_time(value, field=info.field_name)
        return value

    @field_validator("content")
    @classmethod
    def _content_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("content is empty; a memory needs text to be searched by")
        return value

    @property
    def last_seen(self) -> float:
        """``updated_at`` when set, else ``created_at``: the time recency is measured from."""
        return self.updated_at if self.updated_at is not None else self.created_at


class MemoryHit(BaseModel):
    """One search result: the record and how its score was made."""

    model_config = ConfigDict(frozen=True)

    record: MemoryRecord
    """The record found."""
    score: float
    """The combined score the results are ordered by (higher is better)."""
    relevance: float
    """Relevance to the query alone, 0..1."""
    recency: float
    """Recency, 0..1 (1: just now; halves every ``half_life``)."""
    similarity: float | None = None
    """Cosine similarity of the query and the record's indexed text (None where the store has no
    vectors, or searched by BM25 alone): absolute, where ``relevance`` is relative to the other
    candidates; ``MemorySource``'s relevance floor reads it."""


@runtime_checkable
class MemoryStore(Protocol):
    """A long-term memory store: add, get, update, delete, search.

    ``VectorMemory`` and ``EpisodicMemory`` implement it; so can a user's own store.
    """

    def add(self, record: MemoryRecord) -> MemoryRecord:
        """Store ``record``; returns the record as stored (a near-duplicate may merge into an existing one)."""
        ...

    def get(self, id: str) -> MemoryRecord:
        """The record ``id``; ``RecordNotFoundError`` when there is none."""
        ...

    def update(self, id: str, **changes: Any) -> MemoryRecord:
        """Change fields of record ``id`` (content, metadata, importance, kind); returns the new record."""
        ...

    def delete(self, id: str) -> None:
        """Remove record ``id``; ``RecordNotFoundError`` when there is none."""
        ...

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> Sequence[MemoryHit]:
        """The ``k`` best records for ``query`` among those matching ``filters``."""
        ...
