"""OTLP export to a real HTTP collector on 127.0.0.1: spans arrive redacted and, by default, without content."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from contextos.errors import ConfigError
from contextos.tracing import configure_tracing
from tests.tracing.conftest import ACCOUNT, API_KEY, BEARER, traced_agent_run

pytest.importorskip("opentelemetry.exporter.otlp.proto.http", reason="needs the otlp extra")
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


class Collector:
    """An OTLP/HTTP collector that keeps every request body it receives."""

    def __init__(self) -> None:
        bodies: list[tuple[str, bytes]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                bodies.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.bodies = bodies
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self) -> list:
        out = []
        for _, body in self.bodies:
            request = ExportTraceServiceRequest.FromString(body)
            out += [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_collector_gets_redacted_spans_without_content(tmp_path):
    collector = Collector()
    try:
        # shutdown() flushes the batch
        store, run_id = traced_agent_run(tmp_path, otlp_endpoint=collector.url)
    finally:
        collector.close()
    assert {path for path, _ in collector.bodies} == {"/v1/traces"}
    received = collector.spans()
    assert sorted(s.name for s in received) == sorted(s.name for s in store.spans(run_id))
    assert {s.trace_id.hex() for s in received} == {run_id}
    chat = next(s for s in received if s.name == "chat offline/demo")
    attrs = {a.key: a.value for a in chat.attributes}
    assert attrs["gen_ai.operation.name"].string_value == "chat"
    assert attrs["gen_ai.usage.input_tokens"].int_value > 0
    assert "gen_ai.input.messages" not in attrs and "contextos.request" not in attrs
    tool = next(s for s in received if s.name == "execute_tool lookup_weather")
    assert not {"gen_ai.tool.call.result", "gen_ai.tool.call.arguments"} & {
        a.key for a in tool.attributes
    }
    raw = b"".join(body for _, body in collector.bodies)
    assert (
        API_KEY.encode() not in raw and BEARER.encode() not in raw and b"Weather in Oslo" not in raw
    )
    # the local store beside it still has the content
    local = next(s for s in store.spans(run_id) if s.name == "execute_tool lookup_weather")
    assert "Weather in Oslo" in local.attributes["gen_ai.tool.call.result"]


def test_bad_endpoint_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="http"):
        configure_tracing(trace_dir=tmp_path, otlp_endpoint="127.0.0.1:4318")


def test_a_bad_setting_leaves_the_running_setup_alone(tmp_path):
    running = configure_tracing(trace_dir=tmp_path)
    try:
        with pytest.raises(ConfigError):
            configure_tracing(trace_dir=tmp_path, redact_patterns=["(unclosed"])
        assert running.active
        assert configure_tracing(trace_dir=tmp_path) is running
    finally:
        running.shutdown()


def fetch_report(url: str, token: str) -> str:
    """Fetch the weather report at a url with an access token.

    Args:
        url: Where the report is.
        token: The access token.
    """
    return f"report from {url}: sunny, token {token} accepted"


def _value(v: AnyValue) -> object:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind)


def test_collector_with_content_gets_what_the_local_store_keeps(tmp_path):
    """With content on, the collector gets each span's attributes exactly as the local store keeps
    them: the same content, redacted by the same rules (a key in a tool argument and in the result)."""
    collector = Collector()
    task = (
        f'fetch the weather report "https://example.org/oslo" with token "{API_KEY}" for {ACCOUNT}'
    )
    try:
        store, run_id = traced_agent_run(
            tmp_path,
            tool=fetch_report,
            task=task,
            otlp_endpoint=collector.url,
            otlp_capture_content=True,
        )
    finally:
        collector.close()
    local = {s.span_id: s for s in store.spans(run_id)}
    received = collector.spans()
    assert len(received) == len(local)
    for span in received:
        kept = local[span.span_id.hex()]
        assert span.name == kept.name
        assert {a.key: _value(a.value) for a in span.attributes} == kept.attributes, span.name
    tool = next(s for s in received if s.name == "execute_tool fetch_report")
    attrs = {a.key: a.value.string_value for a in tool.attributes}
    assert json.loads(attrs["gen_ai.tool.call.arguments"]) == {
        "url": "https://example.org/oslo",
        "token": "[REDACTED]",
    }
    assert "report from https://example.org/oslo" in attrs["gen_ai.tool.call.result"]
    chat = next(s for s in received if s.name == "chat offline/demo")
    assert (
        "https://example.org/oslo"
        in {a.key: a.value.string_value for a in chat.attributes}["gen_ai.input.messages"]
    )
    raw = b"".join(body for _, body in collector.bodies)
    assert API_KEY.encode() not in raw and ACCOUNT.encode() not in raw
