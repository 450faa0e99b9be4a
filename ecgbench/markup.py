"""One escaping rule for text that came from a user or a file and lands in markup.

Names (models, machines, run ids), notes and file names are data: in Markdown they must not open
a heading, a table cell or a comment; in HTML they must not open a tag; in a terminal (rich) they
must not open a style; in a matplotlib figure ``$…$`` must not start math text.
"""

from __future__ import annotations

import html
import re

from rich.markup import escape as _rich_escape

# What opens emphasis, code, links, headings, math or a table cell; <, > and & become entities.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|~$])")


def md(text: object) -> str:
    """Literal text for a Markdown line or table cell: one line, every syntax character escaped."""
    s = " ".join(str(text).split())  # a newline would end the cell and start a heading
    return _MD_SPECIAL.sub(r"\\\1", html.escape(s, quote=False))


def html_text(text: object) -> str:
    """Literal text for HTML content or an attribute value."""
    return html.escape(str(text), quote=True)


def terminal(text: object) -> str:
    """Literal text for a rich table cell or line (``[red]`` in a name stays ``[red]``)."""
    return _rich_escape(str(text))


def literal_figure_text() -> None:
    """Matplotlib draws every string as it is: no ``$…$`` math text, which a name could start
    (and crash the report with, once such a name is in a store)."""
    import matplotlib

    matplotlib.rcParams["text.parse_math"] = False
