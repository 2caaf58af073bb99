"""``contextos complete`` as a real subprocess, against the fake server and the offline backend."""

from __future__ import annotations

import json

from contextos.testing import FakeModelServer, Fault, Reply


def test_complete_against_a_server_configured_by_environment(cli) -> None:
    with FakeModelServer(api_key="k") as server:
        server.enqueue(Reply.text("Paris."))
        env = {
            "CONTEXTOS_MODEL": "hosted_vllm/fake-model",
            "CONTEXTOS_API_BASE": server.api_base,
            "CONTEXTOS_API_KEY": "k",
        }
        run = cli("complete", "Capital of France?", "--json", env=env)
        assert server.completion_requests()[0].body["messages"] == [
            {"role": "user", "content": "Capital of France?"}
        ]
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["content"] == "Paris."
    assert data["offline"] is False
    assert data["model"] == "hosted_vllm/fake-model"
    assert data["usage"]["prompt_tokens"] == 4


def test_complete_offline_says_so(cli) -> None:
    run = cli("complete", "Hello", "--model", "offline/demo")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("[offline]")
    assert "offline backend, no model" in run.stderr


def test_complete_failure_exits_non_zero_with_the_reason(cli) -> None:
    with FakeModelServer() as server:
        server.enqueue(Fault.context_length(4096, 9000))
        run = cli(
            "complete", "Hello", "--model", "hosted_vllm/fake-model", "--api-base", server.api_base
        )
    assert run.returncode == 1
    assert run.stderr.startswith("error: hosted_vllm/fake-model")
    assert "maximum context length is 4096" in run.stderr
    assert "Traceback" not in run.stderr


def test_complete_without_a_model_says_how_to_configure_one(cli, tmp_path) -> None:
    run = cli(
        "complete",
        "Hello",
        env={"CONTEXTOS_CONFIG": "", "CONTEXTOS_MODEL": "", "XDG_CONFIG_HOME": str(tmp_path)},
    )
    assert run.returncode == 1
    assert "No model configured" in run.stderr and "CONTEXTOS_MODEL" in run.stderr


def test_flags_beat_the_environment(cli) -> None:
    with (
        FakeModelServer(api_key="right") as server,
        FakeModelServer(models=("env-model",)) as elsewhere,
    ):
        env = {
            "CONTEXTOS_MODEL": "hosted_vllm/env-model",
            "CONTEXTOS_API_BASE": elsewhere.api_base,
            "CONTEXTOS_API_KEY": "wrong",
        }
        run = cli(
            "complete",
            "Hi",
            "--model",
            "hosted_vllm/fake-model",
            "--api-base",
            server.api_base,
            "--api-key",
            "right",
            "--json",
            env=env,
        )
        assert elsewhere.completion_requests() == []
        assert server.completion_requests()[0].headers["authorization"] == "Bearer right"
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["model"] == "hosted_vllm/fake-model"


def test_a_wrong_api_key_exits_non_zero_saying_which_setting_to_fix(cli) -> None:
    with FakeModelServer(api_key="right") as server:
        run = cli(
            "complete",
            "Hi",
            "--model",
            "hosted_vllm/fake-model",
            "--api-base",
            server.api_base,
            "--api-key",
            "wrong",
        )
        assert len(server.completion_requests()) == 1  # not retried
    assert run.returncode == 1
    assert "refused the api key (401)" in run.stderr and "--api-key" in run.stderr
    assert run.stdout == ""
