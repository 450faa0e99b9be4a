"""Ties between variants scored apart: paired intervals from stored bootstrap replicates.

Every variant evaluated on the same records with the same seed draws the same resampled record
indices (:func:`ecgbench.metrics.bootstrap.resample_indices`), so replicate ``b`` of one variant and
replicate ``b`` of another score the same multiset of records. Their per-replicate difference is a
paired bootstrap of the score difference, computable later from the replicate vectors alone: no
record, label or output needs to be kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ecgbench.errors import BadInputError
from ecgbench.statistics import ABOVE, TIE, interval_verdict, percentile_interval

__all__ = ["Replicates", "ScoreDifference", "paired_difference", "records_digest"]


def records_digest(names: Sequence[str]) -> str:
    """sha256 of the record ids in resampling order (the order resampled indices point into).

    The loader reads records sorted by name, so this is the digest of the sorted ids; a different
    order would pair replicate ``b`` of two variants with different records, and is refused too.
    """
    return hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Replicates:
    """One variant's bootstrap replicates of the Challenge score and how they were drawn."""

    values: np.ndarray  # [n_boot] float32, replicate b scored on resample b
    point: float  # the score on all records
    seed: int
    n_records: int
    records_sha256: str

    @property
    def n_boot(self) -> int:
        return int(np.asarray(self.values).shape[0])

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """Percentile interval of the score (as ``bootstrap_scores``, up to float32 rounding)."""
        return percentile_interval(np.asarray(self.values, dtype=np.float64), level)

    def pairs_with(self, other: Replicates) -> str | None:
        """None when replicate b of both scores the same records; else what differs."""
        for what, a, b in (
            ("seed", self.seed, other.seed),
            ("records", self.n_records, other.n_records),
            ("records digest", self.records_sha256[:12], other.records_sha256[:12]),
            ("resamples", self.n_boot, other.n_boot),
        ):
            if a != b:
                return f"{what} {a} vs {b}"
        return None


@dataclass(frozen=True)
class ScoreDifference:
    """Score of the best variant minus another's, with the paired percentile interval."""

    point: float
    lo: float
    hi: float
    level: float

    @property
    def verdict(self) -> str:
        """``tie`` (the interval holds 0), ``worse`` (the other scores lower) or ``better``."""
        v = interval_verdict(self.lo, self.hi)
        return "tie" if v == TIE else ("worse" if v == ABOVE else "better")

    @property
    def tie(self) -> bool:
        return self.verdict == "tie"

    def to_dict(self) -> dict[str, object]:
        return {"point": self.point, "ci": [self.lo, self.hi], "level": self.level}


def paired_difference(
    best: Replicates, other: Replicates, level: float = 0.95, names: tuple[str, str] = ("a", "b")
) -> ScoreDifference:
    """``best`` − ``other`` with the percentile interval of the per-replicate differences.

    Refuses (``BadInputError``) replicates drawn with another seed, count or list of records: their
    replicate ``b`` scores different records, so their difference is not paired.
    """
    if not 0.0 < level < 1.0:
        raise BadInputError(f"interval level must lie strictly between 0 and 1, got {level}")
    why = best.pairs_with(other)
    if why is not None:
        raise BadInputError(
            f"{names[0]} and {names[1]} were not resampled alike ({why}); "
            "their score difference has no paired interval"
        )
    d = np.asarray(best.values, dtype=np.float64) - np.asarray(other.values, dtype=np.float64)
    lo, hi = percentile_interval(d, level)
    return ScoreDifference(best.point - other.point, lo, hi, level)
