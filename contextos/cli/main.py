"""The ``contextos`` entry point. Each command group lives in its own module and imports heavy
libraries inside its functions, so that ``contextos --help`` stays fast."""

from __future__ import annotations

import typer

from contextos.cli import assemble, complete, demo, serve, tools, trace
from contextos.cli import compress as compress_cli
from contextos.cli import demos as demos_cli
from contextos.cli import memory as memory_cli
from contextos.cli import playbook as playbook_cli
from contextos.version import __version__

app = typer.Typer(
    name="contextos",
    help="Agentic context engineering: assemble, dispatch and trace what a model sees at each step.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("assemble")(assemble.assemble)
app.add_typer(tools.app, name="tools")
app.command("complete")(complete.complete)
app.add_typer(trace.app, name="trace")
app.command("demo")(demo.demo)
app.add_typer(memory_cli.app, name="memory")
app.add_typer(demos_cli.app, name="demos")
app.command("serve", context_settings=serve.CONTEXT_SETTINGS)(serve.serve)
app.add_typer(playbook_cli.app, name="playbook")
app.command("compress")(compress_cli.compress)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"contextos {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Agentic context engineering: assemble, dispatch and trace what a model sees at each step."""


def main() -> None:
    app()
