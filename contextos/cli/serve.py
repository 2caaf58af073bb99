"""``contextos serve MODEL [vLLM args...]``: run vLLM's OpenAI-compatible server until Ctrl-C."""

from __future__ import annotations

import signal
from pathlib import Path

import typer

from contextos.cli.errors import reported_errors

CONTEXT_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True}
"""Arguments contextos does not know go to vLLM unchanged."""


class _Stop(Exception):
    """Raised by the SIGTERM handler so that the server is stopped on the way out."""


def serve(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="A Hugging Face model id or a local model folder."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on (0 picks a free one)."),
    python: str | None = typer.Option(
        None,
        "--python",
        help="Python interpreter that has vLLM (default: CONTEXTOS_VLLM_PYTHON, else this one).",
    ),
    wait_timeout: float = typer.Option(
        600.0, "--wait-timeout", help="Seconds to wait for the server to become healthy."
    ),
    log: Path | None = typer.Option(
        None, "--log", help="Write vLLM's output to this file instead of stderr."
    ),
) -> None:
    """Start vLLM on MODEL, wait until it is healthy, print the litellm model string and api_base; Ctrl-C stops it.

    Arguments after MODEL that contextos does not know (--max-model-len, --tensor-parallel-size, ...) go to vLLM.
    """
    from contextos.llm.serve import VllmServer

    def _on_sigterm(signum: int, frame: object) -> None:
        raise _Stop()

    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    with reported_errors():
        server = VllmServer(
            model, ctx.args, host=host, port=port, python=python, log=log, wait_timeout=wait_timeout
        )
        try:
            typer.echo(
                f"starting vLLM on {model} at {server.url} (waiting up to {wait_timeout:.0f} s for /health)",
                err=True,
            )
            server.start()
            where = "CPU" if server.install and server.install.cpu else "GPU"
            typer.echo(f"model: {server.litellm_model}")
            typer.echo(f"api_base: {server.api_base}")
            typer.echo(
                f"ready ({server.install.distribution if server.install else 'vllm'} on the {where}). Use it with:\n"
                f"  contextos complete 'Hello' --model {server.litellm_model} --api-base {server.api_base}\n"
                "Ctrl-C stops the server.",
                err=True,
            )
            code = server.wait()
            typer.echo(f"error: vLLM exited by itself with code {code}", err=True)
            raise typer.Exit(code if code and code > 0 else 1)
        except (KeyboardInterrupt, _Stop):
            typer.echo("stopping vLLM...", err=True)
        finally:
            server.stop()
            signal.signal(signal.SIGTERM, previous)
    typer.echo("vLLM stopped.", err=True)
