"""The consoles and cell formatting every command shares."""

from __future__ import annotations

import os
import sys

from rich.console import Console

# Wide tables stay readable when piped to a file or a CI log; COLUMNS, where set, is the width.
_SIZED = "COLUMNS" in os.environ
out = Console(width=None if sys.stdout.isatty() or _SIZED else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() or _SIZED else 200)


def fmt(v: object, digits: int = 3) -> str:
    """A table cell: "–" for None/NaN, fixed digits for floats."""
    if v is None or (isinstance(v, float) and v != v):  # None or NaN
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def print_wide(renderable: object) -> None:
    """Print at the renderable's natural width, wider than the terminal if need be (``--wide``)."""
    width = max(
        out.width, out.measure(renderable, options=out.options.update(width=10_000)).maximum
    )
    Console(
        file=out.file, width=width, color_system=out.color_system, force_terminal=out.is_terminal
    ).print(renderable)
