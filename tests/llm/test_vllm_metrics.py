"""Reading vLLM's prefix-cache counters from a Prometheus endpoint (a real local HTTP server)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from contextos.errors import ModelConnectionError, ModelResponseError
from contextos.llm.serve import free_port
from contextos.llm.vllm_metrics import (
    PrefixCacheCounters,
    metrics_url,
    parse_prefix_cache_counters,
    read_prefix_cache_counters,
)
from contextos.testing import FakeModelServer

EXPOSITION = """\
# HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number of queried tokens.
# TYPE vllm:prefix_cache_queries_total counter
vllm:prefix_cache_queries_total{engine="0",model_name="tiny"} 1200.0
vllm:prefix_cache_queries_total{engine="1",model_name="tiny"} 800.0
vllm:prefix_cache_queries_created{engine="0",model_name="tiny"} 1.79e+09
# TYPE vllm:prefix_cache_hits_total counter
vllm:prefix_cache_hits_total{engine="0",model_name="tiny"} 512.0
vllm:prefix_cache_hits_total{engine="1",model_name="tiny"} 0.0
vllm:external_prefix_cache_hits_total{engine="0",model_name="tiny"} 99.0
"""


@pytest.fixture
def metrics_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = EXPOSITION.encode() if self.path == "/metrics" else b"not found"
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_counters_are_summed_over_engines_and_other_metrics_ignored() -> None:
    counters = parse_prefix_cache_counters(EXPOSITION)
    assert counters == PrefixCacheCounters(queries=2000, hits=512)
    assert counters.hit_rate == pytest.approx(0.256)


def test_the_difference_of_two_readings_is_what_happened_between_them() -> None:
    later = PrefixCacheCounters(queries=2600, hits=1000)
    delta = later - PrefixCacheCounters(queries=2000, hits=512)
    assert (delta.queries, delta.hits) == (600, 488)
    assert PrefixCacheCounters(queries=0, hits=0).hit_rate == 0.0


def test_metrics_live_beside_the_api_base() -> None:
    assert metrics_url("http://h:8000/v1") == "http://h:8000/metrics"
    assert metrics_url("http://h:8000/v1/") == "http://h:8000/metrics"
    assert metrics_url("http://h:8000") == "http://h:8000/metrics"


def test_an_exposition_without_the_counters_is_an_error_that_says_why() -> None:
    with pytest.raises(ModelResponseError, match="vllm:prefix_cache_hits_total"):
        parse_prefix_cache_counters("vllm:prefix_cache_queries_total 3\n")


def test_reading_over_http(metrics_server: str) -> None:
    assert read_prefix_cache_counters(metrics_server) == PrefixCacheCounters(queries=2000, hits=512)


def test_a_server_without_metrics_and_no_server_at_all_are_told_apart() -> None:
    with (
        FakeModelServer() as fake,
        pytest.raises(ModelResponseError, match="does not expose vLLM metrics"),
    ):
        read_prefix_cache_counters(fake.api_base)
    with pytest.raises(ModelConnectionError, match="Is the vLLM server running"):
        read_prefix_cache_counters(f"http://127.0.0.1:{free_port()}/v1", timeout=2)
