"""The root typer app; command modules register themselves on it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from typer.core import TyperGroup

from ecgbench.cli._format import err
from ecgbench.cli._numbers import finite_numbers
from ecgbench.errors import EcgbenchError, ExitCode, os_error_line


class _Group(TyperGroup):
    """Turns a user error anywhere below into one red line and its exit code (no traceback)."""

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        finite_numbers(self)  # every command's numeric options: no NaN, no infinity
        try:
            return super().invoke(ctx)
        except EcgbenchError as e:
            err.print(f"[red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
            raise typer.Exit(e.exit_code) from None
        except OSError as e:  # a full disk, a read-only folder: the environment, said in one line
            err.print(f"[red]error:[/] {escape(os_error_line(e))}", highlight=False, soft_wrap=True)
            raise typer.Exit(ExitCode.BAD_INPUT) from None


app = typer.Typer(
    cls=_Group,
    help="Which ECG model, on which device, at which precision, is fast enough and still accurate?",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from ecgbench import __version__

        typer.echo(f"ecgbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit"
        ),
    ] = False,
) -> None:
    """Which ECG model, on which device, at which precision, is fast enough and still accurate?"""
