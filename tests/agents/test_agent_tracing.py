"""An agent run is one trace: invoke_agent, a span per step, assembly, chat and execute_tool spans."""

from __future__ import annotations

from contextos.agents import Agent
from contextos.tracing import configure_tracing
from contextos.tracing.store import TraceStore
from tests.agents.conftest import get_weather, tool_then_answer


def test_run_is_recorded_under_its_run_id(server, client, tmp_path):
    server.responder = tool_then_answer
    tracing = configure_tracing(trace_dir=tmp_path)
    try:
        result = Agent(client, name="weather", tools=[get_weather]).run("Weather in Oslo?")
    finally:
        tracing.shutdown()
    assert result.traced
    store = TraceStore(tmp_path)
    spans = store.spans(store.resolve(result.run_id))
    names = [s.name for s in spans]
    assert names.count("invoke_agent weather") == 1
    assert names.count("contextos.step") == 2
    assert names.count("chat hosted_vllm/fake-model") == 2
    assert names.count("execute_tool get_weather") == 1
    assert names.count("contextos.assemble") == 2
    by_id = {s.span_id: s for s in spans}
    for s in spans:
        if s.name.startswith(("chat", "execute_tool", "contextos.assemble")):
            assert by_id[s.parent_span_id].name == "contextos.step"
        if s.name == "contextos.step":
            assert by_id[s.parent_span_id].name == "invoke_agent weather"
    tool = next(s for s in spans if s.name == "execute_tool get_weather")
    assert tool.attributes["gen_ai.tool.call.result"] == "Sunny in Oslo, 21 C"


def test_the_first_run_warms_up_in_its_own_span_before_any_step(tmp_path):
    # litellm's import and the catalog's first reads belong to no step and no model call
    from contextos import ModelClient
    from contextos.tracing import configure_tracing
    from contextos.tracing.store import TraceStore

    tracing = configure_tracing(trace_dir=tmp_path / "traces")
    try:
        agent = Agent(ModelClient("offline/demo"), tools=[])
        first = agent.run("Hello there")
        second = agent.run("Hello again")
    finally:
        tracing.shutdown()
    store = TraceStore(tmp_path / "traces")
    names = [s.name for s in sorted(store.spans(first.run_id), key=lambda s: s.start_time)]
    assert names[1] == "contextos.warmup" and names.index("contextos.warmup") < names.index(
        "contextos.step"
    )
    assert "contextos.warmup" not in {s.name for s in store.spans(second.run_id)}  # once per agent
