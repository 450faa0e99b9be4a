"""The ``ecgbench`` command line: thin command modules over the library, printed with rich.

One module per command group; each registers its commands on :data:`app`. No logic of its own.
"""

from __future__ import annotations

import importlib
import sys

from rich.markup import escape

from ecgbench.cli._app import app
from ecgbench.cli._format import err
from ecgbench.errors import EcgbenchError

__all__ = ["app", "main"]

# Registration order is the order of `ecgbench --help`: the everyday commands first.
for _module in (
    "run",
    "export",
    "evaluate",
    "stream_accuracy",
    "report",
    "gate",
    "baseline",
    "studies",
    "store",
    "zoo",
    "data",
    "train",
):
    importlib.import_module(f"ecgbench.cli.{_module}")


def main() -> None:
    """Console entry point: user errors become one line on stderr and a non-zero exit."""
    try:
        app()
    except EcgbenchError as e:  # raised outside a command (e.g. while parsing)
        err.print(f"[red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        sys.exit(130)
