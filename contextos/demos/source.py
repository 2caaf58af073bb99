"""``DemoSource``: a pool of demonstrations as the ``demonstrations`` source of an Agent or Orchestrator."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contextos.context.budget import Budget, Section
from contextos.context.items import ContextItem, Step
from contextos.context.source_names import DEMONSTRATIONS
from contextos.demos.pool import DemoPool
from contextos.demos.retrieve import DemoRetriever, KnnRetriever
from contextos.errors import DemoError

if TYPE_CHECKING:
    from contextos.embed.base import Embedder
    from contextos.memory.episodic import EpisodicMemory

DEFAULT_SECTION = Section(cap=1024)
"""The share of the budget demonstrations get unless told otherwise: at most 1,024 tokens."""


class DemoSource:
    """Worked examples for each step, rendered in the stable part of the prompt (after the
    instructions and tools, before memory and documents) under a section budget of their own.

    ```python
    demos = DemoSource(DemoPool("./demos"), section=Section(cap=800))      # kNN, 4 per step
    agent = Agent(client, sources=[demos], budget=demos.within(Budget(context_window=8192)))
    ```

    ``retriever`` may be any ``DemoRetriever`` (``MmrRetriever(pool)``, ``BalancedRetriever(pool)``);
    a ``DemoPool`` is retrieved from by ``KnnRetriever(pool, k=k)``.
    """

    name = DEMONSTRATIONS

    def __init__(
        self,
        retriever: DemoRetriever | DemoPool,
        *,
        k: int = 4,
        section: Section | None = DEFAULT_SECTION,
    ) -> None:
        if isinstance(retriever, DemoPool):
            retriever = KnnRetriever(retriever, k=k)
        if not isinstance(retriever, DemoRetriever):
            raise DemoError(
                f"DemoSource takes a DemoPool or a DemoRetriever, not {type(retriever).__name__}"
            )
        self.retriever = retriever
        self.section = section
        self._episodes: tuple[EpisodicMemory, bool] | None = None

    @classmethod
    def from_episodes(
        cls,
        episodes: EpisodicMemory,
        uri: str | Path,
        *,
        embedder: Embedder | None = None,
        k: int = 2,
        successful_only: bool = True,
        section: Section | None = DEFAULT_SECTION,
        **pool_options: Any,
    ) -> DemoSource:
        """A source whose pool (at ``uri``) holds the finished trajectories of ``episodes``, so the model
        sees how similar tasks were solved. Call ``refresh()`` to add trajectories recorded since."""
        pool = DemoPool(
            uri,
            embedder=embedder if embedder is not None else episodes.store.table.embedder,
            **pool_options,
        )
        source = cls(KnnRetriever(pool, k=k), section=section)
        source._episodes = (episodes, successful_only)
        source.refresh()
        return source

    def refresh(self) -> int:
        """Copy the episodic memory's trajectories into the pool again (a source built ``from_episodes``)."""
        if self._episodes is None:
            raise DemoError("refresh() is for a DemoSource built with DemoSource.from_episodes")
        episodes, successful_only = self._episodes
        return self.retriever.pool.add_episodes(episodes, successful_only=successful_only)

    def within(self, budget: Budget) -> Budget:
        """``budget`` with this source's section added (a section the budget already names wins)."""
        if self.section is None or self.name in budget.sections:
            return budget
        return type(budget)(
            **{**dict(budget), "sections": {**budget.sections, self.name: self.section}}
        )

    async def candidates(self, step: Step) -> Sequence[ContextItem]:
        return await self.retriever.candidates(step)
