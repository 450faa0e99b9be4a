"""The root typer app; command modules register themselves on it."""

from __future__ import annotations

import typer
from rich.markup import escape
from typer.core import TyperGroup

from ecgbench.cli._format import err
from ecgbench.errors import EcgbenchError


class _Group(TyperGroup):
    """Turns a user error anywhere below into one red line and its exit code (no traceback)."""

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except EcgbenchError as e:
            err.print(f"[red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
            raise typer.Exit(e.exit_code) from None


app = typer.Typer(
    cls=_Group,
    help="Which ECG model, on which device, at which precision, is fast enough and still accurate?",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
