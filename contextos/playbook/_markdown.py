"""A playbook as text: the Markdown people read and edit (and models are shown), and reading it back."""

from __future__ import annotations

import re
from collections.abc import Iterable

from contextos.errors import PlaybookError
from contextos.playbook.bullets import Bullet

_BULLET = re.compile(r"^- \[(?P<id>[^\]\s]+)\] (?P<rest>.*)$")
_COUNTERS = re.compile(r"\s*\(helpful (?P<helpful>\d+), harmful (?P<harmful>\d+)\)\s*$")


def bullet_line(bullet: Bullet, *, counters: bool = True) -> str:
    """``- [pb-0001] content (helpful 2, harmful 0)``; later lines of the content indented two spaces."""
    text = bullet.content.replace("\n", "\n  ")
    suffix = f" (helpful {bullet.helpful}, harmful {bullet.harmful})" if counters else ""
    return f"- [{bullet.id}] {text}{suffix}"


def to_markdown(
    bullets: Iterable[Bullet], *, version: int | None = None, counters: bool = True
) -> str:
    """The bullets under a ``## section`` heading each (sections in order of first appearance)."""
    by_section: dict[str, list[Bullet]] = {}
    for b in bullets:
        by_section.setdefault(b.section, []).append(b)
    title = "# Playbook" + (f" (version {version})" if version is not None else "")
    parts = [title]
    for section, members in by_section.items():
        parts.append(
            f"## {section}\n\n" + "\n".join(bullet_line(b, counters=counters) for b in members)
        )
    return "\n\n".join(parts) + "\n"


def from_markdown(text: str, *, where: str = "the Markdown") -> list[Bullet]:
    """Bullets from ``to_markdown``'s format (``## section`` headings, ``- [id] content (helpful h, harmful k)``)."""
    bullets: list[Bullet] = []
    section: str | None = None
    current: dict[str, str] | None = None

    def finish() -> None:
        if current is None:
            return
        body = current["body"]
        counted = _COUNTERS.search(body)
        helpful = harmful = 0
        if counted:
            helpful, harmful = int(counted["helpful"]), int(counted["harmful"])
            body = body[: counted.start()]
        try:
            bullets.append(
                Bullet(
                    id=current["id"],
                    section=current["section"],
                    content=body.strip(),
                    helpful=helpful,
                    harmful=harmful,
                )
            )
        except ValueError as exc:
            raise PlaybookError(
                f"{where}, line {current['line']}: not a valid bullet ({exc})"
            ) from None

    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("## "):
            finish()
            current, section = None, line[3:].strip()
        elif line.startswith("# ") or not line.strip():
            continue
        elif match := _BULLET.match(line):
            finish()
            if section is None:
                raise PlaybookError(f"{where}, line {n}: a bullet before any '## section' heading")
            current = {"id": match["id"], "section": section, "body": match["rest"], "line": str(n)}
        elif line.startswith("  ") and current is not None:
            current["body"] += "\n" + line[2:]
        else:
            raise PlaybookError(
                f"{where}, line {n}: expected '## section', '- [id] content' or an indented "
                f"continuation, got {line[:80]!r}"
            )
    finish()
    return bullets
