"""How the offline backend answers a tool-retrieval query prompt (``contextos.tools.query.QUERY_PROMPT``).

A real model reads the request and writes one search query per capability it needs. The offline
backend cannot understand a request, but it can do the mechanical part deterministically, so that the
LLM-written-query path runs end to end without a model: it splits the request into its clauses
(sentences, then ``and`` / ``also`` / ``then`` / ``;`` joins), keeps the sentences that ask for
something (opening with a question, an imperative, or a request such as "I need ..."), and writes
each of their clauses as its content words. "I'm flying to Oslo next week. What's the weather forecast
there, and how much is 500 USD in NOK?" becomes the two queries ``weather forecast`` and ``500 USD NOK``.
"""

from __future__ import annotations

import re

MARKER = "User request:"
"""Where the request starts in the query prompt; the prompt's JSON form names ``"queries"``."""

_SENTENCE = re.compile(r"(?<=[.?!])\s+|\n+")
_JOIN = re.compile(r"\s*(?:;|,?\s+\b(?:and also|and then|and|also|then|plus)\b)\s+", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]*|\d+(?:[.,]\d+)?")
_ASKS = re.compile(
    r"^(?:what|what's|how|which|where|when|who|whose|is|are|can|could|will|would|do|does|should|please|"
    r"find|get|give|show|tell|list|search|look|book|send|check|convert|translate|compute|calculate|make|"
    r"create|recommend|suggest|i need|i want|i'd like|we need)\b",
    re.I,
)
_FILLER = frozenset(
    "a an the is are was were be been am do does did can could would will should please me my i i'm we you your "
    "it its there here this that these those what what's which who how where when tell give show find get "
    "to of in on at for from with about some any also and or much many".split()
)


def is_query_prompt(text: str) -> bool:
    """True when ``text`` is a tool-retrieval query prompt (it asks for ``{"queries": [...]}``)."""
    return MARKER in text and '"queries"' in text


def offline_queries(prompt: str, max_queries: int = 5) -> list[str]:
    """One query per clause of the prompt's request that asks for something (the whole request's
    content words when no clause does)."""
    request = prompt.split(MARKER, 1)[1].strip().split("\n\n", 1)[0]
    queries = [q for q in (_content_words(c) for c in asking_clauses(request)) if q]
    return list(dict.fromkeys(queries))[:max_queries] or [request]


def asking_clauses(request: str) -> list[str]:
    """The clauses of ``request`` that ask for something, in order (``[request]`` when none does)."""
    asking = []
    for sentence in _SENTENCE.split(request):
        clauses = [c.strip() for c in _JOIN.split(sentence) if c.strip()]
        # "Book a table and text Ana": the joined clauses ask too
        if clauses and _ASKS.match(clauses[0]):
            asking.extend(clauses)
    return asking or [request]


def _content_words(clause: str) -> str:
    return " ".join(w for w in _WORD.findall(clause) if w.lower() not in _FILLER)
