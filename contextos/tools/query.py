"""LLM-written retrieval queries for tools, and the retrieval step that uses them.

Kachuee et al., "Improving Tool Retrieval by Leveraging Large Language Models for Query Generation"
(COLING 2025 Industry, arXiv 2412.03573): instead of embedding the user's request as is, an LLM
first writes what the tool to look for does, and that query is embedded and matched. We ship their
zero-shot variant, asking for one query per capability the request needs, so that a multi-tool
request retrieves each of its tools, and fuse the rankings by reciprocal rank.

```python
writer = ToolQueryWriter(ModelClient("hosted_vllm/Qwen/Qwen2.5-7B-Instruct", api_base=...))
found = await find_tools("Book a table for two and text Ana the address", catalog.retriever(), k=5, writer=writer)
found.queries          # ["reserve a table at a restaurant", "send an SMS message to a contact"]
found.hits             # the fused top 5
```

At a later step of the same request, ``latest`` (the newest turns: the last tool call and its
result) lets the model ask for a tool the last result shows is needed next, and ``previous`` (the
retrieval of the step before) is reused as is when the model writes the same queries again: no
query embedding, no search.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from contextos.errors import ModelError
from contextos.llm._parse import json_candidates
from contextos.tools.retrieve import ToolHit, ToolRetriever
from contextos.tracing.spans import span

if TYPE_CHECKING:
    from contextos.llm.protocol import ChatModel

QUERY_PROMPT = """\
You help an assistant find the tools (API functions) it needs in a large catalog.
Read the user's request and list each distinct capability the request needs a tool for.
For each capability, write one short search query describing what such a tool does, in the words
a tool's name and documentation would use (e.g. "get current weather forecast for a city").
Do not answer the request. Do not invent tool names. Write at most {max_queries} queries.

Reply with JSON only, in this form: {{"queries": ["...", "..."]}}

User request:
{request}"""
"""The zero-shot prompt (Kachuee et al.) the writer sends: ``{request}`` and ``{max_queries}`` are
filled in. At a later step of a request ``PROGRESS_NOTE`` follows it."""

PROGRESS_NOTE = """

What the assistant has done for this request so far (newest last, clipped):
{latest}

The queries written at the previous step were: {previous}
Write the queries for the tools the request needs now, including any tool the latest result shows is
needed next. If the previous queries still cover everything, write them again unchanged.
Reply with JSON only, as above."""
"""Appended to the prompt at a later step of a request (after the request): ``{latest}`` is the newest turns,
``{previous}`` the queries written before (as JSON)."""


class ToolQueries(BaseModel):
    """The retrieval queries for one request, and where they came from."""

    queries: list[str]
    """The queries to retrieve with, one per capability (the request itself when no model wrote them)."""
    written_by_model: bool
    """True when a model wrote ``queries``; False when they fell back to the request text."""
    model: str | None = None
    """The model asked, when one was."""
    fallback_reason: str | None = None
    """Why the request text was used instead of model-written queries (no model, an error, an unusable answer)."""


class ToolRetrieval(BaseModel):
    """The outcome of one tool retrieval."""

    queries: ToolQueries
    """The queries retrieved with."""
    hits: list[ToolHit] = Field(default_factory=list)
    """The tools found, best first."""
    reused: bool = False
    """True when the queries were the same as the previous retrieval's and its hits were reused (no search ran)."""
    searched_at_step: int | None = None
    """The step whose search found ``hits``, when a step-driven source ran it (``ToolSource``)."""


class ToolQueryWriter:
    """Asks ``client`` for one tool-retrieval query per capability a request needs.

    With no client (or when the model fails or answers something unusable) the request text
    itself is the one query, and ``ToolQueries.fallback_reason`` says why.
    """

    def __init__(
        self,
        client: ChatModel | None = None,
        *,
        max_queries: int = 5,
        max_tokens: int = 300,
        prompt: str = QUERY_PROMPT,
        progress_note: str = PROGRESS_NOTE,
    ) -> None:
        self.client = client
        self.max_queries = max_queries
        self.max_tokens = max_tokens
        self.prompt = prompt
        self.progress_note = progress_note

    async def write(
        self, request: str, *, latest: str = "", previous: Sequence[str] = ()
    ) -> ToolQueries:
        """The queries for ``request`` (never empty for a non-empty request). ``latest``: the newest
        turns of the conversation, at a later step of the request; ``previous``: the queries written
        at the step before (both go into the prompt through ``progress_note``)."""
        request = request.strip()
        if self.client is None:
            return ToolQueries(
                queries=[request],
                written_by_model=False,
                fallback_reason="no query model configured",
            )
        progress = (
            self.progress_note.format(latest=latest.strip(), previous=json.dumps(list(previous)))
            if latest.strip()
            else ""
        )
        messages = [
            {
                "role": "user",
                "content": self.prompt.format(request=request, max_queries=self.max_queries)
                + progress,
            }
        ]
        try:
            completion = await self.client.acomplete(
                messages, max_tokens=self.max_tokens, temperature=0.0
            )
        except ModelError as exc:
            return ToolQueries(
                queries=[request],
                written_by_model=False,
                model=self.client.model,
                fallback_reason=f"the query model failed: {type(exc).__name__}: {exc}",
            )
        queries = parse_queries(completion.content or "")[: self.max_queries]
        if not queries:
            shown = (completion.content or "")[:120]
            return ToolQueries(
                queries=[request],
                written_by_model=False,
                model=self.client.model,
                fallback_reason=f"the query model's answer held no queries: {shown!r}",
            )
        return ToolQueries(queries=queries, written_by_model=True, model=self.client.model)


def parse_queries(text: str) -> list[str]:
    """The queries in a model's answer: ``{"queries": [...]}`` or a JSON list, possibly in a code
    fence or among other text; failing that, a bulleted or numbered list. Duplicates dropped."""
    found: list[str] = []
    for candidate in json_candidates(text):
        try:
            data: Any = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            data = next(
                (v for k, v in data.items() if k.lower() in ("queries", "query", "search_queries")),
                None,
            )
        if isinstance(data, str):
            data = [data]
        if isinstance(data, list):
            found = [q.strip() for q in data if isinstance(q, str) and q.strip()]
            if found:
                break
    if not found:
        found = [
            m.strip().strip('"')
            for m in re.findall(r"^\s*(?:[-*•]|\d+[.)])\s+(.+)$", text, flags=re.M)
        ]
    return [q for q in dict.fromkeys(found) if q]


async def find_tools(
    request: str,
    retriever: ToolRetriever,
    k: int,
    *,
    writer: ToolQueryWriter | None = None,
    latest: str = "",
    previous: ToolRetrieval | None = None,
) -> ToolRetrieval:
    """Write the queries for ``request`` (through ``writer``, else the request itself), retrieve the
    top ``k`` tools and record it all on a ``contextos.tool_retrieval`` span.

    ``latest`` and ``previous`` are for a later step of the same request (see ``ToolQueryWriter.write``);
    when the queries come out the same as ``previous``'s, its hits are returned (``reused``) and
    nothing is searched."""
    with span("contextos.tool_retrieval", {"contextos.tool_retrieval.k": k}) as current:
        earlier = previous.queries.queries if previous is not None else ()
        queries = await (writer or ToolQueryWriter()).write(
            request, latest=latest, previous=earlier
        )
        # attributes set in two calls into the span, not one per attribute; the queries before the search,
        # so that a failing search leaves them on the span
        written: dict[str, Any] = {
            "contextos.tool_retrieval.queries": queries.queries,
            "contextos.tool_retrieval.llm_written": queries.written_by_model,
        }
        if queries.model:
            written["contextos.tool_retrieval.query_model"] = queries.model
        if queries.fallback_reason:
            written["contextos.tool_retrieval.fallback_reason"] = queries.fallback_reason
        current.set_attributes(written)
        outcome: dict[str, Any] = {}
        if previous is not None and queries.queries == earlier:
            outcome["contextos.tool_retrieval.reused"] = True
            found = previous.model_copy(update={"queries": queries, "reused": True})
        else:
            hits = (
                await asyncio.to_thread(retriever.retrieve, queries.queries, k)
                if queries.queries[0]
                else []
            )
            found = ToolRetrieval(queries=queries, hits=hits)
        outcome["contextos.tool_retrieval.ranked_ids"] = [h.tool.id for h in found.hits]
        current.set_attributes(outcome)
        return found
