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
