"""The offline backend: ``offline/<name>`` models, answered locally and deterministically, with no model.

For demos and tests on machines without a model server. It is honest about what it is: every
text it writes starts with ``[offline]`` and ``Completion.offline`` is True. It is used only when
``offline/...`` is the configured model, never as a silent stand-in for a real one.

It can drive a tool-calling loop:

- tools offered and the last message is the user's: for each clause of the request that asks for
  something, it calls the first tool whose name or description shares a word with the clause (or,
  failing all, with the request), filling required arguments from the request text (numbers for
  numeric parameters; quoted, then capitalised phrases, then the text for strings);
- the last message is a tool result: it answers plainly, quoting the latest results;
- asked to write tool-retrieval queries (``contextos.tools.query.QUERY_PROMPT``): it writes one per
  clause of the request that asks for something (``offline_queries``), as JSON;
- otherwise (no tools, or none matches): it answers plainly.

A plain answer cites context it was asked to cite: when a system message asks to cite ids and lists
items as ``[id] text`` lines, the answer ends with ``Used: [id], ...`` naming the items that share a word
with the request (the agent records those ids on its step).

Asked for a JSON-schema ``response_format``, it answers with an instance of the schema derived from
the last user message (``structured_reply``): objects get every property; a ``const`` its value; an
``enum`` the value the message mentions last (else the first); a nullable type null; a string
``[offline]`` and the message's first line that is not a heading; numbers their minimum (else 0);
booleans false; arrays ``minItems`` items (at least one, at most ``maxItems``). Deterministic, and
valid for the schema shapes contextos's own prompts use.

It is registered as a litellm custom provider (``litellm.custom_provider_map``) by
``contextos.llm._runtime.load_litellm``, so it goes through the same path as any model.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from contextos.llm._offline_queries import asking_clauses, is_query_prompt, offline_queries

PROVIDER = "offline"
"""The litellm provider name: models are ``offline/<anything>``."""

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*|\d+")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?\b")
# not the ' of "I'm ... What's"
_QUOTED = re.compile(r"\"([^\"]+)\"|(?<!\w)'([^']+)'(?!\w)|“([^”]+)”")
_CAPITALISED = re.compile(r"\b[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*")
_ASKS_TO_CITE = re.compile(r"\bcite\b", re.I)
_CITABLE = re.compile(r"^\s*(?:[-*]\s*)?\[([A-Za-z0-9_.:-]+)\]\s+(.+)$", re.M)
_STOPWORDS = frozenset(
    "a an and are as at be by can could do does for from get give how i in is it me my of on or please "
    "show tell that the this to use want was what when where which who why will with would you your".split()
)


def is_offline_model(model: str) -> bool:
    """True for ``offline/...`` model strings."""
    return model.startswith(f"{PROVIDER}/")


def plan_reply(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, response_format: Any = None
) -> dict[str, Any]:
    """The offline answer to ``messages``: ``{"content", "tool_calls", "finish_reason"}`` (OpenAI shapes)."""
    last = messages[-1] if messages else {"role": "user", "content": ""}
    role = last.get("role")
    if isinstance(response_format, dict) and response_format.get("type") in (
        "json_schema",
        "json_object",
    ):
        schema = (response_format.get("json_schema") or {}).get("schema") or {"type": "object"}
        return _text_reply(
            json.dumps(structured_reply(schema, _last_user_text(messages)), ensure_ascii=False)
        )
    if role == "tool":
        return _text_reply(_cited(_quote_results(messages), messages))
    request = _text(last.get("content")).strip()
    if role == "user" and not tools and is_query_prompt(request):
        return _text_reply("[offline] " + json.dumps({"queries": offline_queries(request)}))
    if tools and role == "user":
        chosen = _pick_tools(request, tools)
        if chosen:
            calls = []
            for n, tool in enumerate(chosen):
                function = tool.get("function", tool)
                arguments = _fill_arguments(request, function.get("parameters") or {})
                call_id = (
                    "call_offline_"
                    + hashlib.sha1(f"{len(messages)}:{n}:{request}".encode()).hexdigest()[:12]
                )
                calls.append(
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": function["name"], "arguments": json.dumps(arguments)},
                    }
                )
            return {"content": None, "tool_calls": calls, "finish_reason": "tool_calls"}
    shown = request if len(request) <= 200 else request[:200] + " ..."
    return _text_reply(
        _cited(
            f"[offline] No model is running here (offline backend). Your request was: {shown}",
            messages,
        )
    )


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    return next(
        (_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), ""
    )


def _cited(answer: str, messages: list[dict[str, Any]]) -> str:
    """``answer`` with ``Used: [id], ...`` for the citable items of the system messages that share a word
    with the last user message (none: ``answer`` as it is)."""
    system = "\n".join(_text(m.get("content")) for m in messages if m.get("role") == "system")
    if not _ASKS_TO_CITE.search(system):
        return answer
    wanted = _words(_last_user_text(messages))
    used = [m.group(1) for m in _CITABLE.finditer(system) if _words(m.group(2)) & wanted]
    return f"{answer}\nUsed: {', '.join(f'[{i}]' for i in dict.fromkeys(used))}" if used else answer


def structured_reply(schema: dict[str, Any], text: str) -> Any:
    """A deterministic instance of the JSON ``schema`` derived from ``text`` (the rules: module docstring)."""
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return _mentioned_last(schema["enum"], text)
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return structured_reply(schema[key][0], text)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        if "null" in kind:
            return None
        kind = kind[0]
    if kind == "object":
        return {
            name: structured_reply(spec, text)
            for name, spec in (schema.get("properties") or {}).items()
        }
    if kind == "array":
        count = max(int(schema.get("minItems", 0)), 1)
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        return [
            structured_reply(schema.get("items") or {"type": "string"}, text) for _ in range(count)
        ]
    if kind in ("integer", "number"):
        low = schema.get("minimum", 0)
        return int(low) if kind == "integer" else float(low)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    line = next(
        (ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")),
        "",
    )
    value = line if line.startswith("[offline]") else f"[offline] {line}".strip()
    return value[: int(schema["maxLength"])] if "maxLength" in schema else value


def _mentioned_last(values: list[Any], text: str) -> Any:
    """The value of ``values`` whose last whole-word mention in ``text`` comes latest (none: the first)."""
    lowered = text.lower()
    best, where = values[0], -1
    for value in values:
        for match in re.finditer(rf"(?<![\w-]){re.escape(str(value).lower())}(?![\w-])", lowered):
            if match.start() > where:
                best, where = value, match.start()
    return best


def _text_reply(content: str) -> dict[str, Any]:
    return {"content": content, "tool_calls": [], "finish_reason": "stop"}


def _words(text: str) -> set[str]:
    split = re.sub(r"([a-z])([A-Z])", r"\1 \2", text.replace("_", " ").replace("-", " "))
    return {w.lower() for w in _WORD.findall(split)} - _STOPWORDS


def _pick_tools(request: str, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A tool per clause of the request that asks for something (``asking_clauses``): the first one
    sharing a word with the clause and not already chosen; failing all, the first one sharing a word
    with the whole request."""
    chosen: list[dict[str, Any]] = []
    for clause in asking_clauses(request):
        tool = _pick_tool(clause, [t for t in tools if t not in chosen])
        if tool is not None:
            chosen.append(tool)
    if not chosen:
        tool = _pick_tool(request, tools)
        chosen = [tool] if tool is not None else []
    return chosen


def _quote_results(messages: list[dict[str, Any]]) -> str:
    """The plain answer after tool calls: each result of the latest calls quoted (clipped)."""
    results = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        results.append(message)
    results.reverse()
    room = max(400 // len(results), 160)
    parts = []
    for message in results:
        name = message.get("name") or _tool_name_for(messages, message.get("tool_call_id"))
        result = _text(message.get("content")).strip()
        shown = result if len(result) <= room else result[:room] + " ..."
        parts.append(f"The tool {name or 'call'} returned: {shown}")
    return "[offline] " + "\n".join(parts)


def _pick_tool(request: str, tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    wanted = _words(request)
    for tool in tools:
        function = tool.get("function", tool)
        offered = _words(f"{function.get('name', '')} {function.get('description', '')}")
        if wanted & offered:
            return tool
    return None


def _fill_arguments(request: str, schema: dict[str, Any]) -> dict[str, Any]:
    return _fill_object(
        request, schema, [float(n) for n in _NUMBER.findall(request)], _phrases(request), schema
    )


def _fill_object(
    request: str,
    schema: dict[str, Any],
    numbers: list[float],
    phrases: list[str],
    root: dict[str, Any],
    depth: int = 0,
) -> dict[str, Any]:
    """Values for ``schema``'s required properties, taking numbers and phrases of the request in turn
    (nested objects too, a few levels deep, ``$ref``s to the root's ``$defs`` followed)."""
    properties: dict[str, Any] = schema.get("properties") or {}
    arguments: dict[str, Any] = {}
    for name in schema.get("required") or []:
        spec = properties.get(name) or {}
        ref = spec.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            spec = (root.get("$defs") or {}).get(ref.rsplit("/", 1)[-1], {})
        kind = spec.get("type", "object" if "properties" in spec else "string")
        if spec.get("enum"):
            lowered = request.lower()
            arguments[name] = next(
                (v for v in spec["enum"] if str(v).lower() in lowered), spec["enum"][0]
            )
        elif kind in ("number", "integer"):
            value = numbers.pop(0) if numbers else 0
            arguments[name] = int(value) if kind == "integer" else value
        elif kind == "boolean":
            arguments[name] = bool(re.search(r"\b(yes|true|enable|on)\b", request, re.I))
        elif kind == "array":
            arguments[name] = [phrases.pop(0)] if phrases else [request]
        elif kind == "object":
            arguments[name] = (
                _fill_object(request, spec, numbers, phrases, root, depth + 1) if depth < 4 else {}
            )
        elif spec.get("format") in ("date", "date-time") and (date := _DATE.search(request)):
            arguments[name] = date.group(0)
        else:
            arguments[name] = phrases.pop(0) if phrases else request
    return arguments


def _phrases(request: str) -> list[str]:
    """Candidate string values: quoted text first, then capitalised phrases not opening a sentence."""
    quoted = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(request)]
    capitalised = []
    for match in _CAPITALISED.finditer(request):
        before = request[: match.start()].rstrip()
        opens_sentence = not before or before[-1] in ".?!:"
        words = match.group(0).split()
        if opens_sentence:
            words = words[1:]  # "What", "Find", "Please" open sentences; the rest may be a name
        phrase = " ".join(words).strip()
        if phrase and phrase.lower() not in _STOPWORDS and all(phrase not in q for q in quoted):
            capitalised.append(phrase)
    return quoted + capitalised


def _tool_name_for(messages: list[dict[str, Any]], call_id: str | None) -> str | None:
    for message in reversed(messages):
        for call in message.get("tool_calls") or []:
            if call.get("id") == call_id:
                return (call.get("function") or {}).get("name")
    return None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return "" if content is None else json.dumps(content)


@functools.cache
def _usage_counter() -> Any:
    """One counter for every offline call, so its count cache serves the whole run (a new one per call
    would encode the whole conversation again at every step)."""
    from contextos.context.counters import counter_for_model

    return counter_for_model(f"{PROVIDER}/usage")


def _usage(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, reply: dict[str, Any]
) -> dict[str, int]:
    """Usage counted the way contextos counts an ``offline/...`` model's requests (``counter_for_model``:
    o200k), so a step's assembled request tokens and the model call's prompt tokens agree."""
    counter = _usage_counter()
    prompt = counter.count_request(messages, tools or None)
    completion = counter.count(reply["content"] or "") + sum(
        counter.count(c["function"]["name"]) + counter.count(c["function"]["arguments"])
        for c in reply["tool_calls"]
    )
    return {
        "prompt_tokens": prompt,
        "completion_tokens": max(completion, 1),
        "total_tokens": prompt + max(completion, 1),
    }


def make_handler() -> Any:
    """The litellm ``CustomLLM`` that answers ``offline/...`` models (imports litellm: call it from ``load_litellm``)."""
    import litellm
    from litellm import CustomLLM

    class OfflineLLM(CustomLLM):  # type: ignore[misc]  # litellm is read as Any (pyproject)
        """litellm custom provider answering with ``plan_reply``. litellm calls its four entry points
        with keyword arguments (model_response, api_base, logging_obj, ...); only these three are read."""

        def _respond(
            self, model: str, messages: list[dict[str, Any]], optional_params: dict[str, Any]
        ) -> Any:
            reply = plan_reply(
                messages, optional_params.get("tools"), optional_params.get("response_format")
            )
            message: dict[str, Any] = {"role": "assistant", "content": reply["content"]}
            if reply["tool_calls"]:
                message["tool_calls"] = reply["tool_calls"]
            return litellm.ModelResponse(
                model=f"{PROVIDER}/{model}",
                created=int(time.time()),
                choices=[{"index": 0, "message": message, "finish_reason": reply["finish_reason"]}],
                usage=_usage(messages, optional_params.get("tools"), reply),
            )

        def completion(
            self,
            model: str,
            messages: list[dict[str, Any]],
            optional_params: dict[str, Any],
            **kwargs: Any,
        ) -> Any:
            return self._respond(model, messages, optional_params)

        async def acompletion(
            self,
            model: str,
            messages: list[dict[str, Any]],
            optional_params: dict[str, Any],
            **kwargs: Any,
        ) -> Any:
            return self._respond(model, messages, optional_params)

        def streaming(
            self,
            model: str,
            messages: list[dict[str, Any]],
            optional_params: dict[str, Any],
            **kwargs: Any,
        ) -> Iterator[dict[str, Any]]:
            yield from _chunks(messages, optional_params)

        async def astreaming(
            self,
            model: str,
            messages: list[dict[str, Any]],
            optional_params: dict[str, Any],
            **kwargs: Any,
        ) -> AsyncIterator[dict[str, Any]]:
            for chunk in _chunks(messages, optional_params):
                yield chunk

    return OfflineLLM()


def _chunks(
    messages: list[dict[str, Any]], optional_params: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """litellm ``GenericStreamingChunk``s of the offline reply: word by word, then tool calls, then usage."""
    reply = plan_reply(
        messages, optional_params.get("tools"), optional_params.get("response_format")
    )
    pieces = re.findall(r"\s*\S+", reply["content"] or "")
    for piece in pieces:
        yield {
            "text": piece,
            "is_finished": False,
            "finish_reason": None,
            "usage": None,
            "index": 0,
            "tool_use": None,
        }
    for index, call in enumerate(reply["tool_calls"]):
        yield {
            "text": "",
            "is_finished": False,
            "finish_reason": None,
            "usage": None,
            "index": 0,
            "tool_use": {
                "id": call["id"],
                "type": "function",
                "index": index,
                "function": {
                    "name": call["function"]["name"],
                    "arguments": call["function"]["arguments"],
                },
            },
        }
    yield {
        "text": "",
        "is_finished": True,
        "finish_reason": reply["finish_reason"],
        "index": 0,
        "tool_use": None,
        "usage": _usage(messages, optional_params.get("tools"), reply),
    }
