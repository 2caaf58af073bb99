"""The served model's own count: vLLM's ``/tokenize`` endpoint, and a counter that asks it to verify.

vLLM's ``POST /tokenize`` takes a chat request (``messages``, ``tools``) and answers the prompt's
token ids after applying the server's chat template, exactly as ``/v1/chat/completions`` would:
the authority on what a request costs. A round trip per candidate would be far too slow, so
selection counts locally and ``ServerCheckedCounter`` asks the server once per step, for the final
request, when the local count is an estimate or close to the limit (``Orchestrator`` does this).

```python
server = VllmTokenize("http://127.0.0.1:8000/v1", "hosted_vllm/Qwen/Qwen2.5-7B-Instruct")
server.count_request([{"role": "user", "content": "Hi"}])   # the server's prompt tokens
```
"""

from __future__ import annotations

import warnings
from typing import Any

from contextos.context.tokens import ChatAccounting, TokenCounter, TokenizerWarning, accounting
from contextos.errors import TokenizerError

VERIFY_WITHIN = 0.1
"""An exact local count this close to the limit (a fraction of it) is still checked with the server."""


class VllmTokenize:
    """A client of one vLLM server's ``/tokenize`` endpoint for one served model."""

    def __init__(self, api_base: str, model: str, *, timeout: float = 10.0) -> None:
        self.url = api_base.rstrip("/").removesuffix("/v1") + "/tokenize"
        self.model = model.removeprefix("hosted_vllm/")
        """The served model name (the litellm provider prefix removed)."""
        self.timeout = timeout

    def _body(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "add_generation_prompt": True,
        }
        if tools:
            body["tools"] = tools
        return body

    def _count(self, response: Any) -> int:
        if response.status_code != 200:
            raise TokenizerError(
                f"vLLM's /tokenize at {self.url} answered {response.status_code}: {response.text[:300]}"
            )
        try:
            return int(response.json()["count"])
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenizerError(
                f"vLLM's /tokenize at {self.url} answered without a count ({exc})"
            ) from None

    def count_request(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> int:
        """The server's prompt tokens for the request (``TokenizerError`` if it cannot say)."""
        import httpx

        try:
            response = httpx.post(self.url, json=self._body(messages, tools), timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise TokenizerError(
                f"vLLM's /tokenize at {self.url} could not be reached ({type(exc).__name__}: {exc})"
            ) from None
        return self._count(response)

    async def acount_request(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> int:
        """``count_request`` without blocking the event loop."""
        import httpx

        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(self.url, json=self._body(messages, tools))
        except httpx.HTTPError as exc:
            raise TokenizerError(
                f"vLLM's /tokenize at {self.url} could not be reached ({type(exc).__name__}: {exc})"
            ) from None
        return self._count(response)


class ServerCheckedCounter(ChatAccounting):
    """A local counter for selection, with the vLLM server's ``/tokenize`` as the final word.

    Everything is counted by ``local``; ``needs_check`` says when the orchestrator should ask the
    server about the final request of a step: always when ``local`` is an estimate, else when its
    count is within ``within`` (a fraction) of the limit. If the server cannot answer, one
    ``TokenizerWarning`` names the fallback (the local count) and the step goes on.
    """

    def __init__(
        self, local: TokenCounter, server: VllmTokenize, *, within: float = VERIFY_WITHIN
    ) -> None:
        self.local = accounting(local)
        self.server = server
        self.within = within
        self.counted_with = f"{self.local.counted_with}, checked by vllm:/tokenize"
        self.estimated = self.local.estimated
        self._warned = False

    def count(self, text: str) -> int:
        return self.local.count(text)

    def count_request(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> int:
        return self.local.count_request(messages, tools)

    def message_cost(self, message: dict[str, Any]) -> int:
        return self.local.message_cost(message)

    def tool_cost(self, tool: dict[str, Any]) -> int:
        return self.local.tool_cost(tool)

    def tools_block_cost(self) -> int:
        return self.local.tools_block_cost()

    def system_overhead(self) -> int:
        return self.local.system_overhead()

    def request_base_cost(self) -> int:
        return self.local.request_base_cost()

    def needs_check(self, local_count: int, limit: int) -> bool:
        """Whether a request counted ``local_count`` locally should be checked against ``limit`` by the server."""
        return self.local.estimated or local_count >= limit * (1 - self.within)

    async def checked_count(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
    ) -> int | None:
        """The server's count of the request, or None (after one warning) when it cannot answer."""
        try:
            return await self.server.acount_request(messages, tools)
        except TokenizerError as exc:
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"{exc}; contextos goes on with its local count ({self.local.counted_with}).",
                    TokenizerWarning,
                    stacklevel=2,
                )
            return None
