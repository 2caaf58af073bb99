"""ScriptedModel: a ChatModel test double that needs neither HTTP nor litellm."""

from __future__ import annotations

import subprocess
import sys

import pytest

from contextos import ModelClient, RateLimitedError
from contextos.errors import ContextWindowExceededError, ModelNotFoundError
from contextos.llm import ChatModel
from contextos.testing import Fault, Reply, ScriptedModel
from tests.conftest import ROOT

TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


async def test_script_then_echo_and_recorded_requests() -> None:
    model = ScriptedModel([Reply.tool_call("get_weather", {"city": "Paris"}), "Sunny."])
    first = await model.acomplete(
        [{"role": "user", "content": "Weather?"}], tools=[TOOL], max_tokens=5
    )
    assert first.tool_calls[0].arguments == {"city": "Paris"}
    assert first.finish_reason == "tool_calls"
    second = model.complete([{"role": "user", "content": "Weather?"}])
    assert second.content == "Sunny."
    assert (
        model.complete([{"role": "user", "content": "again"}]).content == "scripted reply to: again"
    )
    assert model.requests[0].tools == [TOOL]
    assert model.requests[0].params == {"max_tokens": 5}
    assert model.pending == 0


def test_faults_raise_the_errors_a_client_would() -> None:
    model = ScriptedModel([Fault.rate_limit(), Fault.context_length(), Fault.status_code(404)])
    for error in (RateLimitedError, ContextWindowExceededError, ModelNotFoundError):
        with pytest.raises(error):
            model.complete([{"role": "user", "content": "x"}])


async def test_stream_and_responder() -> None:
    model = ScriptedModel(
        responder=lambda request: Reply.text(f"{len(request.messages)} messages seen")
    )
    stream = model.astream([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    assert [d async for d in stream] == ["2", " messages", " seen"]
    assert stream.completion.content == "2 messages seen"


def test_both_models_satisfy_the_chat_model_protocol() -> None:
    assert isinstance(ScriptedModel(), ChatModel)
    assert isinstance(ModelClient("offline/demo"), ChatModel)


def test_scripted_model_does_not_import_litellm() -> None:
    code = (
        "import sys; from contextos.testing import ScriptedModel; "
        "ScriptedModel(['hi']).complete([{'role': 'user', 'content': 'x'}]); print('litellm' in sys.modules)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert run.stdout.strip() == "False", run.stderr
