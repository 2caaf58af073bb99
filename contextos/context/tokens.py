"""Token counting that works offline, cached by content, and counts whole chat requests.

tiktoken normally downloads its encoding files on first use. contextos ships the two it needs
(``cl100k_base`` and ``o200k_base``, MIT-licensed, from tiktoken's public blobs; their sha256 are
checked on load) and builds the encodings from them, so counting never touches the network.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import warnings
from abc import ABC, abstractmethod
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from contextos.errors import TokenizerError

ENCODINGS_DIR = Path(__file__).parent / "encodings"

# Tokens a chat request spends around its content, after OpenAI's published accounting:
# every message is wrapped in role markers, the reply is primed, tool schemas sit in a block.
MESSAGE_OVERHEAD = 3
REPLY_PRIMER = 3
TOOLS_BLOCK_OVERHEAD = 6
TOOL_OVERHEAD = 4

_SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}
_PATTERNS = {
    "cl100k_base": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
    "o200k_base": "|".join(
        [
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""\p{N}{1,3}""",
            r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
            r"""\s*[\r\n]+""",
            r"""\s+(?!\S)""",
            r"""\s+""",
        ]
    ),
}
_SPECIAL = {
    "cl100k_base": {
        "<|endoftext|>": 100257,
        "<|fim_prefix|>": 100258,
        "<|fim_middle|>": 100259,
        "<|fim_suffix|>": 100260,
        "<|endofprompt|>": 100276,
    },
    "o200k_base": {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
}

# Model name prefixes and their encodings. Open-weight models (Llama, Qwen, Mistral, ...) have
# tokenizers of their own: for them a count is an approximation and a warning says so.
_MODEL_PREFIXES = (
    ("gpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4.5", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("chatgpt-4o", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("text-embedding-3", "cl100k_base"),
    ("text-embedding-ada-002", "cl100k_base"),
)
DEFAULT_ENCODING = "o200k_base"


class TokenizerWarning(UserWarning):
    """A token count is approximate: the model's own tokenizer is not known to contextos."""


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens of text and of whole chat requests."""

    def count(self, text: str) -> int:
        """Tokens in ``text``."""
        ...

    def count_request(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> int:
        """Tokens a chat request spends: messages, tool schemas and chat overhead."""
        ...


@cache
def load_encoding(name: str) -> Any:
    """The tiktoken ``Encoding`` named ``name``, built from the files shipped with contextos."""
    import tiktoken

    path = ENCODINGS_DIR / f"{name}.tiktoken"
    if name not in _SHA256 or not path.exists():
        raise TokenizerError(
            f"unknown encoding {name!r}; contextos ships {sorted(_SHA256)}. "
            "Pass one of those, or your own TokenCounter."
        )
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != _SHA256[name]:
        raise TokenizerError(f"{path} is corrupt (sha256 mismatch); reinstall contextos.")
    ranks = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(
        name=name, pat_str=_PATTERNS[name], mergeable_ranks=ranks, special_tokens=_SPECIAL[name]
    )


def encoding_for_model(model: str | None) -> str:
    """The encoding name for a model; unknown models fall back to o200k_base with a warning."""
    if not model:
        return DEFAULT_ENCODING
    bare = model.rsplit("/", 1)[-1].lower()
    for prefix, encoding in _MODEL_PREFIXES:
        if bare.startswith(prefix):
            return encoding
    _warn_unknown_model(model)
    return DEFAULT_ENCODING


@lru_cache(maxsize=256)
def _warn_unknown_model(model: str) -> None:
    # lru_cache makes the warning fire once per model name, not once per call.
    warnings.warn(
        f"no known tokenizer for model {model!r}: counting with {DEFAULT_ENCODING}, so counts are "
        "approximate. Pass encoding= (or a TokenCounter of the model's own tokenizer) for exact counts.",
        TokenizerWarning,
        stacklevel=3,
    )


class ChatAccounting(ABC):
    """What selection asks of a counter besides ``count``: the tokens one message, one tool schema,
    the tools block, the system message and an empty request add (internal base class).

    The defaults are OpenAI's published accounting (the constants above), right for tiktoken
    counters; ``ChatTemplateCounter`` measures them on the model's own chat template instead.
    A counter that only implements the ``TokenCounter`` protocol gets these defaults through
    ``accounting(counter)``.
    """

    counted_with: str = "custom"
    """What the counts come from (``tiktoken:cl100k_base``, ``template:<folder>``, ...); shown in ``ContextUsage``."""
    estimated: bool = False
    """True when the counts are an estimate, not the served model's own tokenizer."""

    @abstractmethod
    def count(self, text: str) -> int:
        """Tokens in ``text``."""

    def count_request(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> int:
        """Tokens a chat request spends: messages, tool schemas and chat overhead."""
        return count_request(self, messages, tools)

    def message_cost(self, message: dict[str, Any]) -> int:
        """Tokens one message adds to a request, its wrapping included."""
        return count_message(self, message)

    def tool_cost(self, tool: dict[str, Any]) -> int:
        """Tokens one tool schema adds to the tools block."""
        return count_tool(self, tool)

    def tools_block_cost(self) -> int:
        """Tokens the tools block adds once it holds a tool, beyond the tools' own costs."""
        return TOOLS_BLOCK_OVERHEAD

    def system_overhead(self) -> int:
        """Tokens the system message adds beyond its text."""
        return MESSAGE_OVERHEAD

    def request_base_cost(self) -> int:
        """Tokens every request spends beyond its messages and tools (the reply primer, a BOS token...)."""
        return REPLY_PRIMER


class _Formula(ChatAccounting):
    """OpenAI's accounting over any ``TokenCounter``'s ``count``."""

    def __init__(self, counter: TokenCounter) -> None:
        self.counter = counter
        self.counted_with = getattr(counter, "counted_with", type(counter).__name__)
        self.estimated = bool(getattr(counter, "estimated", False))

    def count(self, text: str) -> int:
        return self.counter.count(text)

    def count_request(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> int:
        return self.counter.count_request(messages, tools)


def accounting(counter: TokenCounter) -> ChatAccounting:
    """The per-message and per-tool costs of ``counter``: its own, or OpenAI's formula over its ``count``."""
    return counter if isinstance(counter, ChatAccounting) else _Formula(counter)


class CachedCounter(ChatAccounting):
    """A counter that remembers the count of each text it saw (internal base class; subclasses ``encode``)."""

    def __init__(self, cache_size: int) -> None:
        self._cache: dict[str, int] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @abstractmethod
    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``."""

    def count(self, text: str) -> int:
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        n = len(self.encode(text))
        with self._lock:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[text] = n
        return n


class TiktokenCounter(CachedCounter):
    """The default ``TokenCounter``: tiktoken with shipped encodings and a count cache.

    ```python
    >>> counter = TiktokenCounter(model="gpt-4o")  # or TiktokenCounter(encoding="cl100k_base")
    >>> counter.count("hello world"), counter.counted_with
    (2, 'tiktoken:o200k_base')

    ```
    """

    def __init__(
        self, model: str | None = None, *, encoding: str | None = None, cache_size: int = 200_000
    ) -> None:
        self.encoding_name = encoding or encoding_for_model(model)
        self.counted_with = f"tiktoken:{self.encoding_name}"
        self._encoding = load_encoding(self.encoding_name)
        super().__init__(cache_size)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (special tokens are treated as plain text)."""
        encoded: list[int] = self._encoding.encode(text, disallowed_special=())
        return encoded


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
"""One encoder for every call: ``json.dumps`` with options builds a new one each time."""


def canonical_json(value: Any) -> str:
    """The JSON text counted for schemas and tool calls: sorted keys, compact separators."""
    return _CANONICAL.encode(value)


def count_message(counter: TokenCounter, message: dict[str, Any]) -> int:
    """Tokens one chat message spends, overhead included."""
    n = MESSAGE_OVERHEAD
    content = message.get("content")
    if isinstance(content, str):
        n += counter.count(content)
    elif content is not None:
        n += counter.count(canonical_json(content))
    if message.get("name"):
        n += counter.count(message["name"]) + 1
    if message.get("tool_calls"):
        n += counter.count(canonical_json(message["tool_calls"]))
    if message.get("tool_call_id"):
        n += counter.count(message["tool_call_id"])
    return n


def count_tool(counter: TokenCounter, tool: dict[str, Any]) -> int:
    """Tokens one tool schema spends in the tools block."""
    return TOOL_OVERHEAD + counter.count(canonical_json(tool))


def count_request(
    counter: TokenCounter, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
) -> int:
    """Tokens of a whole chat request, the way ``TokenCounter.count_request`` defines them."""
    n = REPLY_PRIMER + sum(count_message(counter, m) for m in messages)
    if tools:
        n += TOOLS_BLOCK_OVERHEAD + sum(count_tool(counter, t) for t in tools)
    return n
