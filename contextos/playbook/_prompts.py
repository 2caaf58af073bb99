"""Every prompt and output schema of the reflector and the curator, in one place.

The reflector reads a run (task, answer, actions, feedback, the bullets that were in its context) and
tags those bullets helpful, harmful or neutral, with a key insight; the curator turns the insight into
delta operations on the playbook, told its size and token budget. Both answer JSON that a schema
constrains (vLLM's guided decoding honours ``response_format``), and both answers are validated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contextos.playbook._markdown import bullet_line, to_markdown
from contextos.playbook.bullets import SECTIONS, Bullet
from contextos.playbook.digest import RunDigest
from contextos.playbook.feedback import Feedback

TAGS = ("helpful", "harmful", "neutral")

REFLECTOR_SYSTEM = """\
You are the reflector of a self-improving agent. You read one finished run of the agent: its task, its
answer, the tool calls it made, the feedback on its outcome, and the playbook bullets it had in its
context. Diagnose what went right or wrong and why, and name the one lesson that would most help the
next run on a similar task. Then judge each bullet listed: helpful if it contributed to a good outcome,
harmful if following it led the run astray, neutral if it made no difference. Be specific: name tools,
arguments, values and checks, not generalities. Answer only with JSON that fits the schema."""

CURATOR_SYSTEM = """\
You are the curator of a playbook: a list of small, itemised lessons (strategies, pitfalls, formulas,
code snippets) that an agent reads before it works. You are given a lesson from a reflection on one run
and the playbook as it is. Propose the smallest set of operations that records what is new: "add" a
bullet (section and content) for a lesson the playbook lacks; "update" a bullet (id and content) that
the lesson corrects; "merge" bullets (ids, first kept, and content) that say the same thing; "delete"
a bullet (id) that is wrong. Never restate the whole playbook, never add what a bullet already says,
keep each bullet one or two sentences, and keep the playbook within its token budget. Return no
operations when nothing is new. Answer only with JSON that fits the schema."""


def reflector_messages(
    run: RunDigest, feedback: Feedback, bullets: Sequence[Bullet]
) -> list[dict[str, str]]:
    """The reflector's request for one run."""
    parts = [
        f"## Run {run.run_id}",
        f"Task: {run.task.strip()} (outcome: {feedback.outcome})",
        "## Answer",
        (run.answer or "(no answer)").strip(),
    ]
    if run.actions:
        parts += ["## Tool calls", *run.actions]
    parts += ["## Feedback", f"Outcome: {feedback.outcome}"]
    if feedback.expected is not None:
        parts.append(f"Expected answer: {feedback.expected}")
    parts += feedback.notes
    parts.append("## Playbook bullets in the run's context")
    parts += [bullet_line(b)[2:] for b in bullets] or ["(none)"]
    if run.cited:
        parts.append("Cited by the answer: " + ", ".join(run.cited))
    parts += ["## Verdict", _verdict(feedback)]
    return [
        {"role": "system", "content": REFLECTOR_SYSTEM},
        {"role": "user", "content": "\n".join(parts)},
    ]


def _verdict(feedback: Feedback) -> str:
    if feedback.success is True:
        return "The run succeeded, so the bullets it relied on look helpful."
    if feedback.success is False:
        return "The run failed, so the bullets it relied on look harmful."
    return (
        "The outcome is unknown: judge a bullet only where the run shows its effect, else neutral."
    )


def reflection_schema(bullet_ids: Sequence[str]) -> dict[str, Any]:
    """The reflector's output schema: its analysis, and one tag per bullet that was in the context."""
    text = {"type": "string", "maxLength": 1200}
    return {
        "type": "object",
        "properties": {
            "reasoning": text,
            "error_identification": text,
            "root_cause": text,
            "correct_approach": text,
            "key_insight": {"type": "string", "minLength": 1, "maxLength": 600},
            "bullet_tags": {
                "type": "object",
                "properties": {i: {"type": "string", "enum": list(TAGS)} for i in bullet_ids},
                "required": list(bullet_ids),
                "additionalProperties": False,
            },
        },
        "required": [
            "reasoning",
            "error_identification",
            "root_cause",
            "correct_approach",
            "key_insight",
            "bullet_tags",
        ],
        "additionalProperties": False,
    }


def curator_messages(
    run: RunDigest,
    feedback: Feedback,
    insight: dict[str, Any],
    bullets: Sequence[Bullet],
    *,
    tokens: int,
    budget: int,
) -> list[dict[str, str]]:
    """The curator's request: the lesson, the reflection behind it, and the playbook with its size and budget."""
    room = (
        "it is over its budget: prefer merging and deleting to adding"
        if tokens >= budget
        else f"{budget - tokens} tokens left"
    )
    likely = "pitfalls" if feedback.success is False else "strategies"
    parts = [
        f"## Lesson from run {run.run_id}",
        str(insight.get("key_insight", "")).strip(),
        "## Reflection",
        f"Error: {insight.get('error_identification', '')}",
        f"Root cause: {insight.get('root_cause', '')}",
        f"Correct approach: {insight.get('correct_approach', '')}",
        f"## Playbook ({tokens} of {budget} tokens; {room})",
        to_markdown(bullets, counters=True).split("\n", 1)[1].strip() if bullets else "(empty)",
        "## Outcome",
        f"The run {feedback.outcome}; a lesson from it most likely belongs under {likely}.",
        "Reply with the operations: update, merge or delete existing bullets by id, or add new ones.",
    ]
    return [
        {"role": "system", "content": CURATOR_SYSTEM},
        {"role": "user", "content": "\n".join(parts)},
    ]


def curation_schema(sections: Sequence[str] = SECTIONS) -> dict[str, Any]:
    """The curator's output schema: a list of operations (fields an operation does not use are null)."""
    nullable_text = {"type": ["string", "null"], "maxLength": 800}
    return {
        "type": "object",
        "properties": {
            "reasoning": {"type": "string", "maxLength": 1200},
            "operations": {
                "type": "array",
                "maxItems": 8,
                "items": {
                    "type": "object",
                    "properties": {
                        "op": {"type": "string", "enum": ["add", "update", "merge", "delete"]},
                        "section": {"type": "string", "enum": list(dict.fromkeys(sections))},
                        "content": {"type": "string", "maxLength": 800},
                        "id": nullable_text,
                        "ids": {"type": ["array", "null"], "items": {"type": "string"}},
                        "reason": nullable_text,
                    },
                    "required": ["op", "section", "content", "id", "ids", "reason"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["reasoning", "operations"],
        "additionalProperties": False,
    }
