"""One rule for names that become paths or selectors, and one check that a path stays in its root.

A model or run name ends up in a file name (``models/<name>.pt``, ``int8/<name>/…``,
``<run_id>.json``) and in a selector (``--model a,b`` or ``all``), so it is a plain identifier:
letters, digits, ``_ . + -``, starting with a letter or digit, no ``..``. A machine name is only
ever shown (tables, Markdown, plots), so it may hold spaces and punctuation, but no control
characters; the renderers escape it (``ecgbench/markup.py``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ecgbench.errors import BadInputError

_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+:-]{0,127}")  # ":" of an ISO time is allowed
RESERVED = frozenset({"all"})  # selects every model: a model of that name could never be chosen
MAX_LABEL = 200


def check_identifier(name: object, what: str = "name") -> str:
    """``name`` if it is a safe identifier, else one clear line (exit 2)."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name) or ".." in name:
        raise BadInputError(
            f"{what} {name!r} is not a plain name: use letters, digits and _ . + - "
            "(starting with a letter or digit, at most 128 characters, no '..')"
        )
    if name.lower() in RESERVED:
        raise BadInputError(f"{what} {name!r} is reserved (it selects every model)")
    return name


def check_model_name(name: object) -> str:
    return check_identifier(name, "model name")


def check_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id) or ".." in run_id:
        raise BadInputError(
            f"run id {run_id!r} is not a plain name: use letters, digits and _ . + - : "
            "(at most 128 characters, no '..')"
        )
    return run_id


def check_label(label: object, what: str = "machine name") -> str:
    """A display name: any printable text without control characters, at most 200 characters."""
    if (
        not isinstance(label, str)
        or not label.strip()
        or len(label) > MAX_LABEL
        or any(not ch.isprintable() for ch in label)
    ):
        raise BadInputError(
            f"{what} {label!r} must be printable text of 1 to {MAX_LABEL} characters "
            "(no newlines or control characters)"
        )
    return label


def inside(root: str | os.PathLike[str], path: str | os.PathLike[str], what: str = "path") -> Path:
    """``root / path`` resolved, after checking that it stays inside ``root`` (symlinks followed).

    An absolute ``path``, ``..`` or a symlink out of ``root`` is refused in one line.
    """
    root_r = Path(root).resolve()
    if "\0" in str(path):
        raise BadInputError(f"{what} {str(path)!r} contains a NUL byte")
    target = (root_r / path).resolve()
    if target != root_r and root_r not in target.parents:
        raise BadInputError(f"{what} {str(path)!r} leads outside {root_r}")
    return target
