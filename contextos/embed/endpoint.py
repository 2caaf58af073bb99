"""An embedder that calls an OpenAI-compatible ``/v1/embeddings`` endpoint (vLLM, TEI, OpenAI)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import httpx
import numpy as np

from contextos.embed.base import check_texts, check_vectors, l2_normalise
from contextos.errors import EmbeddingError

# Statuses worth another try: the server is overloaded or restarting, not rejecting the request.
_RETRY_STATUSES = {429, 500, 502, 503, 504}


class EndpointEmbedder:
    """Embeds through ``POST {base_url}/embeddings`` in batches.

    ```python
    embedder = EndpointEmbedder("http://127.0.0.1:8000/v1", model="intfloat/e5-small-v2",
                                query_prefix="query: ", document_prefix="passage: ")
    ```

    ``dimension`` is asked of the server (one short request) unless given. Failures raise
    :class:`~contextos.errors.EmbeddingError` saying which URL failed and how.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        dimension: int | None = None,
        batch_size: int = 64,
        timeout: float = 30.0,
        retries: int = 2,
        query_prefix: str = "",
        document_prefix: str = "",
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = f"endpoint:{model}" + (
            f"|q={query_prefix}|d={document_prefix}" if query_prefix or document_prefix else ""
        )
        self.batch_size = batch_size
        self.retries = retries
        self.query_prefix = query_prefix
        self.document_prefix = document_prefix
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        """Vector length; asked of the server on first use when not given."""
        if self._dimension is None:
            self._dimension = int(self._request(["dimension probe"]).shape[1])
        return self._dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for ``texts`` (``document_prefix`` prepended), ``batch_size`` per request."""
        texts = check_texts(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = [
            self._request([self.document_prefix + t for t in texts[i : i + self.batch_size]])
            for i in range(0, len(texts), self.batch_size)
        ]
        return check_vectors(self.name, np.concatenate(parts), len(texts), self.dimension)

    def embed_query(self, text: str) -> np.ndarray:
        """One query vector (``query_prefix`` prepended)."""
        vector: np.ndarray = check_vectors(
            self.name, self._request([self.query_prefix + text]), 1, self.dimension
        )[0]
        return vector

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def _request(self, batch: list[str]) -> np.ndarray:
        url = f"{self.base_url}/embeddings"
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._client.post(url, json={"model": self.model, "input": batch})
            except httpx.TimeoutException as exc:
                if last:
                    raise EmbeddingError(
                        f"{url} did not answer within {self._client.timeout.read}s: {exc}"
                    ) from exc
            except httpx.HTTPError as exc:
                if last:
                    raise EmbeddingError(
                        f"cannot reach the embedding endpoint {url}: {exc}"
                    ) from exc
            else:
                if response.status_code < 400:
                    return self._parse(url, response, len(batch))
                if response.status_code not in _RETRY_STATUSES or last:
                    raise EmbeddingError(
                        f"{url} answered {response.status_code} for model {self.model!r}: {response.text[:300]}"
                    )
            time.sleep(min(0.25 * 2**attempt, 2.0))
        raise AssertionError("unreachable")

    def _parse(self, url: str, response: httpx.Response, count: int) -> np.ndarray:
        try:
            data = response.json()["data"]
            rows = sorted(data, key=lambda d: d["index"])
            vectors = np.array([row["embedding"] for row in rows], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingError(
                f"{url} answered something that is not an embeddings response: {response.text[:300]}"
            ) from exc
        if vectors.ndim != 2 or vectors.shape[0] != count:
            raise EmbeddingError(
                f"{url} returned {vectors.shape[0] if vectors.ndim else 0} vectors for {count} texts"
            )
        if self._dimension is not None and vectors.shape[1] != self._dimension:
            raise EmbeddingError(
                f"{url} returned {vectors.shape[1]}-d vectors but this embedder was set to {self._dimension}: "
                "pass the model's real dimension"
            )
        return l2_normalise(vectors)
