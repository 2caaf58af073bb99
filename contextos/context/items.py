"""The data that flows through one step: candidate items, decisions, and the assembled result."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contextos._checked import CheckedModel, validation_problems
from contextos.errors import ConfigError, ContextOSError, InvalidItemError

Role = Literal["system", "user", "assistant", "tool"]

CITE_ID = "cite_id"
"""``ContextItem.metadata`` key: the id the model may cite the item by (a playbook bullet's); an agent records
the ids its answer cites (``StepRecord.cited``)."""
FULL_CONTENT = "contextos.full_content"
"""The ``metadata`` key under which an item shortened to fit keeps its full text (the trace records it)."""


class ContextItem(CheckedModel):
    """One candidate piece of context, proposed by a source for one step.

    ```python
    >>> item = ContextItem(id="doc-1", source="documents", content="Paris is the capital of France.", score=0.8)
    >>> item.role
    'user'
    >>> ContextItem(id="", source="documents")
    Traceback (most recent call last):
    contextos.errors.InvalidItemError: invalid context item '' (id: String should have at least 1 character)

    ```
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    _error: ClassVar[type[ContextOSError]] = InvalidItemError
    _what: ClassVar[str] = "context item"

    id: str = Field(min_length=1)
    """Unique within one step; decisions and traces refer to items by it."""
    source: str = Field(min_length=1)
    """Which source proposed it: instructions, conversation, memory, tools, demonstrations,
    documents, input (the current request), or any other name."""
    role: Role = "user"
    """The chat role it renders with, where it becomes a message of its own (conversation, input)."""
    content: str = ""
    """The text the model reads. For a tool, its description (the schema is in ``payload``)."""
    payload: dict[str, Any] | None = None
    """Structured data sent beside the text: a tool's OpenAI schema, an assistant message's
    ``tool_calls``, or a tool result's ``tool_call_id``."""
    score: float = Field(default=0.0, allow_inf_nan=False)
    """Relevance to this step, as the source judged it (higher is better, typically 0..1; finite)."""
    priority: int = 0
    """A tier: items of a higher priority are considered before any item of a lower one."""
    pinned: bool = False
    """Always included; if pinned items alone exceed the budget, assembly fails loudly."""
    compressible: bool = True
    """Whether compressors and truncation may shorten it."""
    group: str | None = None
    """Items sharing a group are kept or dropped together (a tool call and its result); if one
    of them is pinned, the whole group is."""
    position: int | None = None
    """Order within its source when rendered (a turn index); items without one follow, by id."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Free-form data for sources, hooks and traces; never rendered."""

    @field_validator("content", mode="before")
    @classmethod
    def _content_is_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(
                f"content must be text, got {type(value).__name__}; "
                "serialise structured data to a string or put it in 'payload'"
            )
        return value

    @cached_property
    def content_hash(self) -> str:
        """A stable hash of what this item renders (content and payload), used as a cache key."""
        digest = hashlib.blake2b(self.content.encode("utf-8"), digest_size=16)
        if self.payload is not None:
            digest.update(b"\x00")
            digest.update(json.dumps(self.payload, sort_keys=True).encode("utf-8"))
        return digest.hexdigest()

    def with_content(self, content: str, **changes: Any) -> ContextItem:
        """A copy with new content (and any other field changes); the hash follows the content."""
        copy = self.model_copy(update={"content": content, **changes})
        # model_copy copies the cached hash of the old content
        copy.__dict__.pop("content_hash", None)
        return copy

    @classmethod
    def parse(cls, data: Any, *, where: str = "item") -> ContextItem:
        """Validate one item from untrusted data, raising ``InvalidItemError`` that names ``where``."""
        try:
            return cls.model_validate(data)
        except (ValidationError, InvalidItemError) as exc:
            # __init__ turned pydantic's error into InvalidItemError; its context keeps the fields.
            cause = exc if isinstance(exc, ValidationError) else exc.__context__
            problems = (
                validation_problems(cause, "item")
                if isinstance(cause, ValidationError)
                else str(exc)
            )
            raise InvalidItemError(
                f"{where} is not a valid context item ({problems}). Each item needs at least "
                '"id", "source" and text "content", e.g. {"id": "a", "source": "documents", "content": "..."}'
            ) from None


class DecisionStatus(StrEnum):
    """What happened to a candidate item."""

    INCLUDED = "included"
    DROPPED = "dropped"
    TRUNCATED = "truncated"
    COMPRESSED = "compressed"


@dataclass(slots=True)
class ContextDecision:
    """Why one candidate item is, or is not, in what the model sees.

    A plain dataclass, not a pydantic model and not frozen: the orchestrator makes one per
    candidate at every step from values it has already validated, and a frozen dataclass costs
    four times as much to make (``AssembledContext`` still serialises decisions with the rest of
    the result; a hook that edits the assembled context may edit them too).
    """

    id: str
    """The item's id."""
    source: str
    """The item's source."""
    status: DecisionStatus
    """Included as is, dropped, truncated to fit, or compressed (and then included)."""
    tokens_before: int
    """The item's tokens as proposed."""
    tokens_after: int
    """The item's tokens as sent (0 when dropped)."""
    score: float
    """The item's relevance score."""
    reason: str
    """A short human-readable reason, e.g. ``"pinned"``, ``"over budget"``, ``"redundant with doc-3"``."""


class SourceUsage(BaseModel):
    """Token accounting of one source for one step."""

    offered: int = 0
    """Candidates the source proposed."""
    offered_tokens: int = 0
    """Their tokens, as proposed."""
    kept: int = 0
    """Candidates that made it into the request."""
    kept_tokens: int = 0
    """Their tokens, as sent."""
    unexamined: int = 0
    """Conversation turns older than the kept suffix that selection never reached (it walks from the newest
    turn back and stops at the first that does not fit): counted in ``offered``, not in ``offered_tokens``,
    and without a decision each."""


class ContextUsage(BaseModel):
    """Token accounting for one assembled request."""

    budget: int
    """Tokens available to the request (context window minus reserved output)."""
    request_tokens: int
    """Tokens of the rendered request (messages, tool schemas and chat overhead)."""
    per_source: dict[str, SourceUsage] = Field(default_factory=dict)
    """Accounting per source name."""
    counted_with: str = ""
    """What counted the tokens (``tiktoken:cl100k_base``, ``template:<model folder>``, ``estimate:o200k_base+50%``...)."""
    estimated: bool = False
    """True when the model's own tokenizer was not known and the counts are an estimate (see docs/tokens.md)."""


class AssembledContext(BaseModel):
    """What the model sees at one step, and why."""

    messages: list[dict[str, Any]]
    """OpenAI-style chat messages, in prefix-cache-friendly order."""
    tools: list[dict[str, Any]]
    """OpenAI tool schemas offered to the model: exactly the tool items selected."""
    decisions: list[ContextDecision]
    """One decision per candidate item."""
    usage: ContextUsage
    """Token accounting."""
    items: list[ContextItem] = Field(default_factory=list, repr=False)
    """The items that went in (after compression or truncation), in render order."""

    def decision(self, item_id: str) -> ContextDecision:
        """The decision for one item id."""
        for decision in self.decisions:
            if decision.id == item_id:
                return decision
        raise KeyError(item_id)

    def request(self) -> dict[str, Any]:
        """The request body fields contextos decides: ``messages`` and, if any, ``tools``."""
        body: dict[str, Any] = {"messages": self.messages}
        if self.tools:
            body["tools"] = self.tools
        return body


class Step(CheckedModel):
    """What sources see when they propose candidates for one step."""

    _error: ClassVar[type[ContextOSError]] = ConfigError
    _what: ClassVar[str] = "step"

    input: str = ""
    """The current request or task text that this step answers."""
    index: int = 0
    """The step number within the run, from 0."""
    run_id: str | None = None
    """The run this step belongs to, when there is one."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Anything a source needs beyond the input (user id, session id, filters)."""
