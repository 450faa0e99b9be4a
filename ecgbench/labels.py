"""A record's truth as a card's ``labels`` says to read it: SNOMED codes or PTB-XL statements.

``snomed``: the header's ``#Dx`` codes, with the Challenge's equivalent codes merged (a class
``164909002`` also counts ``733534002``, as the Challenge scores them). ``ptbxl-superclass`` and
``ptbxl-statement``: the ``scp_codes`` column of the folder's ``metadata.csv`` (every statement
listed, whatever its likelihood, as PTB-XL's own benchmark reads them), through the statement
table carried in :mod:`ecgbench.data.ptbxl_statements`. A mapping is never guessed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import numpy as np

from ecgbench.data.classes import SCORED_CLASSES
from ecgbench.data.ptbxl_statements import STATEMENT_SUPERCLASS, STATEMENTS, SUPERCLASSES
from ecgbench.errors import BadInputError

_SNOMED = re.compile(r"^\d{6,18}(\|\d{6,18})*$")


def _equivalents() -> dict[str, set[str]]:
    """code -> every code the Challenge scores as the same class."""
    out: dict[str, set[str]] = {}
    for name in SCORED_CLASSES:
        group = set(name.split("|"))
        for c in group:
            out[c] = group
    return out


def check_classes(card: Any, where: str) -> None:
    """Refuse classes that the card's label kind cannot name."""
    if card.labels == "snomed":
        bad = [c for c in card.classes if not _SNOMED.match(c)]
        if bad:
            raise BadInputError(
                f'{where}: labels = "snomed" needs SNOMED CT codes as classes, not '
                f"{', '.join(map(repr, bad[:3]))}"
            )
        return
    vocab = SUPERCLASSES if card.labels == "ptbxl-superclass" else STATEMENTS
    bad = [c for c in card.classes if c not in vocab]
    if bad:
        raise BadInputError(
            f"{where}: {', '.join(map(repr, bad[:3]))} not a PTB-XL "
            f"{'superclass' if card.labels == 'ptbxl-superclass' else 'statement'}"
            + (f" ({', '.join(SUPERCLASSES)})" if card.labels == "ptbxl-superclass" else "")
        )


def is_challenge_classes(classes: tuple[str, ...]) -> bool:
    """True only for exactly the Challenge's 26 scored classes, in its order."""
    return tuple(classes) == SCORED_CLASSES


class Truth:
    """Reads each record's multi-hot truth over ``card.classes`` for one folder."""

    def __init__(self, card: Any, data_dir: Path) -> None:
        self.card = card
        self.scp: dict[str, set[str]] | None = None
        if card.labels == "snomed":
            eq = _equivalents()
            self.sets = [
                set().union(*(eq.get(c, {c}) for c in cls.split("|"))) for cls in card.classes
            ]
        else:
            self.scp = _read_scp_codes(Path(data_dir))

    def of(self, name: str, dx: list[str]) -> np.ndarray | str:
        """The truth vector, or why the record has none."""
        y = np.zeros(len(self.card.classes), dtype=np.float32)
        if self.scp is None:
            codes = {c.strip() for c in dx}
            for i, s in enumerate(self.sets):
                y[i] = float(bool(codes & s))
            return y
        if name not in self.scp:
            return "no scp_codes in metadata.csv"
        stmts = self.scp[name]
        got = (
            {STATEMENT_SUPERCLASS.get(s, "") for s in stmts}
            if self.card.labels == "ptbxl-superclass"
            else stmts
        )
        for i, c in enumerate(self.card.classes):
            y[i] = float(c in got)
        return y


def _read_scp_codes(d: Path) -> dict[str, set[str]]:
    import pandas as pd

    meta = d / "metadata.csv"
    if not meta.is_file():
        raise BadInputError(f"PTB-XL labels need {meta} with a scp_codes column; it is missing")
    try:
        df = pd.read_csv(meta, usecols=["record", "scp_codes"], dtype={"record": str})
    except (ValueError, pd.errors.ParserError):
        raise BadInputError(
            f"{meta}: PTB-XL labels need columns 'record' and 'scp_codes'"
        ) from None
    out: dict[str, set[str]] = {}
    for rec, codes in zip(df["record"], df["scp_codes"], strict=True):
        try:
            parsed = ast.literal_eval(codes) if isinstance(codes, str) else {}
        except (ValueError, SyntaxError):
            continue  # an unreadable cell: that record has no truth and is skipped, named
        if isinstance(parsed, dict):
            out[str(rec)] = {str(k) for k in parsed}
    return out
