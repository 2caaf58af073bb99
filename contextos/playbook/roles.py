"""``Reflector`` and ``Curator``: the two model roles of ACE's learning loop, each one structured call.

Their prompts and schemas are in ``contextos.playbook._prompts``. Each call asks for a JSON-schema
``response_format`` and validates the answer; an answer that is not JSON, or does not fit, raises
(``PlaybookError`` for a reflection, ``InvalidDeltaError`` for a curation) and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from contextos._checked import validation_problems
from contextos.errors import InvalidDeltaError, PlaybookError
from contextos.llm.protocol import ChatModel
from contextos.playbook._prompts import (
    curation_schema,
    curator_messages,
    reflection_schema,
    reflector_messages,
)
from contextos.playbook.bullets import SECTIONS, Bullet
from contextos.playbook.digest import RunDigest
from contextos.playbook.feedback import Feedback
from contextos.tracing.conventions import chat_span, record_chat_response

# the fields each curator operation keeps; the schema makes a model fill every field of every operation
_OP_FIELDS = {
    "add": ("section", "content"),
    "update": ("id", "content"),
    "merge": ("ids", "content"),
    "delete": ("id",),
}


class Reflection(BaseModel):
    """What the reflector made of one run."""

    reasoning: str = ""
    """Its analysis of the run."""
    error_identification: str = ""
    """What went wrong, if anything."""
    root_cause: str = ""
    """Why."""
    correct_approach: str = ""
    """What should have been done."""
    key_insight: str = Field(min_length=1)
    """The one lesson for the next run."""
    bullet_tags: dict[str, Literal["helpful", "harmful", "neutral"]] = Field(default_factory=dict)
    """Each bullet that was in the context, judged."""


async def _ask_json(
    client: ChatModel,
    messages: list[dict[str, str]],
    name: str,
    schema: dict[str, Any],
    max_tokens: int,
    temperature: float,
) -> tuple[Any, str]:
    """One model call for JSON fitting ``schema``: the parsed value (None when not JSON) and the raw text."""
    params = {"max_tokens": max_tokens, "temperature": temperature}
    with chat_span(client.model, messages=messages, params=params) as s:
        completion = await client.acomplete(
            messages,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema, "strict": True},
            },
            max_tokens=max_tokens,
            temperature=temperature,
        )
        record_chat_response(
            s,
            response_model=completion.model,
            input_tokens=completion.usage.prompt_tokens,
            output_tokens=completion.usage.completion_tokens,
            output_messages=[completion.message()],
        )
    text = (completion.content or "").strip()
    if text.startswith("```"):  # a model that fenced its JSON despite the schema
        text = text.strip("`").removeprefix("json").strip()
    try:
        return json.loads(text), text
    except ValueError:
        return None, text


class Reflector:
    """Judges a run and the bullets it used, through ``client`` (a ``ModelClient``)."""

    def __init__(
        self, client: ChatModel, *, max_tokens: int = 1024, temperature: float = 0.0
    ) -> None:
        self.client = client
        self.max_tokens = max_tokens
        self.temperature = temperature

    async def areflect(
        self, run: RunDigest, feedback: Feedback, bullets: Sequence[Bullet]
    ) -> Reflection:
        """The reflection on ``run``; ``bullets`` are those of the playbook that were in its context."""
        ids = [b.id for b in bullets]
        value, text = await _ask_json(
            self.client,
            reflector_messages(run, feedback, bullets),
            "reflection",
            reflection_schema(ids),
            self.max_tokens,
            self.temperature,
        )
        if not isinstance(value, dict):
            raise PlaybookError(f"the reflector's answer is not a JSON object: {text[:200]!r}")
        try:
            reflection = Reflection.model_validate(value)
        except ValidationError as exc:
            raise PlaybookError(
                f"the reflector's answer does not fit its schema: {validation_problems(exc)}"
            ) from None
        unknown = sorted(set(reflection.bullet_tags) - set(ids))
        if unknown:
            raise PlaybookError(
                f"the reflector tagged bullets that were not in the run's context: {unknown}"
            )
        return reflection


class Curator:
    """Turns a reflection into delta operations on the playbook, through ``client``."""

    def __init__(
        self,
        client: ChatModel,
        *,
        max_tokens: int = 1024,
        temperature: float = 0.0,
        sections: Sequence[str] = SECTIONS,
    ) -> None:
        self.client = client
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.sections = tuple(sections)

    async def acurate(
        self,
        run: RunDigest,
        feedback: Feedback,
        reflection: Reflection,
        bullets: Sequence[Bullet],
        *,
        tokens: int,
        budget: int,
    ) -> list[dict[str, Any]]:
        """The delta the curator proposes, as operation objects (``Playbook.apply`` validates them)."""
        sections = [*self.sections, *(b.section for b in bullets)]
        messages = curator_messages(
            run, feedback, reflection.model_dump(), bullets, tokens=tokens, budget=budget
        )
        value, text = await _ask_json(
            self.client,
            messages,
            "curation",
            curation_schema(sections),
            self.max_tokens,
            self.temperature,
        )
        if not isinstance(value, dict) or not isinstance(value.get("operations"), list):
            raise InvalidDeltaError(
                f"the curator's answer is not a JSON object with a list of operations: {text[:200]!r}"
            )
        return [_delta_op(op, n) for n, op in enumerate(value["operations"])]


def _delta_op(op: Any, n: int) -> dict[str, Any]:
    """A curator operation as a delta operation: only the fields its kind uses (the reason kept)."""
    if not isinstance(op, dict):
        raise InvalidDeltaError(
            f"curator operation {n + 1} is a JSON {type(op).__name__}, not an object"
        )
    kind = op.get("op")
    if kind not in _OP_FIELDS:
        raise InvalidDeltaError(
            f"curator operation {n + 1} has unknown op {kind!r}: use add, update, merge or delete"
        )
    out = {"op": kind, **{f: op.get(f) for f in _OP_FIELDS[kind]}}
    if op.get("reason"):
        out["reason"] = op["reason"]
    return out
