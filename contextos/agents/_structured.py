"""Structured output: an agent's final answer parsed and validated into a pydantic model.

``Agent(..., output_type=Invoice)`` tells the model the JSON Schema its final answer must match (in the
instructions), parses the final answer and validates it. When the answer does not validate, the model
is shown the validation errors and asked again, this time with the provider's JSON-schema response
format (vLLM's structured outputs constrain generation to the schema), up to ``output_retries`` times;
``RunResult.output`` is the model instance. Tools stay available until then: a response format that
constrains every answer to the schema would leave the model no way to call them.
"""

from __future__ import annotations

import json
import re
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter, ValidationError

from contextos._checked import validation_problems
from contextos.errors import ConfigError
from contextos.llm._parse import json_candidates

T = TypeVar("T")


class OutputSpec(Generic[T]):
    """What the final answer must be: ``output_type`` (a pydantic model, or any type pydantic validates)."""

    def __init__(self, output_type: type[T], retries: int = 2) -> None:
        if retries < 0:
            raise ConfigError(f"output_retries must be 0 or more, got {retries}")
        try:
            self.adapter: TypeAdapter[T] = TypeAdapter(output_type)
            self.schema = self.adapter.json_schema()
        except Exception as exc:  # pydantic cannot build a schema for it
            raise ConfigError(f"output_type {output_type!r} has no JSON Schema: {exc}") from None
        self.name = re.sub(r"[^A-Za-z0-9_-]", "_", getattr(output_type, "__name__", "output"))[:64]
        self.retries = retries

    def instructions(self) -> str:
        """The sentence added to the agent's instructions."""
        return (
            "When you give your final answer, reply with JSON only (no other text), matching this JSON Schema:\n"
            + json.dumps(self.schema, separators=(",", ":"))
        )

    def response_format(self) -> dict[str, Any]:
        """The OpenAI-style ``response_format`` asking the provider for schema-valid JSON."""
        return {"type": "json_schema", "json_schema": {"name": self.name, "schema": self.schema}}

    def parse(self, text: str | None) -> tuple[T | None, str | None]:
        """``(value, None)`` when ``text`` holds a valid answer, else ``(None, what was wrong)``."""
        if not text:
            return None, "the answer was empty"
        errors = []
        for candidate in json_candidates(text):
            try:
                data = json.loads(candidate)
            except ValueError:
                continue
            try:
                return self.adapter.validate_python(data), None
            except ValidationError as exc:
                errors.append(validation_problems(exc))
        return None, errors[0] if errors else "the answer held no JSON"

    def repair_message(self, problem: str) -> dict[str, Any]:
        """The user message that asks for the answer again."""
        return {
            "role": "user",
            "content": f"Your answer did not match the required output ({problem}). "
            "Answer again with JSON only, matching the JSON Schema.",
        }
