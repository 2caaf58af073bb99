"""``PlaybookSource``: per step, the playbook bullets relevant to it, as candidates the model can cite."""

from __future__ import annotations

import asyncio
from typing import Any

from contextos.context.items import CITE_ID, ContextItem, Step
from contextos.context.source_names import PLAYBOOK
from contextos.errors import ConfigError
from contextos.playbook._markdown import bullet_line
from contextos.playbook.store import Playbook

CITE_INSTRUCTION = (
    "Strategies and pitfalls learned from earlier runs. When one of them helps, follow it and cite its id "
    "in your answer, e.g. [pb-0001]."
)
"""What the generator reads above the bullets: it asks the model to cite the ids it used."""


class PlaybookSource:
    """Proposes the bullets most relevant to a step, under its own token budget; a bullet judged harmful
    more often than helpful is never proposed.

    ```python
    agent = Agent(client, sources=[PlaybookSource(playbook, max_tokens=800)])
    ```

    A bullet's score is its cosine similarity to the step's input times ``1 + counter_weight * n / (1 + n)``,
    where ``n`` is helpful minus harmful: proven bullets rank higher, with diminishing returns. Bullets
    below ``min_similarity`` are not proposed; the rest are proposed best first while they fit in
    ``max_tokens``, with a pinned-priority line above them asking the model to cite the ids it uses
    (each item carries its bullet id as ``metadata["cite_id"]``). Bullets render in playbook order, so
    an unchanged selection keeps the prompt prefix stable.
    """

    def __init__(
        self,
        playbook: Playbook,
        *,
        name: str = PLAYBOOK,
        k: int = 20,
        max_tokens: int = 1000,
        min_similarity: float = 0.2,
        counter_weight: float = 0.5,
        instruction: str = CITE_INSTRUCTION,
    ) -> None:
        if k < 1 or max_tokens < 1:
            raise ConfigError(
                f"PlaybookSource needs k >= 1 and max_tokens >= 1, got k={k}, max_tokens={max_tokens}"
            )
        self.playbook = playbook
        self.name = name
        self.k = k
        self.max_tokens = max_tokens
        self.min_similarity = min_similarity
        self.counter_weight = counter_weight
        self.instruction = instruction
        self._last: tuple[str, int, list[Any]] | None = None  # (input, playbook version, hits)

    def score(self, similarity: float, helpful: int, harmful: int) -> float:
        """The score of a bullet of this ``similarity`` and these counters."""
        net = max(helpful - harmful, 0)
        return similarity * (1.0 + self.counter_weight * net / (1.0 + net))

    async def candidates(self, step: Step) -> list[ContextItem]:
        if not step.input.strip() or not self.playbook.bullets:
            return []
        last = self._last
        if last is not None and last[:2] == (step.input, self.playbook.version):
            # an agent's steps share their input: one search per version, not per step
            hits = last[2]
        else:
            hits = await asyncio.to_thread(self.playbook.search, step.input, self.k)
            self._last = (step.input, self.playbook.version, hits)
        order = {b.id: n for n, b in enumerate(self.playbook.bullets)}
        ranked = sorted(
            (
                (self.score(h.score, int(h.row["helpful"]), int(h.row["harmful"])), h)
                for h in hits
                if h.score >= self.min_similarity and h.id in order
            ),
            key=lambda pair: (-pair[0], pair[1].id),
        )
        items: list[ContextItem] = []
        used = self.playbook.count_tokens(self.instruction)
        for score, hit in ranked:
            bullet = self.playbook.get(hit.id)
            if bullet is None:
                continue
            content = bullet_line(bullet, counters=False)[2:]  # "[pb-0001] content"
            tokens = self.playbook.count_tokens(content)
            if used + tokens > self.max_tokens:
                continue
            used += tokens
            items.append(
                ContextItem(
                    id=f"{self.name}-{bullet.id}",
                    source=self.name,
                    content=content,
                    score=score,
                    position=order[bullet.id] + 1,
                    metadata={
                        CITE_ID: bullet.id,
                        "section": bullet.section,
                        "similarity": hit.score,
                        "helpful": bullet.helpful,
                        "harmful": bullet.harmful,
                    },
                )
            )
        if not items:
            return []
        header = ContextItem(
            id=f"{self.name}-instruction",
            source=self.name,
            content=self.instruction,
            priority=1,
            position=0,
            compressible=False,
            score=1.0,
        )
        return [header, *items]
