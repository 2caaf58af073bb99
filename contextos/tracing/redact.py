"""Secret redaction for everything a span carries (attributes, events, names, status).

Applied by ``RedactingExporter`` (see ``contextos.tracing.export``) to every span before any
exporter sees it, so no code path that opens a span can leak a key into a trace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"

# Values that look like credentials wherever they appear in a string.
_TOKEN_PATTERNS = (
    r"\bsk-[A-Za-z0-9_\-]{8,}",  # OpenAI, Anthropic (sk-ant-...), most OpenAI-compatible providers
    r"\bAKIA[0-9A-Z]{16}\b",  # AWS access key ids
    r"\bgh[pousr]_[A-Za-z0-9]{20,}",  # GitHub tokens
    r"\bgithub_pat_[A-Za-z0-9_]{20,}",
    r"\bAIza[0-9A-Za-z_\-]{35}",  # Google API keys
    r"\bxox[abprs]-[A-Za-z0-9\-]{10,}",  # Slack tokens
    r"\bhf_[A-Za-z0-9]{20,}",  # Hugging Face tokens
    r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",  # JWTs
)
# "Bearer <token>" / "Basic <token>" anywhere (an Authorization header printed in a log line).
_SCHEME = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]{6,}=*")
# key = value / "key": "value" where the key names a secret (in JSON, headers, query strings). A quoted
# value is redacted up to its closing quote (it may hold spaces); an unquoted one may start with an
# auth scheme ("Authorization: Token abc").
_KEYED = re.compile(
    r"""(?ix)
    ((?:\\*["'])?\b(?:[a-z0-9_\-]*api[_\-]?key|authorization|x-api-key|access[_\-]?token|refresh[_\-]?token
        |auth[_\-]?token|client[_\-]?secret|secret[_\-]?key|secret|password|passwd)\b(?:\\*["'])?\s*[:=]\s*)
    (?:
        (\\*["'])(?!\[REDACTED\])(?:(?!\2).)*
        |
        (?!\[REDACTED\])(?:(?:bearer|basic|token|digest|negotiate|apikey)\s+)?[^\s"'\\,;&}]+
    )
    """
)
# Attribute keys whose whole value is a secret (the last dotted segment decides).
_SECRET_KEY = re.compile(
    r"(?i)^(?:[a-z0-9_\-]*api[_\-]?key|authorization|x-api-key|access[_\-]?token|refresh[_\-]?token"
    r"|auth[_\-]?token|client[_\-]?secret|secret[_\-]?key|secret|password|passwd|cookie|set-cookie)$"
)


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

            raise ConfigError(f"redaction pattern is not a valid regular expression: {exc}") from exc
        self._whole = [re.compile(p) for p in _TOKEN_PATTERNS] + extra

    def text(self, value: str) -> str:
        """``value`` with every credential it contains replaced."""
        value = _KEYED.sub(lambda m: m.group(1) + (m.group(2) or "") + REDACTED, value)
        value = _SCHEME.sub(lambda m: m.group(1) + m.group(2) + REDACTED, value)
        for pattern in self._whole:
            value = pattern.sub(REDACTED, value)
        return value

    def value(self, key: str, value: Any) -> Any:
        """An attribute value redacted: whole when ``key`` names a secret, else string by string."""
        if _SECRET_KEY.match(key.rsplit(".", 1)[-1]):
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, (list, tuple)):
            return type(value)(self.text(v) if isinstance(v, str) else v for v in value)
        return value

    def attributes(self, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
        """Every attribute redacted."""
        return {k: self.value(k, v) for k, v in (attributes or {}).items()}
