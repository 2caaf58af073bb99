"""One sync/async rule (``contextos/blocking.py``): every blocking twin of a public async method takes
exactly its parameters, with the same annotations, and refuses to run inside an event loop with
``RunningLoopError`` pointing at the async one."""

from __future__ import annotations

import importlib
import inspect
import re
import typing
from typing import Any

import pytest

import contextos
from contextos import (
    Agent,
    AgentGraph,
    Budget,
    ContextItem,
    InstructionsSource,
    ModelClient,
    Orchestrator,
    RunningLoopError,
    Step,
)
from tests.test_api_contract import PACKAGES


def public_classes() -> dict[str, type]:
    found: dict[str, type] = {}
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) and value not in found.values():
                found[f"{package}.{name}"] = value
    return found


def is_async(fn: object) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)


def twins(cls: type) -> list[tuple[str, str]]:
    """(async name, sync name) of every public async method of ``cls`` that has a blocking twin."""
    pairs = []
    for name, fn in inspect.getmembers(cls, inspect.isfunction):
        if name.startswith("_") or not is_async(fn):
            continue
        for twin in (name[1:] if name.startswith("a") else None, f"{name}_sync"):
            if twin and callable(getattr(cls, twin, None)):
                pairs.append((name, twin))
    return pairs


FORWARDED = object()
"""The default of an option a twin takes through ``**options: Unpack[...]``: the async method's own."""


def shape(fn: Any) -> list[tuple[str, object, object, object]]:
    """Each parameter's name, kind, resolved annotation and default; ``**options: Unpack[T]`` is read
    as T's keys, keyword-only, with T's annotations."""
    try:
        hints = typing.get_type_hints(fn)
    except NameError:  # a name imported for type checking only: compare the annotations as written
        hints = {}
    params = []
    for p in inspect.signature(fn).parameters.values():
        hint = hints.get(p.name, p.annotation)
        if p.kind is p.VAR_KEYWORD and typing.get_origin(hint) is typing.Unpack:
            (options,) = typing.get_args(hint)
            params += [
                (name, p.KEYWORD_ONLY, annotation, FORWARDED)
                for name, annotation in typing.get_type_hints(options).items()
            ]
        else:
            params.append((p.name, p.kind, hint, p.default))
    return params


def same_shape(a: list[tuple], b: list[tuple]) -> bool:
    return len(a) == len(b) and all(
        (x[:3] == y[:3] and FORWARDED in (x[3], y[3])) or x == y for x, y in zip(a, b, strict=True)
    )


def returns(fn: object) -> str:
    """The return annotation, with ``AsyncIterator`` read as ``Iterator`` (a stream's twin iterates)."""
    annotation = str(inspect.signature(fn).return_annotation)  # type: ignore[arg-type]
    return re.sub(r"\bAsync(Iterator|Iterable|Generator)\b", r"\1", annotation)


def test_the_public_twins_are_found():
    found = {f"{cls.__name__}.{a}/{s}" for cls in public_classes().values() for a, s in twins(cls)}
    # The rule's two spellings are both seen, so the walk below checks something.
    assert {"Agent.arun/run", "Agent.astream/stream", "ModelClient.acomplete/complete"} <= found
    assert {"Orchestrator.build/build_sync", "ExtractivePruner.compress/compress_sync"} <= found


@pytest.mark.parametrize(
    ("cls", "async_name", "sync_name"),
    [
        pytest.param(cls, a, s, id=f"{name}.{a}")
        for name, cls in public_classes().items()
        for a, s in twins(cls)
    ],
)
def test_a_sync_twin_takes_the_parameters_of_its_async_method(cls, async_name, sync_name):
    primary, twin = getattr(cls, async_name), getattr(cls, sync_name)
    assert same_shape(shape(twin), shape(primary)), (
        f"{cls.__name__}.{sync_name} must take exactly the parameters of {async_name}"
    )
    assert returns(twin) == returns(primary)


def test_the_old_stream_name_still_works():
    assert Agent.arun_stream is Agent.astream


def orchestrator() -> Orchestrator:
    return Orchestrator([InstructionsSource("Be brief.")], Budget(context_window=512))


async def test_blocking_twins_in_a_running_loop_name_the_async_one():
    from contextos.compress import default_compressor

    agent = Agent(ModelClient("offline/demo"))
    cases = [
        (lambda: agent.run("hi"), "await agent.arun"),
        (lambda: AgentGraph.from_agents([agent], [], entry="agent").run("hi"), "await graph.arun"),
        (lambda: orchestrator().build_sync(Step(input="hi")), "await orchestrator.build"),
        (
            lambda: default_compressor().compress_sync(
                [ContextItem(id="a", source="documents", content="text")], "q", 10
            ),
            "await compressor.compress",
        ),
    ]
    for call, instead in cases:
        with pytest.raises(RunningLoopError, match=re.escape(instead)):
            call()


def test_a_running_loop_error_is_also_a_runtime_error():
    # asyncio.run raises RuntimeError in the same place: code that caught that keeps working.
    assert issubclass(RunningLoopError, RuntimeError)
    assert issubclass(RunningLoopError, contextos.ContextOSError)


def test_blocking_twins_outside_a_loop_run_to_the_end():
    assembled = orchestrator().build_sync(Step(input="hi"))
    assert assembled.messages[0]["content"] == "Be brief."
