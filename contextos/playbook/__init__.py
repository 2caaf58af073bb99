"""Evolving playbooks (ACE, Zhang et al., arXiv 2510.04618): bullets learned from runs, changed only by
validated, versioned deltas; offered to the model by ``PlaybookSource``; learned by ``PlaybookLearner``."""

from contextos.playbook.bullets import Bullet, PlaybookState, Provenance
from contextos.playbook.delta import (
    AddOp,
    DeleteOp,
    MergeOp,
    TagOp,
    UpdateOp,
)
from contextos.playbook.digest import RunDigest
from contextos.playbook.feedback import Feedback, execution_signals, ground_truth, scored
from contextos.playbook.learn import LearnOutcome, PlaybookLearner
from contextos.playbook.roles import Curator, Reflection, Reflector
from contextos.playbook.source import PlaybookSource
from contextos.playbook.store import Playbook, PlaybookDiff, VersionInfo

__all__ = [
    "AddOp",
    "Bullet",
    "Curator",
    "DeleteOp",
    "Feedback",
    "LearnOutcome",
    "MergeOp",
    "Playbook",
    "PlaybookDiff",
    "PlaybookLearner",
    "PlaybookSource",
    "PlaybookState",
    "Provenance",
    "Reflection",
    "Reflector",
    "RunDigest",
    "TagOp",
    "UpdateOp",
    "VersionInfo",
    "execution_signals",
    "ground_truth",
    "scored",
]
