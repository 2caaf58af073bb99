"""The OpenAI Agents SDK, as its docs show it: an ``Agent`` with three ``function_tool``s run by
``Runner.run``, traced by the SDK's default processor (``BatchTraceProcessor``, queue and
background export thread) whose exporter writes each trace and span's ``export()`` payload (what
the SDK would send to OpenAI's backend) as a JSON line to a local file: the SDK's docs' way of
sending traces elsewhere (``set_trace_processors``), and no network.

The model is a scripted ``Model`` (the interface every SDK model implements): first a call of
``lookup_weather``, then an answer, so a run is two steps, as contextos's offline agent's. Like the
SDK's own model classes it opens a ``generation_span`` around each call, with the messages and the
output as its data when the run includes sensitive data (the SDK's default).

``trace`` requests: rounds of an untraced run (``RunConfig(tracing_disabled=True)``) and a traced
one, in turn; per step, wall and CPU time (the process's, every thread: the exporter's thread
counted), the processor flushed at the end of each traced run so its writes are in the time.
"""

from __future__ import annotations

import json
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from agents import Agent, ModelSettings, RunConfig, Runner, function_tool, set_trace_processors
from agents.items import ModelResponse
from agents.models.interface import Model
from agents.tracing import generation_span
from agents.tracing.processor_interface import TracingExporter
from agents.tracing.processors import BatchTraceProcessor
from agents.usage import Usage
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)
from peer_common import serve


# The same three tools as benchmarks/tracing.py's offline agent has.
@function_tool
def lookup_weather(city: str) -> str:
    """Look up the weather for a city.

    Args:
        city: The city name.
    """
    return f"Weather in {city}: 4 C, light rain, wind 6 m/s from the north-west. " * 8


@function_tool
def convert_currency(amount: float, source: str, target: str) -> str:
    """Convert an amount of money from one currency to another.

    Args:
        amount: How much.
        source: Currency code to convert from.
        target: Currency code to convert to.
    """
    return f"{amount} {source} = {amount * 1.1:.2f} {target}"


@function_tool
def search_flights(origin: str, destination: str) -> str:
    """Search flights between two airports.

    Args:
        origin: IATA code of the origin airport.
        destination: IATA code of the destination airport.
    """
    return f"3 flights from {origin} to {destination}"


class JsonlExporter(TracingExporter):
    """Each exported trace and span as one JSON line in a local file."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("a", encoding="utf-8")

    def export(self, items: list[Any]) -> None:
        lines = [json.dumps(p, default=str) for p in (i.export() for i in items) if p]
        self._file.write("".join(line + "\n" for line in lines))
        self._file.flush()


class ScriptedModel(Model):
    """Calls ``lookup_weather`` first, answers once the tool's result is in the input."""

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[Any],
        model_settings: ModelSettings,
        tools: list[Any],
        output_schema: Any,
        handoffs: list[Any],
        tracing: Any,
        **_: Any,
    ) -> ModelResponse:
        items = [{"role": "user", "content": input}] if isinstance(input, str) else list(input)
        answered = any(
            (i if isinstance(i, dict) else i.model_dump()).get("type") == "function_call_output"
            for i in items
        )
        with generation_span(model="scripted", disabled=tracing.is_disabled()) as span:
            if answered:
                text = "It is 4 C with light rain in Oslo: wear a warm waterproof jacket."
                output: list[Any] = [
                    ResponseOutputMessage(
                        id="msg_1",
                        type="message",
                        role="assistant",
                        status="completed",
                        content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
                    )
                ]
            else:
                output = [
                    ResponseFunctionToolCall(
                        id="fc_1",
                        call_id="call_1",
                        type="function_call",
                        name="lookup_weather",
                        arguments='{"city": "Oslo"}',
                        status="completed",
                    )
                ]
            if tracing.include_data():
                span.span_data.input = [
                    {"role": "system", "content": system_instructions},
                    *(i if isinstance(i, dict) else i.model_dump() for i in items),
                ]
                span.span_data.output = [o.model_dump() for o in output]
        return ModelResponse(output=output, usage=Usage(requests=1), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the benchmark runs without streaming")


async def timed_run(agent: Agent, task: str, traced: bool, processor: Any) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    result = await Runner.run(agent, task, run_config=RunConfig(tracing_disabled=not traced))
    if traced:
        processor.force_flush()
    steps = len(result.raw_responses)
    return (time.perf_counter() - t0) / steps, (time.process_time() - c0) / steps


async def trace_task(request: dict[str, Any]) -> dict[str, Any]:
    agent = Agent(
        name="bench",
        instructions="Answer with the tools you have.",
        model=ScriptedModel(),
        tools=[lookup_weather, convert_currency, search_flights],
    )
    per_step: dict[str, dict[str, list[float]]] = {
        m: {"wall": [], "cpu": []} for m in ("off", "on")
    }
    with tempfile.TemporaryDirectory() as folder:
        processor = BatchTraceProcessor(JsonlExporter(Path(folder) / "traces.jsonl"))
        set_trace_processors([processor])
        runs = 0
        for r in range(-3, request["rounds"]):  # three rounds of warm-up
            for mode in ("off", "on") if r % 2 else ("on", "off"):
                runs += 1
                wall, cpu = await timed_run(
                    agent, f"{request['input']} (request {runs})", mode == "on", processor
                )
                if r >= 0:
                    per_step[mode]["wall"].append(wall)
                    per_step[mode]["cpu"].append(cpu)
        processor.shutdown()
        lines = (Path(folder) / "traces.jsonl").read_text().count("\n")
    return {"per_step": per_step, "lines_written": lines}


def handle(request: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    return asyncio.run(trace_task(request))


if __name__ == "__main__":
    serve(f"openai-agents {version('openai-agents')}", {"trace": handle})
