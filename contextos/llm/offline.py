"""The offline backend: ``offline/<name>`` models, answered locally and deterministically, with no model.

For demos and tests on machines without a model server. It is honest about what it is: every
text it writes starts with ``[offline]`` and ``Completion.offline`` is True. It is used only when
``offline/...`` is the configured model, never as a silent stand-in for a real one.

It can drive a tool-calling loop:

- tools offered and the last message is the user's: it calls the first tool whose name or
  description shares a word with the request, filling required arguments from the request text
  (numbers for numeric parameters; quoted, then capitalised phrases, then the text for strings);
- the last message is a tool result: it answers plainly, quoting the result;
- asked to write tool-retrieval queries (``contextos.tools.query.QUERY_PROMPT``): it writes one per
  clause of the request that asks for something (``offline_queries``), as JSON;
- otherwise (no tools, or none matches): it answers plainly.

It is registered as a litellm custom provider (``litellm.custom_provider_map``) by
``contextos.llm.runtime.load_litellm``, so it goes through the same path as any model.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from contextos.llm.offline_queries import is_query_prompt, offline_queries

PROVIDER = "offline"
"""The litellm provider name: models are ``offline/<anything>``."""

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*|\d+")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_QUOTED = re.compile(r"\"([^\"]+)\"|'([^']+)'|“([^”]+)”")
_CAPITALISED = re.compile(r"\b[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*")
_STOPWORDS = frozenset(
    "a an and are as at be by can could do does for from get give how i in is it me my of on or please "
    "show tell that the this to use want was what when where which who why will with would you your".split()
)


def is_offline_model(model: str) -> bool:
    """True for ``offline/...`` model strings."""
    return model.startswith(f"{PROVIDER}/")


def plan_reply(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The offline answer to ``messages``: ``{"content", "tool_calls", "finish_reason"}`` (OpenAI shapes)."""
    last = messages[-1] if messages else {"role": "user", "content": ""}
    role = last.get("role")
    if role == "tool":
        name = last.get("name") or _tool_name_for(messages, last.get("tool_call_id"))
        result = _text(last.get("content")).strip()
        shown = result if len(result) <= 400 else result[:400] + " ..."
        return _text_reply(f"[offline] The tool {name or 'call'} returned: {shown}")
    request = _text(last.get("content")).strip()
    if role == "user" and not tools and is_query_prompt(request):
        return _text_reply("[offline] " + json.dumps({"queries": offline_queries(request)}))
    if tools and role == "user":
        chosen = _pick_tool(request, tools)
        if chosen is not None:
            function = chosen.get("function", chosen)
            arguments = _fill_arguments(request, function.get("parameters") or {})
            call_id = "call_offline_" + hashlib.sha1(f"{len(messages)}:{request}".encode()).hexdigest()[:12]
            return {
                "content": None,
                "tool_calls": [{"id": call_id, "type": "function",
                                "function": {"name": function["name"], "arguments": json.dumps(arguments)}}],
                "finish_reason": "tool_calls",
            }
    shown = request if len(request) <= 200 else request[:200] + " ..."
    return _text_reply(f"[offline] No model is running here (offline backend). Your request was: {shown}")


def _text_reply(content: str) -> dict[str, Any]:
    return {"content": content, "tool_calls": [], "finish_reason": "stop"}


def _words(text: str) -> set[str]:
    split = re.sub(r"([a-z])([A-Z])", r"\1 \2", text.replace("_", " ").replace("-", " "))
    return {w.lower() for w in _WORD.findall(split)} - _STOPWORDS


def _pick_tool(request: str, tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    wanted = _words(request)
    for tool in tools:
        function = tool.get("function", tool)
        offered = _words(f"{function.get('name', '')} {function.get('description', '')}")
        if wanted & offered:
            return tool
    return None


def _fill_arguments(request: str, schema: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = schema.get("properties") or {}
    numbers = [float(n) for n in _NUMBER.findall(request)]
    phrases = _phrases(request)
    arguments: dict[str, Any] = {}
    for name in schema.get("required") or []:
        spec = properties.get(name) or {}
        kind = spec.get("type", "string")
        if "enum" in spec and spec["enum"]:
            lowered = request.lower()
            arguments[name] = next((v for v in spec["enum"] if str(v).lower() in lowered), spec["enum"][0])
        elif kind in ("number", "integer"):
            value = numbers.pop(0) if numbers else 0
            arguments[name] = int(value) if kind == "integer" else value
        elif kind == "boolean":
            arguments[name] = bool(re.search(r"\b(yes|true|enable|on)\b", request, re.I))
        elif kind == "array":
            arguments[name] = [phrases.pop(0)] if phrases else [request]
        elif kind == "object":
            arguments[name] = {}
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


def _usage(messages: list[dict[str, Any]], reply: dict[str, Any]) -> dict[str, int]:
    prompt = sum(len(_text(m.get("content")).split()) + 1 for m in messages)
    completion = len((reply["content"] or "").split()) + sum(len(c["function"]["arguments"].split()) + 1 for c in reply["tool_calls"])
    return {"prompt_tokens": prompt, "completion_tokens": max(completion, 1), "total_tokens": prompt + max(completion, 1)}


def make_handler() -> Any:
    """The litellm ``CustomLLM`` that answers ``offline/...`` models (imports litellm: call it from ``load_litellm``)."""
    import litellm
    from litellm import CustomLLM

    class OfflineLLM(CustomLLM):
        """litellm custom provider answering with ``plan_reply``."""

        def _respond(self, model: str, messages: list, optional_params: dict, model_response: Any) -> Any:
            reply = plan_reply(messages, optional_params.get("tools"))
            message: dict[str, Any] = {"role": "assistant", "content": reply["content"]}
            if reply["tool_calls"]:
                message["tool_calls"] = reply["tool_calls"]
            return litellm.ModelResponse(
                model=f"{PROVIDER}/{model}",
                created=int(time.time()),
                choices=[{"index": 0, "message": message, "finish_reason": reply["finish_reason"]}],
                usage=_usage(messages, reply),
            )

        def completion(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict, model_response: Any,
                       print_verbose: Any, encoding: Any, api_key: Any, logging_obj: Any, optional_params: dict,
                       **kwargs: Any) -> Any:
            return self._respond(model, messages, optional_params, model_response)

        async def acompletion(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict,
                              model_response: Any, print_verbose: Any, encoding: Any, api_key: Any, logging_obj: Any,
                              optional_params: dict, **kwargs: Any) -> Any:
            return self._respond(model, messages, optional_params, model_response)

        def streaming(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict, model_response: Any,
                      print_verbose: Any, encoding: Any, api_key: Any, logging_obj: Any, optional_params: dict,
                      **kwargs: Any) -> Iterator[dict[str, Any]]:
            yield from _chunks(messages, optional_params)

        async def astreaming(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict,
                             model_response: Any, print_verbose: Any, encoding: Any, api_key: Any, logging_obj: Any,
                             optional_params: dict, **kwargs: Any) -> AsyncIterator[dict[str, Any]]:
            for chunk in _chunks(messages, optional_params):
                yield chunk

    return OfflineLLM()


def _chunks(messages: list[dict[str, Any]], optional_params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """litellm ``GenericStreamingChunk``s of the offline reply: word by word, then tool calls, then usage."""
    reply = plan_reply(messages, optional_params.get("tools"))
    pieces = re.findall(r"\s*\S+", reply["content"] or "")
    for piece in pieces:
        yield {"text": piece, "is_finished": False, "finish_reason": None, "usage": None, "index": 0, "tool_use": None}
    for index, call in enumerate(reply["tool_calls"]):
        yield {"text": "", "is_finished": False, "finish_reason": None, "usage": None, "index": 0,
               "tool_use": {"id": call["id"], "type": "function", "index": index,
                            "function": {"name": call["function"]["name"], "arguments": call["function"]["arguments"]}}}
    yield {"text": "", "is_finished": True, "finish_reason": reply["finish_reason"], "index": 0, "tool_use": None,
           "usage": _usage(messages, reply)}
