"""Near-duplicate bullets found by embedding similarity, and the merges and prunes that keep a playbook
within its token budget (ACE's "grow and refine", done lazily: only when the budget is near)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from contextos.embed.base import Embedder
from contextos.playbook.bullets import Bullet
from contextos.playbook.delta import DeleteOp, MergeOp


def duplicate_merges(
    bullets: Sequence[Bullet], embedder: Embedder, threshold: float
) -> list[MergeOp]:
    """One merge per group of bullets whose contents have cosine similarity >= ``threshold`` (linked
    transitively). The merged bullet keeps the id and content of the group's best bullet (highest helpful
    minus harmful, then the oldest) and the sum of the counters."""
    if len(bullets) < 2:
        return []
    vectors = np.asarray(embedder.embed([b.content for b in bullets]), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    similar = vectors @ vectors.T >= threshold
    parent = list(range(len(bullets)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(similar, k=1))):
        parent[root(int(j))] = root(int(i))
    groups: dict[int, list[int]] = {}
    for i in range(len(bullets)):
        groups.setdefault(root(i), []).append(i)
    merges = []
    for members in groups.values():
        if len(members) < 2:
            continue
        best = min(members, key=lambda i: (-bullets[i].net, i))
        ids = [bullets[best].id, *(bullets[i].id for i in members if i != best)]
        merges.append(
            MergeOp(
                ids=ids,
                content=bullets[best].content,
                reason=f"near-duplicates (cosine >= {threshold})",
            )
        )
    return merges


def prune_to_budget(
    bullets: Sequence[Bullet], count_tokens: Callable[[Bullet], int], budget: int
) -> list[DeleteOp]:
    """Deletes that bring the bullets within ``budget`` tokens: the least useful first (lowest helpful
    minus harmful, then the oldest)."""
    total = sum(count_tokens(b) for b in bullets)
    deletes = []
    for _, bullet in sorted(enumerate(bullets), key=lambda p: (p[1].net, p[0])):
        if total <= budget:
            break
        total -= count_tokens(bullet)
        deletes.append(
            DeleteOp(id=bullet.id, reason=f"over the playbook's budget of {budget} tokens")
        )
    return deletes
