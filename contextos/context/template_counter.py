"""Counting an open model's requests exactly: its own tokenizer over its own chat template.

A Hugging Face model folder holds ``tokenizer.json`` (read by the ``tokenizers`` library, the same
Rust tokenizer transformers and vLLM run) and ``tokenizer_config.json`` (the chat template and the
special tokens; newer folders keep the template in ``chat_template.jinja``). The count of a request
is the length of its rendered template tokenized without added special tokens: what vLLM counts as
the prompt (see ``chat_template``).

Selection needs what one message or one tool adds, before any request exists. Those costs are
measured on the template itself: a message is rendered after a short valid conversation and its
cost is the difference that makes, which includes the role markers, the separators and, for tools,
the template's own layout of the schema (indented JSON, a preamble). The orchestrator then counts
the real rendered request and repairs the rare overshoot from merges at the joins.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from contextos.context._chat_template import ChatTemplate
from contextos.context.tokens import CachedCounter
from contextos.errors import TokenizerError

_SPECIAL_KEYS = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)
_PROBE_USER = {"role": "user", "content": "Hello."}
_PROBE_ASSISTANT = {"role": "assistant", "content": "Hi."}
_PROBE_CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"id": "call_0", "type": "function", "function": {"name": "probe", "arguments": "{}"}}
    ],
}
_PROBE_TOOL = {
    "type": "function",
    "function": {
        "name": "probe",
        "description": "A probe.",
        "parameters": {"type": "object", "properties": {}},
    },
}
# A valid conversation to append a message of each role to (templates that insist on alternation accept them).
_PREFIX_FOR_ROLE = {
    "user": (_PROBE_USER, _PROBE_ASSISTANT),
    "assistant": (_PROBE_USER,),
    "tool": (_PROBE_USER, _PROBE_CALL),
}


def _token_text(value: Any) -> Any:
    """A special token as the template sees it: its text (configs may hold ``{"content": ...}``)."""
    if isinstance(value, dict):
        return value.get("content")
    if isinstance(value, list):
        return [_token_text(v) for v in value]
    return value


def _piece_splitter(tokenizer_file: Path) -> re.Pattern[str] | None:
    """A pattern splitting a prompt at the tokenizer's added tokens, when counting the pieces apart is exact.

    The tokenizers library extracts added tokens (``<|im_start|>``...) before it normalizes and
    pre-tokenizes, then handles each piece between them on its own. So a prompt's count is the sum
    of its pieces' counts plus one per added token, provided nothing crosses the pieces: no
    normalizer beyond Unicode normal forms, a byte-level pre-tokenizer (a Metaspace one prepends
    to the first piece only), no added token that strips the whitespace beside it. Otherwise None.
    """
    try:
        spec = json.loads(tokenizer_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None

    def kinds(node: Any) -> set[str]:
        if not isinstance(node, dict):
            return set()
        inner = node.get("pretokenizers") or node.get("normalizers") or []
        return {node.get("type", "")} | set().union(*(kinds(n) for n in inner))

    normalizers = kinds(spec.get("normalizer")) - {"Sequence", "NFC", "NFKC", ""}
    pre = kinds(spec.get("pre_tokenizer"))
    added = spec.get("added_tokens") or []
    if (
        normalizers
        or "ByteLevel" not in pre
        or pre - {"ByteLevel", "Sequence", "Split", "Digits", "Punctuation"}
    ):
        return None
    if not added or any(t.get("lstrip") or t.get("rstrip") or t.get("single_word") for t in added):
        return None
    # longest first, as the library matches
    contents = sorted({t["content"] for t in added}, key=len, reverse=True)
    return re.compile("(" + "|".join(map(re.escape, contents)) + ")")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TokenizerError(
            f"{path} could not be read as JSON ({exc}); point tokenizer= at a model folder "
            "with a valid tokenizer_config.json"
        ) from None
    if not isinstance(data, dict):
        raise TokenizerError(f"{path} is not a JSON object; point tokenizer= at a model folder")
    return data


class ChatTemplateCounter(CachedCounter):
    """Exact counts for an open model from its folder (or its ``tokenizer.json``).

    ```python
    counter = ChatTemplateCounter("/models/Qwen2.5-7B-Instruct")
    counter.count_request(messages, tools)   # == vLLM's prompt_tokens for that request
    ```

    ``path``: a model folder holding ``tokenizer.json`` and ``tokenizer_config.json``, or the
    ``tokenizer.json`` file itself (its folder's config is read when present). ``chat_template``
    overrides the folder's template (as vLLM's ``--chat-template`` does).
    """

    def __init__(
        self, path: str | Path, *, chat_template: str | None = None, cache_size: int = 200_000
    ) -> None:
        path = Path(path).expanduser()
        folder, tokenizer_file = (
            (path.parent, path) if path.is_file() else (path, path / "tokenizer.json")
        )
        if not tokenizer_file.is_file():
            raise TokenizerError(
                f"no tokenizer.json at {tokenizer_file}; point tokenizer= at the model's folder "
                "(the one vLLM serves) or at its tokenizer.json"
            )
        try:
            from tokenizers import Tokenizer

            self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        except Exception as exc:  # tokenizers raises a bare Exception on a bad file
            raise TokenizerError(
                f"{tokenizer_file} is not a tokenizer the tokenizers library can read ({exc})"
            ) from None
        config_path = folder / "tokenizer_config.json"
        config = _read_json(config_path) if config_path.is_file() else {}
        special_map = folder / "special_tokens_map.json"
        special = {
            k: _token_text(v)
            for k, v in (_read_json(special_map) if special_map.is_file() else {}).items()
        }
        special.update(
            {
                k: _token_text(config[k])
                for k in (*_SPECIAL_KEYS, "additional_special_tokens")
                if config.get(k) is not None
            }
        )
        jinja_file = folder / "chat_template.jinja"
        try:
            text = chat_template or (
                jinja_file.read_text(encoding="utf-8")
                if jinja_file.is_file()
                else config.get("chat_template")
            )
        except (OSError, UnicodeDecodeError) as exc:
            raise TokenizerError(
                f"{jinja_file} could not be read ({exc}); fix it or pass chat_template="
            ) from None
        if not text:
            raise TokenizerError(
                f"{folder} has no chat template (neither chat_template.jinja nor tokenizer_config.json's "
                "chat_template); pass chat_template= as vLLM's --chat-template would be"
            )
        self.template = ChatTemplate(text, special)
        self.path = folder
        self.counted_with = f"template:{folder.name}"
        super().__init__(cache_size)
        self._prefix_costs: dict[str, int] = {}
        self._pieces = _piece_splitter(tokenizer_file)

    # TokenCounter --------------------------------------------------------------------------

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, no special tokens added (special-token text in it is recognised, as vLLM does)."""
        return self._tokenizer.encode(text, add_special_tokens=False).ids

    def count_request(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> int:
        """The prompt tokens of the request as the model's server renders it.

        A request without messages cannot be sent (templates index ``messages[0]``); it counts as
        what every request spends plus its tools.
        """
        if not messages:
            return self.request_base_cost() + (
                self.tools_block_cost() + sum(map(self.tool_cost, tools)) if tools else 0
            )
        return self.count_prompt(self.render(messages, tools))

    def count_prompt(self, prompt: str) -> int:
        """Tokens of a rendered prompt. Where the tokenizer allows it, the text between added tokens
        is counted piece by piece with the cache, so an unchanged turn is not tokenized again."""
        if self._pieces is None:
            return len(self.encode(prompt))
        n = 0
        for i, piece in enumerate(self._pieces.split(prompt)):
            if i % 2:
                n += 1  # an added token (the split keeps them at odd places)
            elif piece:
                n += self.count(piece)
        return n

    def render(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> str:
        """The prompt text of the request (``TokenizerError`` when the template refuses it)."""
        return self.template.render(messages, tools)

    # ChatAccounting: costs measured on the template ----------------------------------------

    def _base(
        self, messages: tuple[dict[str, Any], ...], tools: tuple[dict[str, Any], ...] = ()
    ) -> int:
        """Tokens of a probe request, counted once."""
        key = json.dumps([messages, tools], sort_keys=True)
        known = self._prefix_costs.get(key)
        if known is None:
            known = self._prefix_costs[key] = self.count_request(
                list(messages), list(tools) or None
            )
        return known

    def message_cost(self, message: dict[str, Any]) -> int:
        role = message.get("role", "user")
        try:
            if role == "system":
                return max(
                    0, self.count_request([message, _PROBE_USER]) - self._base((_PROBE_USER,))
                )
            prefix = _PREFIX_FOR_ROLE.get(role, _PREFIX_FOR_ROLE["user"])
            return max(0, self.count_request([*prefix, message]) - self._base(prefix))
        except TokenizerError:
            # The template refuses this message on its own (a role it does not know, say); the
            # formula still gives selection a size, and the rendered request's count decides.
            return super().message_cost(message)

    def tool_cost(self, tool: dict[str, Any]) -> int:
        return max(
            0,
            self.count_request([_PROBE_USER], [_PROBE_TOOL, tool])
            - self._base((_PROBE_USER,), (_PROBE_TOOL,)),
        )

    def tools_block_cost(self) -> int:
        return max(
            0,
            self._base((_PROBE_USER,), (_PROBE_TOOL,))
            - self._base((_PROBE_USER,))
            - self.tool_cost(_PROBE_TOOL),
        )

    def system_overhead(self) -> int:
        text = _PROBE_ASSISTANT["content"]
        return max(0, self.message_cost({"role": "system", "content": text}) - self.count(text))

    def request_base_cost(self) -> int:
        return max(0, self._base((_PROBE_USER,)) - self.message_cost(_PROBE_USER))
