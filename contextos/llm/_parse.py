"""litellm responses (whole or streamed) turned into contextos ``Completion`` parts."""

from __future__ import annotations

import re
from typing import Any

from contextos.errors import ModelResponseError
from contextos.llm.types import ToolCall, Usage


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def usage_of(raw: Any, *, model: str | None = None) -> Usage:
    """``Usage`` from a response's usage object, cached tokens included when reported.

    Counts that are not whole numbers >= 0 raise ``ModelResponseError``: a limit on tokens or cost
    must not be fed negative usage.
    """
    if raw is None:
        return Usage()
    details = _get(raw, "prompt_tokens_details")
    counts = {
        "prompt_tokens": _get(raw, "prompt_tokens"),
        "completion_tokens": _get(raw, "completion_tokens"),
        "cached_tokens": _get(details, "cached_tokens"),
    }
    for name, value in counts.items():
        if value is None:
            counts[name] = 0
        elif (
            isinstance(value, bool)
            or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer()))
            or value < 0
        ):
            raise ModelResponseError(
                f"{model or 'the model'}: the server reported usage {name}={value!r}, not a whole number >= 0; "
                "its token accounting cannot be trusted (check the server).",
                model=model,
            )
    return Usage(**{name: int(value) for name, value in counts.items()})


def message_parts(
    response: Any, *, model: str
) -> tuple[str | None, list[ToolCall], str | None, Usage]:
    """Content, tool calls, finish reason and usage of a non-streamed response."""
    choices = _get(response, "choices") or []
    if not choices:
        raise ModelResponseError(
            f"{model}: the server answered without any choice; check the server's logs.",
            model=model,
        )
    choice = choices[0]
    message = _get(choice, "message")
    tool_calls = [
        ToolCall.parse(
            _get(call, "id") or f"call_{index}",
            _get(_get(call, "function"), "name") or "",
            _get(_get(call, "function"), "arguments"),
        )
        for index, call in enumerate(_get(message, "tool_calls") or [])
    ]
    return (
        _get(message, "content"),
        tool_calls,
        _get(choice, "finish_reason"),
        usage_of(_get(response, "usage"), model=model),
    )


class StreamAccumulator:
    """Collects streamed chunks into the parts of a ``Completion``."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.finish_reason: str | None = None
        self.usage = Usage()

    def add(self, chunk: Any) -> str:
        """Take one chunk in; return its text delta (``""`` when it has none)."""
        usage = _get(chunk, "usage")
        if usage is not None and (_get(usage, "prompt_tokens") or _get(usage, "completion_tokens")):
            self.usage = usage_of(usage)
        choices = _get(chunk, "choices") or []
        if not choices:
            return ""
        choice = choices[0]
        if _get(choice, "finish_reason"):
            self.finish_reason = _get(choice, "finish_reason")
        delta = _get(choice, "delta")
        for position, call in enumerate(_get(delta, "tool_calls") or []):
            index = _get(call, "index")
            slot = self.calls.setdefault(
                position if index is None else int(index), {"id": "", "name": "", "arguments": ""}
            )
            slot["id"] = _get(call, "id") or slot["id"]
            function = _get(call, "function")
            slot["name"] = _get(function, "name") or slot["name"]
            slot["arguments"] += _get(function, "arguments") or ""
        text = _get(delta, "content") or ""
        if text:
            self.text.append(text)
        return text

    def parts(self) -> tuple[str | None, list[ToolCall], str | None, Usage]:
        """Content, tool calls, finish reason and usage of the whole stream."""
        calls = [
            ToolCall.parse(slot["id"] or f"call_{index}", slot["name"], slot["arguments"])
            for index, slot in sorted(self.calls.items())
        ]
        content = "".join(self.text) if self.text or not calls else None
        return content, calls, self.finish_reason, self.usage


def json_candidates(text: str) -> list[str]:
    """Substrings of a model's answer that may be its JSON: fenced blocks, then the outermost {...} and
    [...], then the whole text (tool-query answers, structured output)."""
    out = re.findall(r"```(?:json)?\s*(.*?)```", text, flags=re.S)
    for open_, close in (("{", "}"), ("[", "]")):
        start, end = text.find(open_), text.rfind(close)
        if 0 <= start < end:
            out.append(text[start : end + 1])
    out.append(text)
    return out
