"""Model calls record their run: `contextos complete` lands in the store, and failed attempts are retry events."""

from __future__ import annotations

import json

from contextos.agents import Agent
from contextos.llm import ModelClient, RetryPolicy
from contextos.testing import FakeModelServer, Fault, Reply
from contextos.tracing import configure_tracing
from contextos.tracing.store import TraceStore


def test_complete_records_its_run_with_the_retry_and_its_cause(cli, tmp_path):
    traces = tmp_path / "traces"
    with FakeModelServer() as server:
        server.enqueue(Fault.server_error(503), Reply.text("Paris."))
        env = {"CONTEXTOS_MAX_RETRIES": "1", "CONTEXTOS_API_KEY": "sk-PLANTEDcompletekey12345"}
        run = cli(
            "complete",
            "Capital of France?",
            "--model",
            "hosted_vllm/fake-model",
            "--api-base",
            server.api_base,
            "--max-tokens",
            "20",
            "--trace-dir",
            str(traces),
            env=env,
        )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "Paris." and "2 attempt(s)" in run.stderr

    listed = json.loads(cli("trace", "list", "--json", "--trace-dir", str(traces)).stdout)
    assert len(listed) == 1
    (summary,) = listed
    assert summary["name"] == "contextos complete" and summary["status"] == "ok"
    assert (
        summary["models"] == ["hosted_vllm/fake-model"]
        and summary["steps"] == 1
        and summary["tokens"] > 0
    )

    spans = json.loads(cli("trace", "show", "last", "--json", "--trace-dir", str(traces)).stdout)[
        "spans"
    ]
    root = next(s for s in spans if s["parent"] is None)
    chat = next(s for s in spans if s["name"] == "chat hosted_vllm/fake-model")
    assert chat["parent"] == root["span_id"]
    assert chat["attributes"]["gen_ai.request.max_tokens"] == 20
    assert chat["attributes"]["gen_ai.usage.output_tokens"] > 0
    (retry,) = chat["events"]
    assert retry["name"] == "contextos.retry"
    assert retry["attributes"]["contextos.retry.attempt"] == 1
    assert "HTTP 503" in retry["attributes"]["contextos.retry.cause"]
    assert retry["attributes"]["contextos.retry.delay_s"] >= 0
    text = cli("trace", "show", "last", "--trace-dir", str(traces)).stdout
    assert "[retry 1: " in text

    replayed = json.loads(
        cli("trace", "replay", "last", "--step", "0", "--trace-dir", str(traces)).stdout
    )
    assert replayed == {
        "model": "hosted_vllm/fake-model",
        "messages": [{"role": "user", "content": "Capital of France?"}],
        "max_tokens": 20,
    }
    assert b"sk-PLANTEDcompletekey12345" not in b"".join(p.read_bytes() for p in traces.iterdir())


def test_complete_records_nothing_with_tracing_off(cli, tmp_path):
    run = cli(
        "complete",
        "Hello",
        "--model",
        "offline/demo",
        "--trace-dir",
        str(tmp_path / "t"),
        env={"CONTEXTOS_TRACE": "0"},
    )
    assert run.returncode == 0, run.stderr
    assert not (tmp_path / "t").exists()


def test_agent_chat_span_carries_each_failed_attempt(tmp_path):
    with FakeModelServer() as server:
        server.enqueue(
            Fault.server_error(500), Fault.rate_limit(retry_after=0), Reply.text("Done.")
        )
        client = ModelClient(
            "hosted_vllm/fake-model",
            api_base=server.api_base,
            timeout=10,
            retry=RetryPolicy(max_attempts=3, initial_wait_s=0.01, max_wait_s=0.02, jitter_s=0.0),
        )
        tracing = configure_tracing(trace_dir=tmp_path)
        try:
            result = Agent(client, name="flaky").run("Say done.")
        finally:
            tracing.shutdown()
    assert result.answer == "Done."
    (chat,) = [s for s in TraceStore(tmp_path).spans(result.run_id) if s.name.startswith("chat ")]
    events = [e.attributes for e in chat.events if e.name == "contextos.retry"]
    assert [e["contextos.retry.attempt"] for e in events] == [1, 2]
    assert (
        "HTTP 500" in events[0]["contextos.retry.cause"]
        and "RateLimitedError" in events[1]["contextos.retry.cause"]
    )
    assert all(e["contextos.retry.model"] == "hosted_vllm/fake-model" for e in events)
