"""What a memory record is found by: the text that is embedded and BM25-indexed, beside its content.

A dialogue turn alone is often unfindable: "Yes, last Friday!" says nothing about what happened,
when, or to whom. The indexed text adds the context a reader of the transcript has: when it was
said, who said it, and what it replies to. The stored ``content`` stays exactly as given; only the
index sees the additions. LoCoMo's authors (Maharana et al., ACL 2024) retrieve dialogue turns with
their session date and speaker for the same reason.

``VectorMemory(index_text=...)`` takes any callable ``(record, replies_to) -> str``;
``RecordText()`` is the default, ``content_only`` indexes the content alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from contextos.context.items import ContextItem
from contextos.errors import MemoryStoreError
from contextos.memory._timestamps import TIME_FIELDS, format_time, record_time
from contextos.memory.records import MemoryRecord


@runtime_checkable
class IndexText(Protocol):
    """A policy for the text a record is indexed by.

    ```python
    def subject_first(record, replies_to):
        return f"{record.metadata.free.get('subject', '')}: {record.content}"
    VectorMemory("./memory", index_text=subject_first)
    ```
    """

    def __call__(self, record: MemoryRecord, replies_to: MemoryRecord | None) -> str:
        """The text ``record`` is embedded and BM25-indexed by; ``replies_to`` is the turn just
        before it in the same dialogue session, when there is one."""
        ...


@dataclass(frozen=True)
class RecordText:
    """The default policy: ``[time] speaker: content (replying to: ...)``.

    ```python
    RecordText()(MemoryRecord(id="t2", content="Yes, last Friday!", metadata={"speaker": "Ann",
                 "date_time": "2023-05-08 13:56", "session": 1}), replies_to=question)
    # '[8 May 2023, 13:56] Ann: Yes, last Friday! (replying to: Bob: Did you go to the support group?)'
    ```

    - **time**: the first metadata field of ``date_time``, ``timestamp``, ``time``, ``date`` (Unix
      seconds, ISO 8601 or a common human date; an unreadable one is an error), else, for a
      ``turn`` record (a conversation turn that left a ``WorkingMemory``), its ``created_at``;
      written in one form (``8 May 2023, 13:56``, UTC). Facts without a time field get none.
    - **speaker**: the ``speaker`` metadata field, else the chat ``role`` of a ``turn`` record;
      left out when the content already starts with ``speaker:``.
    - **replying to**: the first ``reply_words`` words of the turn before it in the same dialogue
      (``VectorMemory`` passes it: the record just before in the same ``add_many`` when both have
      the same ``dialogue_key``, or, for ``absorb``, the session's previous turn). 0 turns it off.
    """

    time: bool = True
    """Prefix the time the record happened."""
    speaker: bool = True
    """Prefix who said it."""
    reply_words: int = 20
    """How many words of the previous turn the pointer quotes (0: no pointer). A fixed bound, not
    fitted to any benchmark: long enough to name the topic, short enough not to outweigh the turn."""

    def __post_init__(self) -> None:
        if self.reply_words < 0:
            raise MemoryStoreError(f"reply_words must be 0 or more, got {self.reply_words}")

    def __call__(self, record: MemoryRecord, replies_to: MemoryRecord | None = None) -> str:
        text = self._said(record)
        if self.time:
            when = self.when(record)
            if when is not None:
                text = f"[{format_time(when)}] {text}"
        if self.reply_words and replies_to is not None:
            words = self._said(replies_to).split()
            quote = " ".join(words[: self.reply_words]) + (
                " …" if len(words) > self.reply_words else ""
            )
            text = f"{text} (replying to: {quote})"
        return text

    @staticmethod
    def when(record: MemoryRecord) -> float | None:
        """Unix seconds the record happened, from its time field (or a turn's ``created_at``), or None."""
        found = record_time(record.metadata.free)
        if found is not None:
            return found[1]
        return record.created_at if record.kind == "turn" else None

    def _said(self, record: MemoryRecord) -> str:
        content = " ".join(record.content.split())
        if not self.speaker:
            return content
        who = record.metadata.free.get("speaker")
        if who is None and record.kind == "turn":
            who = record.metadata.role
        if who is None or content.lower().startswith(f"{who}:".lower()):
            return content
        return f"{who}: {content}"


TURN_FIELDS = ("speaker", "role", "tags", "position", "group")
"""Metadata fields that change from turn to turn of one dialogue (besides its time fields)."""


def dialogue_key(record: MemoryRecord) -> str | None:
    """What the turns of one dialogue session share: kind, session and every metadata field but the
    time fields and ``TURN_FIELDS``; None for a record without a session (not a dialogue turn).

    ``VectorMemory`` links a turn to the one just before it only when both have the same key: rows
    ``{"conv_id": "conv-1", "session": 1}`` and ``{"conv_id": "conv-2", "session": 1}`` are different dialogues.
    """
    if record.metadata.session is None:
        return None
    shared = {
        k: v
        for k, v in record.metadata.model_dump().items()
        if k not in TURN_FIELDS and k not in TIME_FIELDS
    }
    return json.dumps([record.kind, shared], sort_keys=True, default=str)


def content_only(record: MemoryRecord, replies_to: MemoryRecord | None = None) -> str:
    """The policy that indexes a record by its content alone (``EpisodicMemory`` indexes tasks so)."""
    return record.content


def turn_record(item: ContextItem, clock: Callable[[], float] = time.time) -> MemoryRecord:
    """The ``turn`` record of a conversation item (what ``VectorMemory.absorb`` stores and
    ``SummaryMemory`` shows its model): role, position, group and session as metadata."""
    meta = {
        k: v
        for k, v in item.metadata.items()
        if k not in ("created_at", "record_id")
        and (k == "tags" or isinstance(v, (str, int, float, bool)))
    }
    meta.update(role=item.role, position=item.position, group=item.group)
    # Turn ids restart with every window: make the record id unique to the session (or the text).
    session = item.metadata.get("session")
    record_id = item.metadata.get("record_id") or (
        f"{session}/{item.id}" if session else f"{item.id}-{item.content_hash[:12]}"
    )
    return MemoryRecord(
        id=record_id,
        kind="turn",
        content=item.content,
        metadata={k: v for k, v in meta.items() if v is not None},
        created_at=item.metadata.get("created_at", clock()),
    )
