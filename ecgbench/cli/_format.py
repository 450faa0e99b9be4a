"""The consoles and cell formatting every command shares."""

from __future__ import annotations

import sys

from rich.console import Console

# Wide tables stay readable when piped to a file or a CI log.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def fmt(v: object, digits: int = 3) -> str:
    """A table cell: "–" for None/NaN, fixed digits for floats."""
    if v is None or (isinstance(v, float) and v != v):  # None or NaN
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)
