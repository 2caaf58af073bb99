"""EndpointEmbedder against a real OpenAI-compatible embeddings server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from contextos import EmbeddingError, EndpointEmbedder, HashingEmbedder

DIM = 32


class _Server:
    """An /v1/embeddings server answering with HashingEmbedder vectors (unnormalised, shuffled)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_next: list[int] = []  # statuses to answer before answering normally
        self.delay = 0.0
        self.body_override: bytes | None = None
        outer = self
        model = HashingEmbedder(dimension=DIM)

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(
                    {"path": self.path, "auth": self.headers.get("Authorization"), **body}
                )
                time.sleep(outer.delay)
                if outer.fail_next:
                    self._send(outer.fail_next.pop(0), b'{"error": "overloaded"}')
                    return
                if outer.body_override is not None:
                    self._send(200, outer.body_override)
                    return
                vectors = model.embed(body["input"]) * 3.0  # the client must normalise
                data = [
                    {"object": "embedding", "index": i, "embedding": v.tolist()}
                    for i, v in enumerate(vectors)
                ]
                self._send(
                    200,
                    json.dumps(
                        {"object": "list", "data": data[::-1], "model": body["model"]}
                    ).encode(),
                )

            def _send(self, status: int, payload: bytes):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = _Server()
    yield s
    s.close()


def test_batches_orders_and_normalises(server):
    e = EndpointEmbedder(server.url, "tiny-embed", api_key="sk-test", batch_size=4, dimension=DIM)
    texts = [f"text number {i}" for i in range(10)]
    vectors = e.embed(texts)
    assert [len(r["input"]) for r in server.requests] == [4, 4, 2]
    assert (
        server.requests[0]["path"] == "/v1/embeddings"
        and server.requests[0]["auth"] == "Bearer sk-test"
    )
    np.testing.assert_allclose(vectors, HashingEmbedder(dimension=DIM).embed(texts), atol=1e-6)


def test_dimension_is_asked_of_the_server_and_prefixes_are_sent(server):
    e = EndpointEmbedder(
        server.url, "tiny-embed", query_prefix="query: ", document_prefix="passage: "
    )
    assert e.dimension == DIM
    e.embed(["doc"])
    q = e.embed_query("question")
    assert q.shape == (DIM,)
    assert server.requests[-2]["input"] == ["passage: doc"] and server.requests[-1]["input"] == [
        "query: question"
    ]


def test_retries_overload_then_succeeds(server):
    server.fail_next = [503, 429]
    e = EndpointEmbedder(server.url, "tiny-embed", dimension=DIM, retries=2)
    assert e.embed(["x"]).shape == (1, DIM)
    assert len(server.requests) == 3


def test_client_error_is_not_retried(server):
    server.fail_next = [400]
    e = EndpointEmbedder(server.url, "tiny-embed", dimension=DIM, retries=2)
    with pytest.raises(EmbeddingError, match="answered 400"):
        e.embed(["x"])
    assert len(server.requests) == 1


def test_timeout_is_an_embedding_error(server):
    server.delay = 0.5
    e = EndpointEmbedder(server.url, "tiny-embed", dimension=DIM, timeout=0.1, retries=0)
    with pytest.raises(EmbeddingError, match="did not answer"):
        e.embed(["x"])


def test_unreachable_server_is_an_embedding_error():
    e = EndpointEmbedder("http://127.0.0.1:9/v1", "m", dimension=DIM, retries=0)
    with pytest.raises(EmbeddingError, match="cannot reach"):
        e.embed(["x"])


def test_malformed_answer_and_wrong_dimension(server):
    server.body_override = b'{"unexpected": true}'
    with pytest.raises(EmbeddingError, match="not an embeddings response"):
        EndpointEmbedder(server.url, "m", dimension=DIM).embed(["x"])
    server.body_override = None
    with pytest.raises(EmbeddingError, match="pass the model's real dimension"):
        EndpointEmbedder(server.url, "m", dimension=DIM + 1).embed(["x"])
