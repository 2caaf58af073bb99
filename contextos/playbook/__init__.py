"""Evolving playbooks (ACE): bullets learned from runs, changed only by validated, versioned deltas."""

from contextos.playbook.bullets import SECTIONS, Bullet, PlaybookState, Provenance
from contextos.playbook.delta import AddOp, DeleteOp, MergeOp, TagOp, UpdateOp, apply_delta, parse_delta
from contextos.playbook.store import Playbook, PlaybookDiff, VersionInfo

__all__ = [
    "SECTIONS",
    "AddOp",
    "Bullet",
    "DeleteOp",
    "MergeOp",
    "Playbook",
    "PlaybookDiff",
    "PlaybookState",
    "Provenance",
    "TagOp",
    "UpdateOp",
    "VersionInfo",
    "apply_delta",
    "parse_delta",
]
