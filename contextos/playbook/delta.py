"""Delta operations on a playbook, validated as a whole and applied by deterministic code.

ACE (Zhang et al., "Agentic Context Engineering", arXiv 2510.04618) never lets a model rewrite the
whole playbook: a curator proposes small operations and code applies them, so a playbook grows and
is refined without collapsing. ``apply_delta`` is that code: it applies every operation to a copy,
and any invalid one (unknown id, missing field, oversize bullet) rejects the whole delta.

```python
ops = parse_delta([{"op": "add", "section": "pitfalls", "content": "Check units."}])
state = apply_delta(PlaybookState(), ops, now=time.time())
```
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from contextos._checked import validation_problems
from contextos.errors import InvalidDeltaError
from contextos.playbook.bullets import Bullet, PlaybookState, Provenance, bullet_id

OPS = ("add", "update", "merge", "delete", "tag")
DEFAULT_MAX_BULLET_TOKENS = 200
"""A bullet longer than this is rejected: a playbook is a list of small lessons, not documents."""


class _Op(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str | None = None
    """Why the curator proposes it (recorded, never applied)."""


class AddOp(_Op):
    """Add a new bullet (its id is assigned)."""

    op: Literal["add"] = "add"
    section: str = Field(min_length=1)
    """The section it goes in."""
    content: str = Field(min_length=1)
    """The lesson."""


class UpdateOp(_Op):
    """Replace a bullet's content (and optionally move it to another section)."""

    op: Literal["update"] = "update"
    id: str
    """The bullet to change."""
    content: str = Field(min_length=1)
    """Its new content."""
    section: str | None = None
    """Its new section (None: unchanged)."""


class MergeOp(_Op):
    """Merge bullets into the first of ``ids``, which keeps the sum of their counters."""

    op: Literal["merge"] = "merge"
    ids: list[str] = Field(min_length=2)
    """The bullets merged; the first one's id survives, the others are removed."""
    content: str = Field(min_length=1)
    """The merged bullet's content."""

    @model_validator(mode="after")
    def _distinct(self) -> MergeOp:
        if len(set(self.ids)) != len(self.ids):
            raise ValueError(f"ids repeat: {self.ids}")
        return self


class DeleteOp(_Op):
    """Remove a bullet."""

    op: Literal["delete"] = "delete"
    id: str
    """The bullet to remove."""


class TagOp(_Op):
    """Add to a bullet's helpful and / or harmful counters."""

    op: Literal["tag"] = "tag"
    id: str
    """The bullet tagged."""
    helpful: int = Field(default=0, ge=0)
    """Added to its helpful counter."""
    harmful: int = Field(default=0, ge=0)
    """Added to its harmful counter."""

    @model_validator(mode="after")
    def _counts_something(self) -> TagOp:
        if self.helpful == 0 and self.harmful == 0:
            raise ValueError('a tag needs "helpful": N or "harmful": N with N >= 1')
        return self


DeltaOp = Annotated[AddOp | UpdateOp | MergeOp | DeleteOp | TagOp, Field(discriminator="op")]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(DeltaOp)


def parse_op(
    data: Any, *, where: str = "operation"
) -> AddOp | UpdateOp | MergeOp | DeleteOp | TagOp:
    """One operation from untrusted data; ``InvalidDeltaError`` names ``where`` and what is wrong."""
    if not isinstance(data, dict):
        raise InvalidDeltaError(
            f"{where} is a JSON {type(data).__name__}, not an object such as "
            '{"op": "add", "section": "pitfalls", "content": "..."}'
        )
    if data.get("op") not in OPS:
        raise InvalidDeltaError(
            f"{where} has unknown op {data.get('op')!r}: use one of {', '.join(OPS)}"
        )
    try:
        return _ADAPTER.validate_python(data)  # type: ignore[no-any-return]
    except ValidationError as exc:
        problems = validation_problems(exc, "op", skip=1)
        raise InvalidDeltaError(f"{where} ({data['op']}) is invalid: {problems}") from None


def parse_delta(rows: Sequence[Any], labels: Sequence[str] | None = None) -> list[Any]:
    """Every operation of ``rows`` parsed, or ``InvalidDeltaError`` for the first invalid one (named by
    ``labels[i]``, e.g. ``deltas.jsonl:3``, else ``operation i+1``)."""
    return [parse_op(row, where=_label(labels, n)) for n, row in enumerate(rows)]


def _label(labels: Sequence[str] | None, n: int) -> str:
    return labels[n] if labels is not None and n < len(labels) else f"operation {n + 1}"


def apply_delta(
    state: PlaybookState,
    ops: Sequence[Any],
    *,
    now: float,
    provenance: Provenance | None = None,
    count_tokens: Callable[[str], int] = len,
    max_bullet_tokens: int = DEFAULT_MAX_BULLET_TOKENS,
    labels: Sequence[str] | None = None,
) -> PlaybookState:
    """``state`` with every operation applied in order, as the next version; ``state`` itself is untouched.

    Raises ``InvalidDeltaError`` naming the first operation that cannot apply (an unknown id, a bullet over
    ``max_bullet_tokens`` as ``count_tokens`` counts them, an empty delta): then nothing is applied.
    """
    if not ops:
        raise InvalidDeltaError("the delta holds no operations: give at least one")
    made = provenance or Provenance()
    bullets: dict[str, Bullet] = {b.id: b for b in state.bullets}
    next_id = state.next_id

    def known(where: str, bid: str) -> Bullet:
        if bid not in bullets:
            have = ", ".join(list(bullets)[:20]) or "none"
            raise InvalidDeltaError(
                f"{where}: unknown bullet id {bid!r} (the playbook has: {have})"
            )
        return bullets[bid]

    def checked(where: str, content: str, *, replacing: Sequence[str] = ()) -> str:
        text = content.strip()
        if not text:
            raise InvalidDeltaError(f"{where}: the content is empty")
        same = next(
            (
                b.id
                for b in bullets.values()
                if b.id not in replacing and _same_text(b.content, text)
            ),
            None,
        )
        if same is not None:
            raise InvalidDeltaError(
                f"{where}: bullet {same} already says this: tag or update it instead"
            )
        tokens = count_tokens(text)
        if tokens > max_bullet_tokens:
            raise InvalidDeltaError(
                f"{where}: the bullet is {tokens} tokens, over the limit of {max_bullet_tokens}: "
                "split it into smaller lessons"
            )
        return text

    for n, op in enumerate(ops):
        where = f"{_label(labels, n)} ({op.op})"
        if isinstance(op, AddOp):
            new = Bullet(
                id=bullet_id(next_id),
                section=op.section.strip(),
                content=checked(where, op.content),
                created_at=now,
                updated_at=now,
                provenance=made,
            )
            next_id += 1
            bullets[new.id] = new
        elif isinstance(op, UpdateOp):
            old = known(where, op.id)
            bullets[op.id] = old.model_copy(
                update={
                    "content": checked(where, op.content, replacing=[op.id]),
                    "section": (op.section or old.section).strip(),
                    "updated_at": now,
                    "provenance": old.provenance.joined(made),
                }
            )
        elif isinstance(op, MergeOp):
            merged = [known(where, i) for i in op.ids]
            keeper = merged[0]
            content = checked(where, op.content, replacing=op.ids)
            provenance_all = keeper.provenance
            for other in merged[1:]:
                provenance_all = provenance_all.joined(other.provenance)
                del bullets[other.id]
            bullets[keeper.id] = keeper.model_copy(
                update={
                    "content": content,
                    "helpful": sum(b.helpful for b in merged),
                    "harmful": sum(b.harmful for b in merged),
                    "updated_at": now,
                    "created_at": min(b.created_at for b in merged),
                    "provenance": provenance_all.joined(made),
                }
            )
        elif isinstance(op, DeleteOp):
            known(where, op.id)
            del bullets[op.id]
        elif isinstance(op, TagOp):
            old = known(where, op.id)
            bullets[op.id] = old.model_copy(
                update={
                    "helpful": old.helpful + op.helpful,
                    "harmful": old.harmful + op.harmful,
                    "updated_at": now,
                    "provenance": old.provenance.joined(made),
                }
            )
        else:  # a caller that built ops by hand with another type
            raise InvalidDeltaError(f"{where}: not a delta operation ({type(op).__name__})")
    return PlaybookState(version=state.version + 1, bullets=list(bullets.values()), next_id=next_id)


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).lower() == " ".join(b.split()).lower()


def op_json(op: Any) -> dict[str, Any]:
    """An operation as the JSON object it is written as (defaults left out)."""
    return {"op": op.op, **op.model_dump(exclude_defaults=True, exclude={"op"})}
