"""A playbook's data: ``Bullet`` (one itemised lesson with its counters) and ``PlaybookState`` (one version)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

SECTIONS = ("strategies", "pitfalls", "formulas", "code", "verification", "other")
"""The sections a curator is offered (a bullet may name any other section too)."""


class Provenance(BaseModel):
    """Where a bullet's lesson came from."""

    model_config = ConfigDict(frozen=True)

    run_ids: list[str] = Field(default_factory=list)
    """The runs whose reflections made or changed the bullet."""
    step_ids: list[str] = Field(default_factory=list)
    """The steps of those runs, as ``<run_id>:<step index>``."""

    def joined(self, other: Provenance) -> Provenance:
        """Both provenances, each id once, in order."""
        return Provenance(
            run_ids=list(dict.fromkeys([*self.run_ids, *other.run_ids])),
            step_ids=list(dict.fromkeys([*self.step_ids, *other.step_ids])),
        )


class Bullet(BaseModel):
    """One itemised lesson: a strategy, a pitfall, a formula, a code snippet.

    ```python
    Bullet(id="pb-0001", section="pitfalls", content="Convert units before comparing amounts.")
    ```
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    """Stable id the generator cites (``pb-0001``)."""
    section: str = Field(min_length=1)
    """The playbook section it belongs to (``strategies``, ``pitfalls``, ...)."""
    content: str = Field(min_length=1)
    """The lesson, as the model reads it."""
    helpful: int = Field(default=0, ge=0)
    """How many times a reflection judged it helpful."""
    harmful: int = Field(default=0, ge=0)
    """How many times a reflection judged it harmful."""
    created_at: float = 0.0
    """Unix time it was added."""
    updated_at: float = 0.0
    """Unix time of its last change (content or counters)."""
    provenance: Provenance = Field(default_factory=Provenance)
    """The runs and steps that made or changed it."""

    @property
    def net(self) -> int:
        """Helpful minus harmful."""
        return self.helpful - self.harmful

    @property
    def is_harmful(self) -> bool:
        """Judged harmful more often than helpful: such a bullet is no longer offered to the model."""
        return self.harmful > self.helpful


class PlaybookState(BaseModel):
    """The whole playbook at one version."""

    model_config = ConfigDict(frozen=True)

    version: int = 0
    """0 for the empty playbook; every applied delta (or revert) makes the next one."""
    bullets: list[Bullet] = Field(default_factory=list)
    """The bullets, in the order they were added."""
    next_id: int = 1
    """The number the next added bullet's id takes (ids are never reused, even after a delete)."""

    def get(self, bullet_id: str) -> Bullet | None:
        """The bullet with this id, or None."""
        return next((b for b in self.bullets if b.id == bullet_id), None)

    @property
    def ids(self) -> list[str]:
        """The bullets' ids, in order."""
        return [b.id for b in self.bullets]


def bullet_id(number: int) -> str:
    """The id of the ``number``-th bullet ever added: ``pb-0001``."""
    return f"pb-{number:04d}"
