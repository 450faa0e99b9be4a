"""Patient-wise folds from ``metadata.csv`` (PTB-XL's ``strat_fold``), never a random split."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ecgbench.errors import BadInputError


@dataclass(frozen=True)
class FoldSplit:
    train: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)
    val: tuple[int, ...] = (9,)
    test: tuple[int, ...] = (10,)

    def role(self, fold: int) -> str | None:
        for name in ("train", "val", "test"):
            if fold in getattr(self, name):
                return name
        return None


def load_folds(data_dir: str | os.PathLike[str]) -> dict[str, int] | None:
    """record name -> fold, from ``DIR/metadata.csv``; ``None`` when the folder has no metadata."""
    meta = Path(data_dir) / "metadata.csv"
    if not meta.is_file():
        return None
    try:
        df = pd.read_csv(meta, usecols=["record", "strat_fold"], dtype={"record": str})
    except (ValueError, pd.errors.ParserError) as e:
        raise BadInputError(f"{meta}: needs columns 'record' and 'strat_fold' ({e})") from None
    df = df.dropna()
    try:
        return {r: int(f) for r, f in zip(df["record"], df["strat_fold"], strict=True)}
    except ValueError as e:
        raise BadInputError(f"{meta}: strat_fold must be a whole number ({e})") from None


def parse_folds(spec: str) -> tuple[int, ...]:
    """``"1-8"`` or ``"1,2,3"`` -> (1, ..., 8)."""
    out: list[int] = []
    try:
        for part in spec.split(","):
            part = part.strip()
            if "-" in part:
                a, b = part.split("-")
                out.extend(range(int(a), int(b) + 1))
            elif part:
                out.append(int(part))
    except ValueError:
        raise BadInputError(f"bad fold list {spec!r}; use e.g. '1-8' or '9' or '1,3,5'") from None
    return tuple(out)
