"""``Playbook``: a versioned playbook in LanceDB, changed only by validated deltas.

Two ``VectorTable``s in one store folder: ``<name>_versions`` holds one row per version (the delta
that made it and the whole state after it, as JSON; a version is a few kilobytes, so restoring any of
them is one read), and ``<name>_bullets`` holds the current bullets with their vectors, for search and
de-duplication. A version row is one LanceDB commit, so it is the
truth: the bullets table is brought in line with the latest version after every write and whenever
the playbook is opened (a process killed between the two leaves it behind for one open, never wrong).
One process should write a playbook at a time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from contextos.context.source_names import PLAYBOOK
from contextos.embed.base import Embedder
from contextos.embed.hashing import HashingEmbedder
from contextos.errors import InvalidDeltaError, PlaybookError, StoreError
from contextos.playbook._markdown import bullet_line, from_markdown, to_markdown
from contextos.playbook.bullets import Bullet, PlaybookState, Provenance
from contextos.playbook.delta import DEFAULT_MAX_BULLET_TOKENS, apply_delta, op_json, parse_delta
from contextos.store import Hit, VectorTable
from contextos.tracing.spans import content_encoder, span

APPLY_SPAN = "contextos.playbook.apply"
REJECTED_EVENT = "contextos.playbook.delta_rejected"
DELTA_ATTR = "contextos.playbook.delta"


class VersionInfo(BaseModel):
    """One version of a playbook: what made it."""

    version: int
    """Its number (1 is the first delta applied)."""
    kind: str
    """``apply``, ``revert``, ``import`` or ``learn``."""
    ops: list[dict[str, Any]] = Field(default_factory=list)
    """The operations that made it (a revert: ``[{"op": "revert", "to": N}]``)."""
    created_at: float = 0.0
    """Unix time it was written."""
    bullets: int = 0
    """How many bullets it holds."""


class PlaybookDiff(BaseModel):
    """What changed between two versions."""

    from_version: int
    """The earlier version."""
    to_version: int
    """The later version."""
    added: list[Bullet] = Field(default_factory=list)
    """Bullets in ``to`` that ``from`` lacks."""
    removed: list[Bullet] = Field(default_factory=list)
    """Bullets in ``from`` that ``to`` lacks."""
    changed: list[tuple[Bullet, Bullet]] = Field(default_factory=list)
    """Bullets in both whose section, content or counters differ: (before, after)."""

    def lines(self) -> list[str]:
        """The difference as ``+``, ``-`` and ``~`` lines."""

        def line(b: Bullet) -> str:
            return bullet_line(b)[2:]  # without its list mark

        out = [f"+ {line(b)}" for b in self.added] + [f"- {line(b)}" for b in self.removed]
        for before, after in self.changed:
            out += [f"~ {line(before)}", f"> {line(after)}"]
        return out


class Playbook:
    """A playbook of bullets in a LanceDB store folder, every change a new version.

    ```python
    playbook = Playbook("./playbook")
    playbook.apply([{"op": "add", "section": "pitfalls", "content": "Convert units before comparing."}])
    playbook.revert(0)                 # a new version holding what version 0 held
    print(playbook.to_markdown())
    ```
    """

    def __init__(
        self,
        uri: str | Path,
        *,
        embedder: Embedder | None = None,
        name: str = PLAYBOOK,
        create: bool = True,
        max_bullet_tokens: int = DEFAULT_MAX_BULLET_TOKENS,
        count_tokens: Callable[[str], int] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if embedder is None:
            from contextos.embed import default_embedder

            embedder = default_embedder()
        if count_tokens is None:
            from contextos.context.tokens import TiktokenCounter

            count_tokens = TiktokenCounter().count
        self.uri = str(uri)
        self.name = name
        try:
            self.bullets_table = VectorTable.open(
                uri, f"{name}_bullets", embedder=embedder, create=create
            )
            # versions are read by number, never by meaning: a hashing embedder spares a model pass per version
            self.versions_table = VectorTable.open(
                uri, f"{name}_versions", embedder=HashingEmbedder(dimension=32), create=create
            )
        except StoreError as exc:
            if create:
                raise
            raise PlaybookError(
                f"no playbook {name!r} at {uri} ({exc}): apply a delta to create one"
            ) from None
        self.max_bullet_tokens = max_bullet_tokens
        self.count_tokens = count_tokens
        self.clock = clock
        self.state = self._latest()
        self._sync(self.state)

    # ------------------------------------------------------------------ reading
    @property
    def version(self) -> int:
        """The current version (0: nothing applied yet)."""
        return self.state.version

    @property
    def bullets(self) -> list[Bullet]:
        """The current bullets, in the order they were added."""
        return list(self.state.bullets)

    def get(self, bullet_id: str) -> Bullet | None:
        """The current bullet with this id, or None."""
        return self.state.get(bullet_id)

    def tokens(self, state: PlaybookState | None = None) -> int:
        """Tokens of the playbook as the model reads it (its Markdown without counters)."""
        bullets = (state or self.state).bullets
        return sum(self.count_tokens(bullet_line(b, counters=False)) for b in bullets)

    def reload(self) -> PlaybookState:
        """Read the latest version again (after another process wrote one)."""
        self.versions_table.refresh()
        self.bullets_table.refresh()
        self.state = self._latest()
        self._sync(self.state)
        return self.state

    def at(self, version: int) -> PlaybookState:
        """The playbook as it was at ``version``."""
        if version == 0:
            return PlaybookState()
        rows = self.versions_table.get([_row_id(version)])
        if not rows:
            raise PlaybookError(
                f"playbook {self.name!r} has no version {version} (it has 0 to {self.version})"
            )
        return PlaybookState.model_validate_json(rows[0]["state"])

    def history(self) -> list[VersionInfo]:
        """Every version, oldest first."""
        rows = self.versions_table.scan(columns=["version", "kind", "ops", "created_at", "bullets"])
        return sorted(
            (
                VersionInfo(
                    version=r["version"],
                    kind=r["kind"],
                    ops=json.loads(r["ops"]),
                    created_at=r["created_at"],
                    bullets=r["bullets"],
                )
                for r in rows
            ),
            key=lambda v: v.version,
        )

    def search(self, query: str, k: int = 10, *, include_harmful: bool = False) -> list[Hit]:
        """The ``k`` current bullets most similar to ``query`` (cosine); without ``include_harmful``, only
        bullets not judged harmful more often than helpful."""
        where = None if include_harmful else "harmful <= helpful"
        return self.bullets_table.search(query, k, mode="dense", where=where)

    def diff(self, from_version: int, to_version: int) -> PlaybookDiff:
        """What changed from one version to another."""
        a, b = self.at(from_version), self.at(to_version)
        before = {x.id: x for x in a.bullets}
        after = {x.id: x for x in b.bullets}
        fields = ("section", "content", "helpful", "harmful")
        return PlaybookDiff(
            from_version=from_version,
            to_version=to_version,
            added=[x for i, x in after.items() if i not in before],
            removed=[x for i, x in before.items() if i not in after],
            changed=[
                (before[i], x)
                for i, x in after.items()
                if i in before and any(getattr(before[i], f) != getattr(x, f) for f in fields)
            ],
        )

    # ------------------------------------------------------------------ writing
    def apply(
        self,
        ops: Sequence[Any],
        *,
        provenance: Provenance | None = None,
        labels: Sequence[str] | None = None,
        kind: str = "apply",
    ) -> PlaybookState:
        """Apply a delta (operations, or their JSON objects) atomically as one new version, and return it.

        Any invalid operation raises ``InvalidDeltaError`` naming it (by ``labels``, e.g. file lines) and
        nothing is applied. Accepted or rejected, the delta is recorded in a ``contextos.playbook.apply`` span.
        """
        with span(
            APPLY_SPAN,
            {
                "contextos.playbook.name": self.name,
                "contextos.playbook.version_from": self.version,
                "contextos.playbook.kind": kind,
                "contextos.playbook.operations": len(ops),
            },
        ) as s:
            s.set_attribute(DELTA_ATTR, _traced_delta(ops))
            try:
                parsed = parse_delta([_as_json(op) for op in ops], labels)
                new = apply_delta(
                    self.state,
                    parsed,
                    now=self.clock(),
                    provenance=provenance,
                    labels=labels,
                    count_tokens=self.count_tokens,
                    max_bullet_tokens=self.max_bullet_tokens,
                )
            except InvalidDeltaError as exc:
                s.add_event(REJECTED_EVENT, {"contextos.playbook.error": str(exc)})
                s.set_attribute("contextos.playbook.outcome", "rejected")
                raise
            self._commit(new, kind, [op_json(op) for op in parsed])
            s.set_attributes(
                {
                    "contextos.playbook.outcome": "applied",
                    "contextos.playbook.version_to": new.version,
                    "contextos.playbook.bullets": len(new.bullets),
                }
            )
        return new

    def revert(self, to_version: int) -> PlaybookState:
        """Restore what ``to_version`` held, as a new version (ids are never reused afterwards)."""
        old = self.at(to_version)
        new = PlaybookState(
            version=self.version + 1,
            bullets=old.bullets,
            next_id=max(old.next_id, self.state.next_id),
        )
        with span(
            APPLY_SPAN,
            {
                "contextos.playbook.name": self.name,
                "contextos.playbook.version_from": self.version,
                "contextos.playbook.kind": "revert",
                "contextos.playbook.version_to": new.version,
                "contextos.playbook.outcome": "applied",
            },
        ):
            self._commit(new, "revert", [{"op": "revert", "to": to_version}])
        return new

    def import_bullets(self, bullets: Sequence[Bullet]) -> PlaybookState:
        """Replace the bullets by ``bullets`` (ids and counters kept), as a new version."""
        ids = [b.id for b in bullets]
        if len(set(ids)) != len(ids):
            raise PlaybookError(
                f"imported bullets repeat ids: {sorted({i for i in ids if ids.count(i) > 1})}"
            )
        now = self.clock()
        for b in bullets:
            tokens = self.count_tokens(b.content)
            if tokens > self.max_bullet_tokens:
                raise PlaybookError(
                    f"imported bullet {b.id} is {tokens} tokens, over the limit of {self.max_bullet_tokens}"
                )
        stamped = [
            b if b.created_at else b.model_copy(update={"created_at": now, "updated_at": now})
            for b in bullets
        ]
        numbers = [int(i[3:]) for i in ids if i.startswith("pb-") and i[3:].isdigit()]
        new = PlaybookState(
            version=self.version + 1,
            bullets=stamped,
            next_id=max([self.state.next_id, *(n + 1 for n in numbers)]),
        )
        with span(
            APPLY_SPAN,
            {
                "contextos.playbook.name": self.name,
                "contextos.playbook.kind": "import",
                "contextos.playbook.version_from": self.version,
                "contextos.playbook.version_to": new.version,
                "contextos.playbook.outcome": "applied",
            },
        ):
            self._commit(new, "import", [{"op": "import", "bullets": len(stamped)}])
        return new

    # ------------------------------------------------------------------ export / import
    def to_json(self) -> dict[str, Any]:
        """``{"version": N, "bullets": [{"id", "section", "content", "helpful", "harmful", ...}]}``."""
        return {
            "version": self.version,
            "bullets": [b.model_dump(mode="json") for b in self.state.bullets],
        }

    def to_markdown(self) -> str:
        """The bullets under ``## section`` headings, with ids and counters."""
        return to_markdown(self.state.bullets, version=self.version)

    @staticmethod
    def parse_export(text: str, *, where: str = "the file") -> list[Bullet]:
        """Bullets from an export, JSON (``to_json``'s shape) or Markdown (``to_markdown``'s)."""
        if not text.lstrip().startswith("{"):
            return from_markdown(text, where=where)
        try:
            data = json.loads(text)
            return [Bullet.model_validate(b) for b in data["bullets"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise PlaybookError(
                f'{where} is not a playbook export ({exc}): expected {{"version", "bullets": [...]}}'
            ) from None

    # ------------------------------------------------------------------ internals
    def _latest(self) -> PlaybookState:
        rows = self.versions_table.scan(columns=["version"])
        return self.at(max(r["version"] for r in rows)) if rows else PlaybookState()

    def _commit(self, new: PlaybookState, kind: str, ops: list[dict[str, Any]]) -> None:
        counts: dict[str, int] = {}
        for op in ops:
            counts[op["op"]] = counts.get(op["op"], 0) + 1
        summary = f"version {new.version} ({kind}): " + ", ".join(
            f"{k} {v}" for k, v in counts.items()
        )
        self.versions_table.upsert(
            [
                {
                    "id": _row_id(new.version),
                    "text": summary,
                    "version": new.version,
                    "kind": kind,
                    "ops": json.dumps(ops, ensure_ascii=False),
                    "state": new.model_dump_json(),
                    "created_at": self.clock(),
                    "bullets": len(new.bullets),
                }
            ]
        )
        self.state = new
        self._sync(new)

    def _sync(self, state: PlaybookState) -> None:
        """Make the bullets table hold exactly ``state``'s bullets."""
        stored = {
            r["id"]: r
            for r in self.bullets_table.scan(
                columns=["id", "text", "section", "helpful", "harmful", "updated_at"]
            )
        }
        rows = [_bullet_row(b) for b in state.bullets]
        changed = [
            r
            for r in rows
            if any(
                stored.get(r["id"], {}).get(k) != r[k]
                for k in ("text", "section", "helpful", "harmful", "updated_at")
            )
        ]
        gone = [i for i in stored if state.get(i) is None]
        if changed:
            self.bullets_table.upsert(changed)
        if gone:
            self.bullets_table.delete(gone)


def _row_id(version: int) -> str:
    return f"v{version:08d}"


def _bullet_row(b: Bullet) -> dict[str, Any]:
    return {
        "id": b.id,
        "text": b.content,
        "section": b.section,
        "helpful": b.helpful,
        "harmful": b.harmful,
        "created_at": b.created_at,
        "updated_at": b.updated_at,
        "provenance": b.provenance.model_dump_json(),
    }


def _as_json(op: Any) -> Any:
    return op_json(op) if isinstance(op, BaseModel) else op


def _traced_delta(ops: Sequence[Any]) -> str:
    """The delta as the trace records it: whole while content is captured, else without its texts."""
    rows = [_as_json(op) for op in ops]
    encode = content_encoder()
    if encode is not None:
        return encode(rows)
    from contextos.tracing._jsontext import compact_json

    return compact_json(
        [
            {k: v for k, v in r.items() if k not in ("content", "reason")}
            if isinstance(r, dict)
            else r
            for r in rows
        ]
    )
