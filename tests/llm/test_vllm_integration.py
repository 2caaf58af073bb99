"""ModelClient against a real vLLM server on the CPU, serving the tiny random-weight model.

One server for the whole module, started the way a user starts it: ``contextos serve`` as a
subprocess (which runs vLLM's OpenAI server from the ``.venv-vllm`` interpreter). The last test
stops it with SIGINT and checks that the port is free and no vLLM process is left.
The model's words are gibberish; the engine, protocol, tokenization, batching and caches are real.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from contextos import (
    Agent,
    Budget,
    ChatTemplateCounter,
    ContextItem,
    StaticSource,
    Tool,
    VllmTokenize,
)
from contextos.errors import ContextWindowExceededError, ModelError, ModelRequestError
from contextos.llm import ModelClient, RetryPolicy
from contextos.llm.vllm_metrics import read_prefix_cache_counters
from contextos.testing.tiny_model import TINY_MODEL_NAME
from tests.conftest import ROOT
from tests.llm.conftest import vllm_python

pytestmark = pytest.mark.vllm

BLOCK = 32
"""vLLM's KV block size for this server (the CPU backend needs a multiple of 32)."""
MAX_MODEL_LEN = 4096
NO_RETRY = RetryPolicy(max_attempts=1)


@dataclass
class Served:
    process: subprocess.Popen[str]
    model: str
    api_base: str
    port: int
    log: Path
    model_dir: Path
    """The served folder: its tokenizer and chat template are what contextos counts with."""

    @property
    def root(self) -> str:
        return self.api_base.removesuffix("/v1")

    def client(self, **kwargs: object) -> ModelClient:
        return ModelClient(self.model, api_base=self.api_base, timeout=180, **kwargs)


def _interruptible() -> None:
    """In the child before exec: SIGINT back to its default disposition."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _read_lines_until(
    process: subprocess.Popen[str], wanted: set[str], timeout: float
) -> dict[str, str]:
    """Read ``key: value`` lines from the process's stdout until every wanted key was seen."""
    found: dict[str, str] = {}

    def reader() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            key, _, value = line.partition(":")
            if key.strip() in wanted:
                found[key.strip()] = value.strip()
            if wanted <= found.keys():
                return

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    thread.join(timeout)
    return found


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[Served]:
    python = vllm_python()
    tmp = tmp_path_factory.mktemp("vllm")
    model_dir = tiny_model_dir

    log = tmp / "vllm.log"
    stderr = (tmp / "serve.stderr").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "contextos",
            "serve",
            str(model_dir),
            "--port",
            "0",
            "--python",
            str(python),
            "--log",
            str(log),
            "--wait-timeout",
            "400",
            "--served-model-name",
            TINY_MODEL_NAME,
            "--max-model-len",
            str(MAX_MODEL_LEN),
            "--block-size",
            str(BLOCK),
            "--kv-cache-memory-bytes",
            str(64 << 20),
            "--enforce-eager",
            "--enable-prompt-tokens-details",
        ],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        # the tests stop it with SIGINT, which a shell's background job (pytest started with `&`) inherits
        # as ignored: Python then installs no KeyboardInterrupt for it
        preexec_fn=_interruptible,
    )
    found = _read_lines_until(process, {"model", "api_base"}, timeout=420)
    if len(found) < 2:
        process.send_signal(signal.SIGINT)
        process.wait(60)
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        pytest.fail(
            f"contextos serve did not print the model and api_base: {(tmp / 'serve.stderr').read_text()}\n{tail}"
        )
    port = int(re.search(r":(\d+)/v1$", found["api_base"]).group(1))
    yield Served(process, found["model"], found["api_base"], port, log, model_dir)
    if process.poll() is None:  # the last test stops it; this is the safety net
        process.send_signal(signal.SIGINT)
        process.wait(120)
    stderr.close()


def _tokens(served: Served, messages: list[dict]) -> int:
    """vLLM's own count of the prompt tokens of ``messages`` (its /tokenize endpoint, chat template applied)."""
    body = json.dumps({"model": TINY_MODEL_NAME, "messages": messages}).encode()
    request = urllib.request.Request(
        f"{served.root}/tokenize", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)["count"]


def _words(n: int, seed: int) -> str:
    vocab = (
        "context",
        "memory",
        "tool",
        "agent",
        "budget",
        "prefix",
        "cache",
        "token",
        "search",
        "the",
        "a",
        "step",
        "model",
        "answer",
        "document",
        "window",
        "query",
        "summary",
        "user",
        "result",
    )
    return " ".join(vocab[(i * 7 + seed * 13 + i // 5) % len(vocab)] for i in range(n))


def test_serve_printed_the_litellm_model_string_and_api_base(served: Served) -> None:
    assert served.model == f"hosted_vllm/{TINY_MODEL_NAME}"
    assert served.api_base == f"http://127.0.0.1:{served.port}/v1"
    with urllib.request.urlopen(f"{served.root}/v1/models", timeout=30) as response:
        assert [m["id"] for m in json.load(response)["data"]] == [TINY_MODEL_NAME]


async def test_completion_and_usage_match_the_servers_token_counts(served: Served) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is context engineering?"},
    ]
    completion = await served.client().acomplete(
        messages, max_tokens=8, extra_body={"ignore_eos": True, "min_tokens": 8}
    )
    assert isinstance(completion.content, str) and completion.content
    assert completion.finish_reason == "length"
    assert completion.usage.prompt_tokens == _tokens(served, messages)
    assert completion.usage.completion_tokens == 8
    assert completion.model == served.model and not completion.offline


def _weather_tools() -> list[Tool]:
    def get_weather(city: str, unit: str = "celsius") -> str:
        """The current weather in a city."""
        return city

    def search_documents(query: str, top_k: int = 5) -> str:
        """Search the knowledge base for passages about a query."""
        return query

    def convert_currency(amount: float, source: str, target: str) -> str:
        """Convert an amount of money from one currency to another."""
        return source

    def book_table(restaurant: str, people: int, time: str) -> str:
        """Book a table at a restaurant for a number of people at a time."""
        return restaurant

    return [
        Tool.from_function(f) for f in (get_weather, search_documents, convert_currency, book_table)
    ]


async def test_an_agents_assembled_request_costs_the_server_exactly_what_contextos_counted(
    served: Served,
) -> None:
    documents = StaticSource(
        "documents",
        [
            ContextItem(
                id=f"doc-{i}",
                source="documents",
                score=0.4 + 0.05 * i,
                content=f"Note {i}: " + _words(60, 10 + i),
            )
            for i in range(8)
        ],
    )
    budget = Budget(context_window=1_400, reserve_output=8)
    agent = Agent(
        served.client(),
        tools=_weather_tools(),
        sources=[documents],
        budget=budget,
        tokenizer=served.model_dir,
        model_params={"max_tokens": 1, "tool_choice": "none"},
    )
    result = await agent.arun(
        "What is the weather in Paris, and what do my notes say about it?", max_steps=1
    )
    step = result.steps[0]
    usage, messages, tools = step.context.usage, step.context.messages, step.context.tools
    # under pressure
    assert len(tools) == 4 and any(d.status.value == "dropped" for d in step.context.decisions)
    assert (
        usage.counted_with == "template:tiny-llama, checked by vllm:/tokenize"
        and not usage.estimated
    )
    served_prompt = step.usage.prompt_tokens
    # the local template count is exact
    assert agent.counter.local.count_request(messages, tools) == served_prompt
    assert usage.request_tokens == served_prompt <= budget.available
    assert (
        VllmTokenize(served.api_base, served.model).count_request(messages, tools) == served_prompt
    )


async def test_a_conversation_with_tool_calls_counts_the_same_locally_and_on_the_server(
    served: Served,
) -> None:
    tools = [t.schema() for t in _weather_tools()]
    messages = [
        {"role": "system", "content": "You help with the weather."},
        {"role": "user", "content": "Weather in Paris and in Oslo? Ünïcode 🚀 too."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "arguments": '{"city": "Oslo", "unit": "celsius"}',
                    },
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "Sunny, 21 C"},
        {"role": "tool", "tool_call_id": "call_2", "name": "get_weather", "content": "Rain, 9 C"},
    ]
    local = ChatTemplateCounter(served.model_dir)
    completion = await served.client().acomplete(
        messages, tools=tools, tool_choice="none", max_tokens=1
    )
    assert local.count_request(messages, tools) == completion.usage.prompt_tokens
    assert (
        await VllmTokenize(served.api_base, served.model).acount_request(messages, tools)
        == completion.usage.prompt_tokens
    )


async def test_streaming_yields_several_deltas_that_add_up_to_the_completion(
    served: Served,
) -> None:
    stream = served.client().astream(
        [{"role": "user", "content": "Tell me a story."}],
        max_tokens=12,
        extra_body={"ignore_eos": True, "min_tokens": 12},
    )
    deltas = [delta async for delta in stream]
    assert len(deltas) > 1
    assert "".join(deltas) == stream.completion.content
    assert stream.completion.usage.completion_tokens == 12


async def test_twenty_concurrent_calls_all_answer(served: Served) -> None:
    client = served.client()
    prompts = [f"Question {i}: {_words(10, i)}?" for i in range(20)]
    completions = await asyncio.gather(
        *(
            client.acomplete(
                [{"role": "user", "content": p}],
                max_tokens=4,
                extra_body={"ignore_eos": True, "min_tokens": 4},
            )
            for p in prompts
        )
    )
    assert len(completions) == 20
    answers = [(c.usage.completion_tokens, c.finish_reason, c.content) for c in completions]
    assert all(tokens == 4 and finish == "length" for tokens, finish, _ in answers), answers
    # four tokens of random weights may all be ones the server leaves out of the text (special tokens),
    # so text is asked of the answers, not of each (one of twenty failed "4 tokens and some text" once)
    assert any(text for _, _, text in answers), answers
    assert len({c.usage.prompt_tokens for c in completions}) > 1  # each prompt was its own request


async def test_a_prompt_longer_than_the_context_raises_context_window_exceeded_without_retry(
    served: Served,
) -> None:
    messages = [{"role": "user", "content": _words(5000, 1)}]
    with pytest.raises(ContextWindowExceededError) as raised:
        await served.client().acomplete(messages, max_tokens=4)
    assert raised.value.attempts == 1
    assert str(MAX_MODEL_LEN) in str(raised.value) or "context" in str(raised.value).lower()


async def test_structured_output_either_follows_the_schema_or_fails_with_a_clear_model_error(
    served: Served,
) -> None:
    # Random weights may make guided decoding fail; what matters is that a failure says what happened.
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    response_format = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
    try:
        completion = await served.client(retry=NO_RETRY).acomplete(
            [{"role": "user", "content": "Which city? Answer in JSON."}],
            max_tokens=48,
            response_format=response_format,
        )
    except ModelError as exc:
        print(f"guided decoding failed, as it may on random weights: {type(exc).__name__}: {exc}")
        assert exc.model == served.model
        assert len(str(exc)) > 20
        return
    print(f"guided decoding answered ({completion.finish_reason}): {completion.content!r}")
    if completion.finish_reason == "stop":
        assert set(json.loads(completion.content)) == {"city"}
    else:  # cut off by max_tokens: what was generated is still a JSON object under way
        assert completion.content.lstrip().startswith("{")


async def test_structured_outputs_constrain_the_answer_even_on_random_weights(
    served: Served,
) -> None:
    # vLLM's own structured-output parameter passes through extra_body; its engine enforces the choice.
    completion = await served.client(retry=NO_RETRY).acomplete(
        [{"role": "user", "content": "Is Paris in France?"}],
        max_tokens=8,
        extra_body={"structured_outputs": {"choice": ["yes", "no"]}},
    )
    assert completion.content in ("yes", "no")


async def test_a_schema_vllm_cannot_compile_fails_with_its_reason_and_no_retry(
    served: Served,
) -> None:
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": {"type": "nonsense"}},
    }
    with pytest.raises(ModelRequestError) as raised:
        await served.client().acomplete(
            [{"role": "user", "content": "Which city?"}],
            max_tokens=8,
            response_format=response_format,
        )
    assert type(raised.value) is ModelRequestError
    # vLLM's words, not a generic failure
    assert "Grammar error" in str(raised.value) and "nonsense" in str(raised.value)
    assert raised.value.attempts == 1 and raised.value.model == served.model


async def test_tool_calls_on_a_server_without_a_tool_parser_fail_with_vllms_reason_and_no_retry(
    served: Served,
) -> None:
    # This server runs without --tool-call-parser (as many do by mistake): vLLM refuses tool_choice with a
    # 400 that names the missing flag, and the error must carry that reason rather than a generic failure.
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
    with pytest.raises(ModelRequestError) as raised:
        await served.client().acomplete(
            [{"role": "user", "content": "Weather in Paris?"}],
            tools=[tool],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            max_tokens=16,
        )
    assert "--tool-call-parser" in str(raised.value)
    assert raised.value.attempts == 1 and raised.value.model == served.model


async def test_prompts_sharing_a_long_prefix_hit_vllms_prefix_cache(served: Served) -> None:
    client = served.client(temperature=0)
    prefix = [{"role": "system", "content": f"Instructions {time.time_ns()}: " + _words(400, 2)}]
    first = [*prefix, {"role": "user", "content": "First question about " + _words(20, 3)}]
    second = [*prefix, {"role": "user", "content": "Second question about " + _words(20, 4)}]
    shared = _tokens(served, prefix)
    assert shared > 4 * BLOCK, "the shared prefix must span several KV blocks"

    before = read_prefix_cache_counters(served.api_base)
    await client.acomplete(first, max_tokens=2)
    middle = read_prefix_cache_counters(served.api_base)
    answer = await client.acomplete(second, max_tokens=2)
    after = read_prefix_cache_counters(served.api_base)

    assert (middle - before).queries >= _tokens(served, first) - 1
    reused = after - middle
    # whole blocks of the shared prefix were reused
    assert reused.hits >= (shared // BLOCK - 1) * BLOCK
    assert reused.hits <= reused.queries
    # the server's usage report agrees with its metrics
    assert answer.usage.cached_tokens == reused.hits


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(int(entry.name))
    return alive


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry.name))
    return kids


def test_sigint_stops_the_server_frees_the_port_and_leaves_no_process(served: Served) -> None:
    # Runs last (file order): it stops the module's server.
    vllm_pids = _children(served.process.pid)
    assert vllm_pids, "contextos serve should have a vLLM child process"
    assert _group_alive(vllm_pids[0])  # the API server leads a group holding its engine and workers
    served.process.send_signal(signal.SIGINT)
    assert served.process.wait(timeout=90) == 0
    deadline = time.monotonic() + 10
    while _group_alive(vllm_pids[0]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _group_alive(vllm_pids[0]) == []
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", served.port))  # raises if something still listens there


def test_a_model_vllm_cannot_load_ends_serve_with_its_reason(cli, tmp_path) -> None:
    python = vllm_python()
    if python is None:
        pytest.skip("no vLLM interpreter: set CONTEXTOS_VLLM_PYTHON or run scripts/test")
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    log = tmp_path / "vllm.log"
    run = cli(
        "serve",
        str(empty),
        "--port",
        "0",
        "--python",
        str(python),
        "--log",
        str(log),
        "--wait-timeout",
        "300",
        timeout=360,
    )
    assert run.returncode == 1
    assert "vLLM exited with code 1 before it was ready" in run.stderr
    # vLLM's own reason, from the log's tail
    assert "Invalid repository ID or local directory" in run.stderr
    assert run.stdout == ""
