"""A model's chat template, rendered the way its vLLM server renders a chat request.

An open model's prompt is its ``tokenizer_config.json`` chat template (Jinja) applied to the
request. vLLM (``renderers/hf.py``, through transformers' ``apply_chat_template``) renders it in a
sandboxed Jinja environment with ``trim_blocks`` and ``lstrip_blocks``, a ``tojson`` filter that
does not escape HTML, ``raise_exception`` and ``strftime_now``, the tokenizer's special tokens
(``bos_token``, ``eos_token``, ...) as variables, and ``add_generation_prompt=True``. Before that
it reshapes the messages: text content becomes a plain string, ``None`` content an empty one,
tool-call arguments are parsed from their JSON text into objects, and each tool schema keeps only
``type`` and ``function`` (``name``, ``description``, ``parameters``, ``strict`` when set). Then
the text is tokenized without adding special tokens (the template writes its own). This module
does the same, so that the count of a rendered request is the count the server reports.

Templates that read message content as a list of parts (vLLM's "openai" content format,
multimodal templates) are rendered with string content here; for them the server's ``/tokenize``
is the authority (``VllmTokenize``).

```python
template = ChatTemplate(text, special_tokens={"bos_token": "<s>", "eos_token": "</s>"})
prompt = template.render([{"role": "user", "content": "Hi"}], tools=None)
```
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

from contextos.errors import TokenizerError


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    # transformers' filter: json.dumps without Jinja's HTML escaping, its options exposed.
    return json.dumps(
        value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


def _raise_exception(message: str) -> None:
    from jinja2.exceptions import TemplateError

    raise TemplateError(message)


def _strftime_now(format: str) -> str:
    return datetime.now().strftime(format)


@lru_cache(maxsize=16)
def _compile(text: str) -> Any:
    """The compiled template (Jinja is imported here: ``import contextos`` stays light)."""
    import jinja2
    import jinja2.ext
    from jinja2 import nodes
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Generation(jinja2.ext.Extension):
        # transformers' ``{% generation %}`` tag marks the assistant's tokens for training masks;
        # for a prompt it renders its body unchanged.
        tags = {"generation"}  # noqa: RUF012 - jinja2's Extension declares a plain set

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

        def _body(self, caller: Any) -> str:
            body: str = caller()
            return body

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[Generation, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    try:
        return env.from_string(text)
    except jinja2.TemplateError as exc:
        raise TokenizerError(
            f"the chat template does not compile: {exc}. Fix the template or pass a TokenCounter."
        ) from None


def served_message(message: dict[str, Any]) -> dict[str, Any]:
    """One chat message as vLLM hands it to the template (string content, arguments as objects)."""
    content = message.get("content")
    if content is None:
        content = ""
    elif isinstance(content, list):
        content = "\n".join(
            p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    out: dict[str, Any] = {"role": message.get("role", "user"), "content": content}
    calls = message.get("tool_calls")
    if out["role"] == "assistant" and calls:
        out["tool_calls"] = [_served_call(c) for c in calls]
    if out["role"] == "tool" and "tool_call_id" in message:
        out["tool_call_id"] = message["tool_call_id"]
    if isinstance(message.get("name"), str):
        out["name"] = message["name"]
    return out


def _served_call(call: dict[str, Any]) -> dict[str, Any]:
    function = dict(call.get("function") or {})
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments else {}
        except json.JSONDecodeError:
            arguments = {}  # vLLM coerces unparsable arguments to an empty object
    function["arguments"] = arguments if isinstance(arguments, dict) else {}
    return {**call, "function": function}


def served_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """One tool schema as vLLM hands it to the template (its pydantic model dumped)."""
    function = tool.get("function") or {}
    out = {
        "name": function.get("name"),
        "description": function.get("description"),
        "parameters": function.get("parameters"),
    }
    if function.get("strict") is not None:
        out["strict"] = function["strict"]
    return {"type": "function", "function": out}


class ChatTemplate:
    """A Jinja chat template with the special tokens it may refer to.

    ``text`` is one template, or transformers' list of named templates (``default``, ``tool_use``:
    the latter is used when the request has tools).
    """

    def __init__(
        self, text: str | list[dict[str, str]], special_tokens: dict[str, Any] | None = None
    ) -> None:
        if isinstance(text, list):
            named = {t.get("name"): t.get("template") for t in text if isinstance(t, dict)}
            if "default" not in named:
                raise TokenizerError(
                    f"the chat templates are named {sorted(map(str, named))} but none is 'default'; "
                    "give the template to use"
                )
            self.default, self.tool_use = (
                named["default"],
                named.get("tool_use") or named["default"],
            )
        else:
            self.default = self.tool_use = text
        _compile(self.default), _compile(self.tool_use)
        self.special_tokens = dict(special_tokens or {})

    def render(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> str:
        """The prompt text of a request, generation prompt included (``TokenizerError`` if the template refuses it)."""
        import jinja2

        template = _compile(self.tool_use if tools else self.default)
        try:
            prompt: str = template.render(
                **self.special_tokens,
                messages=[served_message(m) for m in messages],
                tools=[served_tool(t) for t in tools] if tools else None,
                documents=None,
                add_generation_prompt=True,
            )
        except (jinja2.TemplateError, TypeError, ValueError, KeyError, IndexError) as exc:
            raise TokenizerError(
                f"the chat template could not render this request ({type(exc).__name__}: {exc}); "
                "the server would refuse it too. Check the roles and their order, or pass a TokenCounter."
            ) from None
        return prompt
