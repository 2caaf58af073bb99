"""ModelClient.replicas over two fake vLLM servers on 127.0.0.1: session affinity, failover, errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contextos import Agent
from contextos.errors import (
    AllModelsFailedError,
    ConfigError,
    ContextWindowExceededError,
    ModelConnectionError,
)
from contextos.llm import ModelClient, RetryPolicy, session
from contextos.llm.affinity import ReplicaSet, default_session
from contextos.testing import FakeModelServer, Fault, RecordedRequest, Reply
from contextos.tracing import configure_tracing
from contextos.tracing.store import TraceStore

from .conftest import USER

FAST = RetryPolicy(max_attempts=2, initial_wait_s=0.01, max_wait_s=0.02, jitter_s=0.0)
TOOL_STEPS = 3


def three_lookups(request: RecordedRequest) -> Reply:
    """A model that calls get_weather TOOL_STEPS times, then answers."""
    done = sum(1 for m in request.messages if m["role"] == "tool")
    if done < TOOL_STEPS:
        return Reply.tool_call("get_weather", {"city": f"city-{done}"})
    return Reply.text("All looked up.")


@pytest.fixture
def pair() -> Iterator[tuple[FakeModelServer, FakeModelServer]]:
    with (
        FakeModelServer(responder=three_lookups) as first,
        FakeModelServer(responder=three_lookups) as second,
    ):
        yield first, second


def over(servers: tuple[FakeModelServer, ...], **kwargs: object) -> ModelClient:
    return ModelClient.replicas(
        "hosted_vllm/fake-model",
        [s.api_base for s in servers],
        timeout=10,
        retry=FAST,
        **kwargs,
    )


def tasks_seen(server: FakeModelServer) -> set[str]:
    """The first user message of each chat request the server got (the run's task)."""
    return {
        next(m["content"] for m in r.messages if m["role"] == "user")
        for r in server.completion_requests()
    }


def test_every_step_of_a_run_goes_to_one_replica_and_two_runs_spread(pair) -> None:
    first, second = pair
    calls: list[str] = []

    def get_weather(city: str) -> str:
        """Current weather for a city."""
        calls.append(city)
        return f"Sunny in {city}"

    agent = Agent(over(pair), tools=[get_weather])
    oslo = agent.run("Weather in Oslo?")
    rome = agent.run("Weather in Rome?")
    assert oslo.answer == rome.answer == "All looked up."
    assert len(calls) == 2 * TOOL_STEPS
    # each run's TOOL_STEPS + 1 model calls all on one server; the second run on the other one
    assert len(first.completion_requests()) == len(second.completion_requests()) == TOOL_STEPS + 1
    assert tasks_seen(first) == {"Weather in Oslo?"}
    assert tasks_seen(second) == {"Weather in Rome?"}


async def test_calls_in_a_session_stay_on_one_replica_and_calls_without_one_rotate(pair) -> None:
    first, second = pair
    client = over(pair)
    with session("conversation-42"):
        for _ in range(4):
            await client.acomplete(USER)
    on_first, on_second = len(first.completion_requests()), len(second.completion_requests())
    assert sorted((on_first, on_second)) == [0, 4]
    for _ in range(4):
        await client.acomplete(USER)
    assert len(first.completion_requests()) - on_first == 2
    assert len(second.completion_requests()) - on_second == 2
    assert client.replica_set.pinned("conversation-42").api_base in {
        first.api_base,
        second.api_base,
    }


def test_a_run_moves_to_the_other_replica_when_its_replica_dies_and_the_trace_says_so(
    pair, tmp_path
) -> None:
    servers = {s.api_base: s for s in pair}
    dead: list[str] = []

    def get_weather(city: str) -> str:
        """Current weather for a city."""
        if not dead:  # the first lookup kills the replica this run is on
            serving = next(s for s in pair if s.completion_requests())
            dead.append(serving.api_base)
            serving.stop()
        return f"Sunny in {city}"

    client = over(pair)
    tracing = configure_tracing(trace_dir=tmp_path)
    try:
        result = Agent(client, name="weather", tools=[get_weather]).run("Weather in Oslo?")
    finally:
        tracing.shutdown()
    assert result.answer == "All looked up." and result.stop_reason == "final_answer"
    (gone,) = dead
    alive = next(base for base in servers if base != gone)
    assert len(servers[gone].completion_requests()) == 1  # step 0 only
    assert len(servers[alive].completion_requests()) == TOOL_STEPS  # steps 1..3
    # the second step failed over once, at once (no retry of the dead one), and the session stayed
    assert [(a.api_base, a.outcome) for a in result.steps[1].completion.attempts] == [
        (gone, "ModelConnectionError"),
        (alive, "ok"),
    ]
    assert all(len(s.completion.attempts) == 1 for s in result.steps[2:])
    assert client.replica_set.pinned(result.run_id).api_base == alive

    store = TraceStore(tmp_path)
    chats = sorted(
        (s for s in store.spans(store.resolve(result.run_id)) if s.name.startswith("chat ")),
        key=lambda s: s.start_time,
    )
    assert [c.attributes["contextos.replica"] for c in chats] == [gone] + [alive] * TOOL_STEPS
    assert chats[1].attributes["contextos.replica.failed"] == [gone]
    assert all("contextos.replica.failed" not in c.attributes for c in chats[2:])
    assert chats[1].attributes["server.port"] == int(alive.rsplit(":", 1)[1].split("/")[0])
    assert chats[0].attributes["contextos.replica.session"] == result.run_id
    retry = next(e for e in chats[1].events if e.name == "contextos.retry")
    assert gone in retry.attributes["contextos.retry.cause"]


async def test_all_replicas_dead_raise_all_models_failed_naming_each(pair) -> None:
    client = over(pair)
    bases = [s.api_base for s in pair]
    for server in pair:
        server.stop()
    with pytest.raises(AllModelsFailedError) as caught:
        await client.acomplete(USER)
    error = caught.value
    assert [type(e) for e in error.errors] == [ModelConnectionError, ModelConnectionError]
    assert all(base in str(error) for base in bases)
    assert "All 2 replicas of hosted_vllm/fake-model" in str(error)
    # the first fails over at once; the last one standing is retried as a lone server would be
    assert error.attempts == 1 + FAST.max_attempts
    assert all(state.down_for_s > 0 for state in client.replica_status())
    # marked down, they are still tried: nothing else is left
    with pytest.raises(AllModelsFailedError):
        client.complete(USER)


async def test_a_5xx_fails_over_at_once_and_the_replica_is_tried_last_while_down(pair) -> None:
    first, second = pair
    client = over(pair)
    first.enqueue(Fault.server_error(503))
    with session("s"):
        completion = await client.acomplete(USER)
    assert [(a.api_base, a.outcome) for a in completion.attempts] == [
        (first.api_base, "ModelServerError"),
        (second.api_base, "ok"),
    ]
    assert [s.down_for_s > 0 for s in client.replica_status()] == [True, False]
    await client.acomplete(USER)  # a new call without a session avoids the down replica
    assert len(first.completion_requests()) == 1


async def test_a_bad_request_neither_fails_over_nor_marks_the_replica_down(pair) -> None:
    first, second = pair
    client = over(pair)
    first.enqueue(Fault.context_length())
    with session("s"), pytest.raises(ContextWindowExceededError):
        await client.acomplete(USER)
    assert not second.completion_requests()
    assert all(s.down_for_s == 0 for s in client.replica_status())


def test_complete_and_astream_fail_over_too(pair) -> None:
    import asyncio

    first, second = pair
    second.responder = None  # the default echo
    client = over(pair)
    first.stop()
    with session("sync"):
        assert client.complete(USER).attempts[-1].api_base == second.api_base

    async def stream() -> str:
        with session("streamed"):
            return "".join([d async for d in client.astream(USER)])

    assert asyncio.run(stream()).startswith("fake reply")
    assert len(second.completion_requests()) == 2


def test_a_moved_session_stays_where_it_moved_when_its_first_replica_comes_back() -> None:
    now = [0.0]
    replicas = ReplicaSet(["http://a:8000/v1", "http://b:8000/v1"], down_s=30, clock=lambda: now[0])
    a, b = replicas.replicas
    assert replicas.order("run-1")[0] == a
    replicas.answered(a, "run-1")
    assert replicas.order("run-2")[0] == b  # fewer sessions there
    replicas.answered(b, "run-2")
    replicas.failed(a)
    assert replicas.order("run-1") == [b, a]  # down: tried last
    replicas.answered(b, "run-1")
    now[0] = 31.0  # a is back
    assert replicas.order("run-1") == [b, a]  # run-1's prefix is cached on b now
    assert replicas.order("run-3")[0] == a  # new sessions go where fewer sessions are
    assert [s.sessions for s in replicas.status()] == [0, 2]


def test_pins_are_bounded_and_counted() -> None:
    replicas = ReplicaSet(["http://a/v1", "http://b/v1"], max_sessions=3)
    for i in range(5):
        replicas.answered(replicas.order(f"s{i}")[0], f"s{i}")
    assert replicas.pinned("s0") is None and replicas.pinned("s4") is not None
    assert sum(s.sessions for s in replicas.status()) == 3


def test_an_outer_session_wins_over_a_runs_default() -> None:
    from contextos.llm.affinity import current_session

    with default_session("run-1"):
        assert current_session() == "run-1"
    with session("conversation"), default_session("run-2"):
        assert current_session() == "conversation"
    assert current_session() is None


@pytest.mark.parametrize(
    ("bases", "kwargs", "match"),
    [
        ([], {}, "at least one server URL"),
        ("http://a/v1", {}, "at least one server URL"),
        (["gpu-0:8000"], {}, "http:// or https://"),
        (["http://a/v1", "http://a/v1/"], {}, "given more than once"),
        (["http://a/v1"], {"api_base": "http://b/v1"}, "api_bases"),
        (["http://a/v1"], {"down_s": -1}, "down_s"),
        (["http://a/v1"], {"max_sessions": 0}, "max_sessions"),
    ],
)
def test_bad_replica_settings_raise_config_error(bases, kwargs, match) -> None:
    with pytest.raises(ConfigError, match=match):
        ModelClient.replicas("hosted_vllm/m", bases, **kwargs)


def test_an_offline_model_has_no_replicas() -> None:
    with pytest.raises(ConfigError, match="no replicas"):
        ModelClient.replicas("offline/demo", ["http://a/v1"])
