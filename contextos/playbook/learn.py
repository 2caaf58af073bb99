"""``PlaybookLearner``: ACE's learning loop. After a run (online) or over stored runs (offline, for several
epochs): feedback on the outcome, a reflection that tags the bullets the run used, a curation that
proposes delta operations, and, when the playbook nears its token budget, de-duplication and pruning.

```python
learner = PlaybookLearner(playbook, ModelClient("hosted_vllm/Qwen/Qwen2.5-7B-Instruct", api_base=url), token_budget=2000)
result = agent.run(task)
learner.learn(result, task, feedback=ground_truth("391"))      # online
learner.learn_offline(run_ids, epochs=2)                       # offline, from the trace store
```

Every step is in the trace: one ``contextos.playbook.learn`` span per run learned from, holding the
reflector's and curator's ``chat`` spans and a ``contextos.playbook.apply`` span per delta; a rejected
reflection or delta is a ``contextos.playbook.delta_rejected`` event, and the playbook stays as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from pydantic import BaseModel, Field

from contextos.blocking import run_blocking
from contextos.context.source_names import PLAYBOOK
from contextos.errors import ContextOSError, PlaybookError
from contextos.llm.protocol import ChatModel
from contextos.playbook._dedup import duplicate_merges, prune_to_budget
from contextos.playbook._markdown import bullet_line
from contextos.playbook.bullets import Provenance
from contextos.playbook.digest import RunDigest
from contextos.playbook.feedback import Feedback, FeedbackFn, execution_signals
from contextos.playbook.roles import Curator, Reflection, Reflector
from contextos.playbook.store import REJECTED_EVENT, Playbook
from contextos.tracing.conventions import run_span
from contextos.tracing.spans import span

if TYPE_CHECKING:
    from contextos.agents.result import RunResult
    from contextos.tracing.store import TraceStore

LEARN_SPAN = "contextos.playbook.learn"


class LearnOutcome(BaseModel):
    """What learning from one run did."""

    run_id: str
    """The run learned from."""
    epoch: int = 0
    """The offline epoch (0 online)."""
    feedback: Feedback
    """The outcome the reflector was told."""
    reflection: Reflection | None = None
    """The reflection (None when it was rejected)."""
    versions: list[int] = Field(default_factory=list)
    """The playbook versions it made (tags, curation, de-duplication, pruning)."""
    rejected: list[str] = Field(default_factory=list)
    """Why a reflection or delta was rejected, one line each."""


class PlaybookLearner:
    """Learns a playbook from runs. ``client`` drives both roles unless ``reflector`` / ``curator`` are given.

    ``token_budget``: the tokens the playbook may take. Once it reaches ``dedup_at`` of them, bullets whose
    contents have cosine similarity >= ``dedup_threshold`` are merged; if it is still over, the least
    useful bullets are deleted. ``feedback``: the default feedback function (the run's execution signals).
    """

    def __init__(
        self,
        playbook: Playbook,
        client: ChatModel | None = None,
        *,
        reflector: Reflector | None = None,
        curator: Curator | None = None,
        token_budget: int = 2000,
        dedup_threshold: float = 0.9,
        dedup_at: float = 0.9,
        feedback: FeedbackFn = execution_signals,
        source: str = PLAYBOOK,
    ) -> None:
        if client is None and (reflector is None or curator is None):
            raise PlaybookError("PlaybookLearner needs a client, or both a reflector and a curator")
        if token_budget < 1 or not 0 < dedup_threshold <= 1 or not 0 < dedup_at <= 1:
            raise PlaybookError(
                f"token_budget must be >= 1 and dedup_threshold, dedup_at in (0, 1]; got {token_budget}, "
                f"{dedup_threshold}, {dedup_at}"
            )
        self.playbook = playbook
        self.reflector = reflector or Reflector(client)  # type: ignore[arg-type]
        self.curator = curator or Curator(client)  # type: ignore[arg-type]
        self.token_budget = token_budget
        self.dedup_threshold = dedup_threshold
        self.dedup_at = dedup_at
        self.feedback = feedback
        self.source = source

    # ------------------------------------------------------------------ online
    def learn(
        self, result: RunResult, task: str, *, feedback: Feedback | FeedbackFn | None = None
    ) -> LearnOutcome:
        """``alearn`` for code that is not async."""
        return run_blocking(
            lambda: self.alearn(result, task, feedback=feedback),
            "PlaybookLearner.learn()",
            "await learner.alearn(...)",
        )

    async def alearn(
        self, result: RunResult, task: str, *, feedback: Feedback | FeedbackFn | None = None
    ) -> LearnOutcome:
        """Learn from a run just made (online mode): ``result`` of ``agent.run(task)``."""
        return await self.alearn_digest(
            RunDigest.from_result(result, task, source=self.source), feedback=feedback
        )

    # ------------------------------------------------------------------ offline
    def learn_offline(
        self,
        run_ids: Sequence[str],
        *,
        store: TraceStore | None = None,
        epochs: int = 1,
        feedback: Feedback | FeedbackFn | None = None,
    ) -> list[LearnOutcome]:
        """``alearn_offline`` for code that is not async."""
        return run_blocking(
            lambda: self.alearn_offline(run_ids, store=store, epochs=epochs, feedback=feedback),
            "PlaybookLearner.learn_offline()",
            "await learner.alearn_offline(...)",
        )

    async def alearn_offline(
        self,
        run_ids: Sequence[str],
        *,
        store: TraceStore | None = None,
        epochs: int = 1,
        feedback: Feedback | FeedbackFn | None = None,
    ) -> list[LearnOutcome]:
        """Learn from stored runs (offline mode): every run once per epoch, in order, each reflection seeing
        the playbook as the runs before it left it."""
        if epochs < 1:
            raise PlaybookError(f"epochs must be at least 1, got {epochs}")
        if store is None:
            from contextos.tracing.store import TraceStore

            store = TraceStore()
        digests = [
            RunDigest.from_spans(rid, store.spans(rid), source=self.source)
            for rid in (store.resolve(r) for r in run_ids)
        ]
        outcomes = []
        for epoch in range(1, epochs + 1):
            for digest in digests:
                outcomes.append(await self.alearn_digest(digest, feedback=feedback, epoch=epoch))
        return outcomes

    # ------------------------------------------------------------------ one run
    async def alearn_digest(
        self, run: RunDigest, *, feedback: Feedback | FeedbackFn | None = None, epoch: int = 0
    ) -> LearnOutcome:
        """Reflect on ``run``, tag its bullets, curate, and keep the playbook within its budget."""
        given = feedback if feedback is not None else self.feedback
        verdict = given if isinstance(given, Feedback) else given(run)
        outcome = LearnOutcome(run_id=run.run_id, epoch=epoch, feedback=verdict)
        attrs = {
            "contextos.playbook.run_id": run.run_id,
            "contextos.playbook.epoch": epoch,
            "contextos.playbook.feedback": verdict.outcome,
            "contextos.playbook.version_from": self.playbook.version,
        }
        opened = span if trace.get_current_span().get_span_context().is_valid else run_span
        with opened(LEARN_SPAN, attrs) as s:
            provenance = Provenance(run_ids=[run.run_id], step_ids=run.step_ids)
            used = [b for b in (self.playbook.get(i) for i in run.used) if b is not None]
            try:
                reflection = await self.reflector.areflect(run, verdict, used)
            except ContextOSError as exc:
                self._reject(s, outcome, "reflection", exc)
                return outcome
            outcome.reflection = reflection
            tags = [
                {"op": "tag", "id": i, tag: 1}
                for i, tag in reflection.bullet_tags.items()
                if tag != "neutral"
            ]
            self._apply(s, outcome, "tags", tags, provenance)
            try:
                ops = await self.curator.acurate(
                    run,
                    verdict,
                    reflection,
                    self.playbook.bullets,
                    tokens=self.playbook.tokens(),
                    budget=self.token_budget,
                )
            except ContextOSError as exc:
                self._reject(s, outcome, "curation", exc)
            else:
                self._apply(s, outcome, "curation", ops, provenance)
            self._keep_within_budget(s, outcome)
            s.set_attributes(
                {
                    "contextos.playbook.version_to": self.playbook.version,
                    "contextos.playbook.versions": outcome.versions,
                    "contextos.playbook.rejected": len(outcome.rejected),
                }
            )
        return outcome

    def _apply(
        self,
        s: Any,
        outcome: LearnOutcome,
        what: str,
        ops: Sequence[Any],
        provenance: Provenance | None = None,
    ) -> None:
        if not ops:
            return
        try:
            state = self.playbook.apply(ops, provenance=provenance, kind="learn")
        except ContextOSError as exc:
            self._reject(s, outcome, what, exc)
            return
        outcome.versions.append(state.version)

    def _reject(self, s: Any, outcome: LearnOutcome, what: str, exc: Exception) -> None:
        line = f"{what} rejected: {exc}"
        outcome.rejected.append(line)
        s.add_event(
            REJECTED_EVENT, {"contextos.playbook.stage": what, "contextos.playbook.error": str(exc)}
        )

    def _keep_within_budget(self, s: Any, outcome: LearnOutcome) -> None:
        """Lazy refinement: merge near-duplicates once the playbook nears its budget, prune if still over."""
        if self.playbook.tokens() < self.dedup_at * self.token_budget:
            return
        merges = duplicate_merges(
            self.playbook.bullets, self.playbook.bullets_table.embedder, self.dedup_threshold
        )
        self._apply(s, outcome, "de-duplication", merges)
        if self.playbook.tokens() > self.token_budget:
            count = self.playbook.count_tokens
            deletes = prune_to_budget(
                self.playbook.bullets,
                lambda b: count(bullet_line(b, counters=False)),
                self.token_budget,
            )
            self._apply(s, outcome, "pruning", deletes)
