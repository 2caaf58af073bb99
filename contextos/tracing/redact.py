"""Secret redaction for everything a span carries (attributes, events, names, status).

Applied by ``SpanFilter`` (see ``contextos.tracing.export``) to every span before any exporter or
the local store sees it, so no code path that opens a span can leak a key into a trace.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from contextos.tracing._jsontext import compact_json, json_texts

REDACTED = "[REDACTED]"

# Values that look like credentials wherever they appear in a string, each with the literal it starts
# with: a pattern runs only on strings that contain its literal (``in`` is far cheaper than a regex
# scan, and most span strings hold no credential at all). A literal with variants is a regular
# expression without ``\b``: it starts with a plain prefix, which ``re`` finds as fast as ``in``.
# A token starts at a word boundary, or right after an escaped line break in JSON text ("...\\nsk-...").
_START = r"(?:\b|(?<=\\[nrt]))"
_TOKEN_PATTERNS = (
    (
        "sk-",
        _START + r"sk-[A-Za-z0-9_\-]{8,}",
    ),  # OpenAI, Anthropic (sk-ant-...), most OpenAI-compatible providers
    ("AKIA", _START + r"AKIA[0-9A-Z]{16}\b"),  # AWS access key ids
    (re.compile(r"gh[pousr]_"), _START + r"gh[pousr]_[A-Za-z0-9]{20,}"),  # GitHub tokens
    ("github_pat_", _START + r"github_pat_[A-Za-z0-9_]{20,}"),
    ("AIza", _START + r"AIza[0-9A-Za-z_\-]{35}"),  # Google API keys
    ("xox", _START + r"xox[abprs]-[A-Za-z0-9\-]{10,}"),  # Slack tokens
    ("hf_", _START + r"hf_[A-Za-z0-9]{20,}"),  # Hugging Face tokens
    ("eyJ", _START + r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),  # JWTs
)
# Lower-case words one of which a string must contain for the keyed / scheme patterns to apply.
_KEY_WORDS = ("key", "auth", "access", "refresh", "secret", "passw")
_SCHEME_WORDS = ("bearer", "basic")
# "Bearer <token>" / "Basic <token>" anywhere (an Authorization header printed in a log line).
_SCHEME = re.compile(r"(?i)(?:\b|(?<=\\[nrt]))(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]{6,}=*")
# key = value / "key": "value" where the key names a secret (in JSON, headers, query strings). A quoted
# value is redacted up to its closing quote (it may hold spaces); an unquoted one may start with an
# auth scheme ("Authorization: Token abc") and becomes a quoted "[REDACTED]" when its key was quoted
# (``"password": 1234`` in JSON), but may not start with ``{`` or ``[``: a JSON object or list under
# such a key (a tool schema's ``"password": {"type": "string"}``) is left whole, not cut into invalid
# JSON. The key may follow any prefix that ends in a non-alphanumeric (``openai_api_key``,
# ``x-api-key``); matching from the key itself keeps the scan linear.
_KEYED = re.compile(
    r"""(?ix)
    (?P<key>(?:(?<![a-z0-9])|(?<=\\[nrt]))(?:api[_\-]?key|authorization|access[_\-]?token|refresh[_\-]?token
        |auth[_\-]?token|client[_\-]?secret|secret[_\-]?access[_\-]?key|secret[_\-]?key|secret|password|passwd)\b(?P<kq>\\*["'])?\s*[:=]\s*)
    (?:
        (?P<q>\\*["'])(?!\[REDACTED\])(?:(?!(?P=q)).)*
        |
        (?!\[REDACTED\])(?:(?:bearer|basic|token|digest|negotiate|apikey)\s+)?(?![{\[])[^\s"'\\,;&}]+
    )
    """
)
# The key names of ``_KEYED`` as they read in a lower-cased ASCII string. ``_KEYED`` (case-insensitive,
# with a lookbehind) scans at 40 ns a character, and the cheap key words above are common English
# ("access", "author", "keyboard"): a plain search for the names (a fifth of the cost) finds where
# ``_KEYED`` can match, and it is tried only there. Only for ASCII strings, whose lower-casing is
# exact: elsewhere ``(?i)`` also folds letters (a Kelvin sign "K") that ``lower()`` leaves alone.
_KEY_NAMES = re.compile(
    r"api[_\-]?key|authorization|access[_\-]?token|refresh[_\-]?token|auth[_\-]?token|secret|passw(?:or)?d"
)
# Attribute keys whose whole value is a secret (the last dotted segment decides).
_SECRET_KEY = re.compile(
    r"(?i)^(?:[a-z0-9_\-]*api[_\-]?key|authorization|x-api-key|access[_\-]?token|refresh[_\-]?token"
    r"|auth[_\-]?token|client[_\-]?secret|[a-z0-9_\-]*secret[_\-]?access[_\-]?key|secret[_\-]?key|secret|password|passwd"
    r"|cookie|set-cookie)$"
)

# Shapes found by structure rather than by a key word. Every replacement keeps what is no secret (the
# scheme and user of a URL, a PEM block's armour, the name of a cookie or query parameter) and stops
# before a quote or backslash, so JSON around the secret stays JSON. docs/tracing.md tables them.
# credentials in a URL: scheme://user:password@host (postgres://app:pw@db/x, an api_base)
_URL_PASSWORD = re.compile(
    r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s/@:\"'\\]*):(?!\[REDACTED\]@)[^\s/@\"'\\]+@"
)
# a PEM private-key block, whole; cut short (no END line), up to the end of its string
_PEM = re.compile(
    r"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)(?!\[REDACTED\])(?:[^\"\\]|\\.)*?"
    r"(?:(-----END [A-Z0-9 ]*PRIVATE KEY-----)|(?=\")|\Z)",
    re.DOTALL,
)
# a cookie header's value (Set-Cookie: sid=...; Path=/), to the end of its line or string
_COOKIE = re.compile(
    r"""(?i)((?:(?<![a-z0-9_\-])|(?<=\\[nrt]))(?:set-)?cookie\\*["']?\s*[:=]\s*)"""
    r"""(?:(\\*["'])(?!\[REDACTED\])(?:(?!\2).)*|(?!\[REDACTED\])[^\s"'\\][^\r\n"'\\]*)"""
)
# a token, signature or key in a URL's query string (?token=..., &sig=..., &X-Amz-Signature=...)
_QUERY_SECRET = re.compile(
    r"(?i)([?&;](?:[a-z0-9_\-]*token|[a-z0-9_\-]*signature|sig|key|apikey|secret|password|passwd"
    r"|pwd|auth|code)=)(?!\[REDACTED\])[^&#\s\"'\\<>]+"
)
_URL_REPLACEMENT = r"\1:" + REDACTED + "@"
_QUERY_REPLACEMENT = r"\1" + REDACTED


def _pem_replacement(match: re.Match[str]) -> str:
    return match.group(1) + REDACTED + (match.group(2) or "")


def _cookie_replacement(match: re.Match[str]) -> str:
    return match.group(1) + (match.group(2) or "") + REDACTED


# (the lower-cased literals a string must hold for the pattern to run, pattern, replacement), in the
# order ``Redactor`` applies them (it tests the literals inline: ``in`` is not a call)
_SHAPES = (
    (("://", "@"), _URL_PASSWORD, _URL_REPLACEMENT),
    (("private key-----",), _PEM, _pem_replacement),
    (("cookie",), _COOKIE, _cookie_replacement),
    (("=",), _QUERY_SECRET, _QUERY_REPLACEMENT),
)


def redact_text(value: str) -> str:
    """``value`` with every credential the built-in patterns catch replaced: for text that leaves the
    process other than through a span (error messages, CLI output)."""
    return _default().text(value)


_DEFAULT: list[Redactor] = []


def _default() -> Redactor:
    if not _DEFAULT:
        _DEFAULT.append(Redactor())
    return _DEFAULT[0]


class RedactedJSON(str):
    """JSON text that ``Redactor.json`` made from an object, already redacted by the redactor in ``by``:
    that redactor passes it on unchanged instead of scanning the whole text again."""

    by: Redactor
    parts: tuple[str, ...] | None = None
    """For a list, each element's redacted JSON text (the store writes each message once per run)."""


# Spans repeat the same strings over and over (span and tool names, models, the tool definitions
# and system prompt of every step; a conversation's earlier messages, step after step), so results are
# remembered per string. Bounded, so a long run does not keep every prompt alive: at most this many
# strings and characters in all (a few MB), oldest forgotten first.
_CACHE_ENTRIES = 4096
_CACHE_CHARS = 4 * 1024 * 1024


def _keyed_replacement(match: re.Match[str]) -> str:
    quote = match.group("q")
    if quote:  # the closing quote is left in place
        return match.group("key") + quote + REDACTED
    # a bare value (a number, ``true``) under a quoted key is quoted, so that JSON stays JSON
    quote = match.group("kq") or ""
    return match.group("key") + quote + REDACTED + quote


def _redact_keyed(value: str, lower: str) -> str:
    """``_KEYED.sub`` on an ASCII ``value``, tried only where ``lower`` names a key: a tool schema that
    merely has a ``password`` parameter would otherwise be scanned whole at 40 ns a character.

    A match starts at a key name, or up to 7 characters before the one ``_KEY_NAMES`` finds
    (``client_`` before ``secret``); ``match(value, start)`` sees the characters before ``start``,
    so its lookbehind decides as it does in ``sub``."""
    parts: list[str] = []
    last = 0
    for hit in _KEY_NAMES.finditer(lower):
        for start in range(max(last, hit.start() - 7), hit.start() + 1):
            match = _KEYED.match(value, start)
            if match:
                parts += (value[last:start], _keyed_replacement(match))
                last = match.end()
                break
    if not parts:
        return value
    parts.append(value[last:])
    return "".join(parts)


class Redactor:
    """Replaces credentials in strings with ``[REDACTED]``.

    ```python
    Redactor(patterns=[r"acct-\\d{6}"]).text("key sk-abcdefghijklmnop, acct-123456")
    # 'key [REDACTED], [REDACTED]'
    ```

    ``patterns`` are extra regular expressions (the whole match is replaced).
    """

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        self.patterns = tuple(patterns)
        try:
            extra = [re.compile(p) for p in self.patterns]
        except re.error as exc:
            from contextos.errors import ConfigError

            raise ConfigError(
                f"redaction pattern is not a valid regular expression: {exc}"
            ) from exc
        self._tokens = [(literal, re.compile(p)) for literal, p in _TOKEN_PATTERNS]
        # split by how their literal is looked for: ``in`` for a plain one, a search for a variant one
        self._plain_tokens = [
            (literal, pattern) for literal, pattern in self._tokens if isinstance(literal, str)
        ]
        self._variant_tokens = [
            (literal, pattern) for literal, pattern in self._tokens if not isinstance(literal, str)
        ]
        self._extra = extra
        self._texts: dict[str, str] = {}
        # in the remembered strings (their redacted forms are mostly the same objects)
        self._chars = 0
        self._secret_keys: dict[str, bool] = {}
        # keys known to name no secret (a set: ``in``, not a call)
        self._plain_keys: set[str] = set()
        self._lock = threading.Lock()

    def text(self, value: str) -> str:
        """``value`` with every credential it contains replaced."""
        done = self._texts.get(value)
        if done is not None:
            return done
        done = self._scrub(value)
        if len(value) <= _CACHE_CHARS // 4:
            with self._lock:
                while self._texts and (
                    len(self._texts) >= _CACHE_ENTRIES or self._chars + len(value) > _CACHE_CHARS
                ):
                    oldest = next(iter(self._texts))
                    del self._texts[oldest]
                    self._chars -= len(oldest)
                if value not in self._texts:  # another thread may have just remembered it
                    self._texts[value] = done
                    self._chars += len(value)
        return done

    def _scrub(self, value: str) -> str:
        lower = value.lower()
        # letters (?i) folds to ASCII that lower() keeps: "paſſword" matches _KEYED
        if not value.isascii():
            # long s, dotless i (translate: 50 ns a char)
            lower = lower.replace("\u017f", "s").replace("\u0131", "i")
        # ``map`` and ``any`` in C: a generator expression would run a Python frame per word
        if any(map(lower.__contains__, _KEY_WORDS)):
            value = (
                _redact_keyed(value, lower)
                if value.isascii()
                else _KEYED.sub(_keyed_replacement, value)
            )
        if any(map(lower.__contains__, _SCHEME_WORDS)):
            value = _SCHEME.sub(lambda m: m.group(1) + m.group(2) + REDACTED, value)
        for literal, pattern in self._plain_tokens:
            if literal in value:
                value = pattern.sub(REDACTED, value)
        for finder, pattern in self._variant_tokens:
            if finder.search(value):
                value = pattern.sub(REDACTED, value)
        if "://" in value and "@" in value:
            value = _URL_PASSWORD.sub(_URL_REPLACEMENT, value)
        if "PRIVATE KEY-----" in value:
            value = _PEM.sub(_pem_replacement, value)
        if "cookie" in lower:
            value = _COOKIE.sub(_cookie_replacement, value)
        if "=" in value:
            value = _QUERY_SECRET.sub(_QUERY_REPLACEMENT, value)
        for pattern in self._extra:
            value = pattern.sub(REDACTED, value)
        return value

    def secret_key(self, key: str) -> bool:
        """Whether attribute ``key`` names a secret, so its whole value is one."""
        secret = self._secret_keys.get(key)
        if secret is None:
            secret = bool(_SECRET_KEY.match(key.rsplit(".", 1)[-1]))
            if len(self._secret_keys) < _CACHE_ENTRIES:  # keys are few and repeat on every span
                self._secret_keys[key] = secret
                if not secret:
                    self._plain_keys.add(key)
        return secret

    def json(self, value: Any) -> RedactedJSON:
        """``value`` as compact JSON text, redacted. A list's elements are encoded and redacted one by
        one, each remembered like any string, so the messages of a conversation are scanned once, not
        at every step that sends them again; no credential pattern can span two elements (``,`` and
        brackets end every pattern). Values JSON has no type for are written as ``compact_json`` writes
        them."""
        if value.__class__ is list or value.__class__ is tuple:
            # looked up here first: most elements were seen at an earlier step
            remembered = self._texts.get
            parts = tuple([remembered(t) or self.text(t) for t in json_texts(value)])
            out = RedactedJSON("[" + ",".join(parts) + "]")
            out.parts = parts
        else:
            out = RedactedJSON(self.text(compact_json(value)))
        out.by = self
        return out

    def value(self, key: str, value: Any) -> Any:
        """An attribute value redacted: whole when ``key`` names a secret, else string by string."""
        if self.secret_key(key):
            return REDACTED
        if value.__class__ is RedactedJSON and value.by is self:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, (list, tuple)):
            return self._each(value)
        return value

    def _each(self, values: list[Any] | tuple[Any, ...]) -> Any:
        """A list or tuple of attribute values with each string redacted (looked up first: most repeat)."""
        remembered = self._texts.get
        return type(values)(
            [(remembered(v) or self.text(v)) if isinstance(v, str) else v for v in values]
        )

    def attributes(self, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
        """Every attribute redacted."""
        out: dict[str, Any] = {}
        plain, texts = self._plain_keys, self._texts
        for key, value in (attributes or {}).items():
            # the common cases inline (a key known to name no secret with a string seen before, a
            # number, or JSON this redactor made): every attribute of every span passes here
            kind = value.__class__
            if key not in plain:  # a secret, or a key not seen yet
                out[key] = self.value(key, value)
            elif kind is str:
                done = texts.get(value)
                out[key] = done if done is not None else self.text(value)
            elif (
                kind is int
                or kind is float
                or kind is bool
                or (kind is RedactedJSON and value.by is self)
            ):
                out[key] = value
            elif kind is tuple:  # a list attribute, as spans keep them
                out[key] = self._each(value)
            else:
                out[key] = self.value(key, value)
        return out
