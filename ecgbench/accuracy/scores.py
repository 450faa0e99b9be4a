"""What scoring one variant gives: its outputs per record and its scores, intervals and drops."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ecgbench.accuracy.crossfit import CrossfitScope
from ecgbench.data.classes import Weights
from ecgbench.metrics.bootstrap import PairedDrop, ScoreIntervals
from ecgbench.metrics.challenge import ChallengeScores
from ecgbench.zoo import variant_score_key


@dataclass(frozen=True)
class RecordOutputs:
    """What a variant answered on each record: a paired comparison resamples these."""

    names: tuple[str, ...]
    labels: np.ndarray
    binary: np.ndarray
    probs: np.ndarray
    weights: Weights


def _json_float(x: float) -> float | None:
    return x if math.isfinite(x) else None


@dataclass
class VariantScores:
    model: str
    backend: str
    precision: str
    data: str
    folds: list[int]
    n_records: int
    scores: ChallengeScores
    skipped: list[str] = field(default_factory=list)
    artifact: str = ""
    executed: str | None = None  # what ran: f32, bf16, f16, int8+f32, int8+bf16
    # The CPU that ran it: INT8 kernels differ by ISA (AVX2 / VNNI / AMX), and so can the score.
    measured_on: str = ""
    intervals: ScoreIntervals | None = None  # None: bootstrap off
    drop_vs_fp32: tuple[PairedDrop, ...] = ()  # against the FP32 of this model and backend
    outputs: RecordOutputs | None = field(default=None, repr=False, compare=False)
    crossfit: CrossfitScope | None = None  # None: every record on the checkpoint's thresholds

    @property
    def key(self) -> str:
        key = variant_score_key(self.backend, self.precision, self.executed or "?")
        return f"{key}#{self.crossfit.key_suffix}" if self.crossfit else key

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "model": self.model,
            "backend": self.backend,
            "precision": self.precision,
            "executed": self.executed,
            "measured_on": self.measured_on,
            "data": self.data,
            "folds": self.folds,
            "n_records": self.n_records,
            **self.scores.to_json_dict(),
            **(self.crossfit.to_dict() if self.crossfit else {}),
        }
        if self.intervals is not None:
            d["challenge_score_ci95"] = self.intervals.challenge_score.bounds()
            d["auroc_ci95"] = self.intervals.auroc.bounds()
            d["bootstrap"] = {"resamples": self.intervals.n_boot, "seed": self.intervals.seed}
        if self.drop_vs_fp32:
            d["drop_vs_fp32"] = {
                x.metric: {
                    "point": _json_float(x.point),
                    "ci95": x.bounds(),
                    "distinguishable": x.distinguishable,
                }
                for x in self.drop_vs_fp32
            }
        return d
