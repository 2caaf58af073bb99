"""vLLM's own prefix-cache counters, read from its Prometheus ``/metrics`` endpoint.

vLLM counts, in tokens, how much of each prompt it looked up in its prefix cache
(``vllm:prefix_cache_queries_total``) and how much it found there (``vllm:prefix_cache_hits_total``).
Reading them before and after a run measures real KV-cache reuse:

```python
before = read_prefix_cache_counters("http://127.0.0.1:8000/v1")
...  # run the agent
reuse = read_prefix_cache_counters("http://127.0.0.1:8000/v1") - before
print(reuse.hits, reuse.queries, reuse.hit_rate)
```

The cache works in whole KV blocks (``--block-size`` tokens): a shared prefix shorter than a block never hits.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request

from pydantic import BaseModel, ConfigDict

from contextos.errors import ModelConnectionError, ModelResponseError

QUERIES_METRIC = "vllm:prefix_cache_queries_total"
HITS_METRIC = "vllm:prefix_cache_hits_total"

# A Prometheus text-format sample: name, optional {labels}, value (timestamp ignored).
_SAMPLE = re.compile(r"^(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)(?:\{[^}]*\})?\s+(?P<value>\S+)")


class PrefixCacheCounters(BaseModel):
    """Prefix-cache token counters of one vLLM server (summed over its engines and models)."""

    model_config = ConfigDict(frozen=True)

    queries: float
    """Prompt tokens looked up in the prefix cache."""
    hits: float
    """Of those, tokens found in the cache (their KV was reused, not recomputed)."""

    @property
    def hit_rate(self) -> float:
        """``hits / queries`` (0.0 when nothing was queried)."""
        return self.hits / self.queries if self.queries else 0.0

    def __sub__(self, earlier: PrefixCacheCounters) -> PrefixCacheCounters:
        """The counts between an earlier reading and this one."""
        return PrefixCacheCounters(
            queries=self.queries - earlier.queries, hits=self.hits - earlier.hits
        )


def metrics_url(api_base: str) -> str:
    """``http://host:port/metrics`` from a server URL or an api_base ending in ``/v1``."""
    root = api_base.rstrip("/")
    if root.endswith("/v1"):
        root = root[: -len("/v1")]
    return f"{root}/metrics"


def parse_prefix_cache_counters(text: str) -> PrefixCacheCounters:
    """The prefix-cache counters in a Prometheus text exposition; ``ModelResponseError`` if absent."""
    totals = {QUERIES_METRIC: 0.0, HITS_METRIC: 0.0}
    seen: set[str] = set()
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match["name"] in totals:
            totals[match["name"]] += float(match["value"])
            seen.add(match["name"])
    missing = sorted(set(totals) - seen)
    if missing:
        raise ModelResponseError(
            f"The metrics have no {', '.join(missing)}: is this a vLLM server, with prefix caching on "
            "(it is by default; --no-enable-prefix-caching turns it off)?"
        )
    return PrefixCacheCounters(queries=totals[QUERIES_METRIC], hits=totals[HITS_METRIC])


def read_prefix_cache_counters(api_base: str, *, timeout: float = 10.0) -> PrefixCacheCounters:
    """Read the prefix-cache counters of the vLLM server at ``api_base`` (with or without ``/v1``)."""
    url = metrics_url(api_base)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            text = response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        raise ModelResponseError(
            f"{url} answered {exc.code}: the server does not expose vLLM metrics there."
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelConnectionError(
            f"Cannot read {url}: {reason}. Is the vLLM server running?"
        ) from None
    return parse_prefix_cache_counters(text)
