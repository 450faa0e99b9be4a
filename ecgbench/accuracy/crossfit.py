"""Cross-fitted decision thresholds: score the validation fold beside the test fold, honestly.

Fold 10 alone is 230 records (one record moves the Challenge score by ~0.005). Fold 9 doubles that,
but the shipped thresholds were tuned on all of fold 9, so scoring fold 9 with them is optimistic.
Cross-fitting removes that: fold 9 is cut into K seeded parts and each part is decided with
thresholds tuned (by the project's own tuner) on the other K−1 parts only, so no record's
decision depends on a threshold tuned on itself. Fold-10 records keep the shipped thresholds.
Probabilities, hence AUROC, do not depend on thresholds at all.

Remaining optimism, and how it is bounded: fold 9 also chose the training epoch (the epoch with
the best fold-9 score after tuning). That is one integer chosen on fold 9's labels, far less freedom
than 26 thresholds, but it can still flatter fold 9, and nothing computed after training can undo
it. So it is measured rather than assumed: fold 10 is untouched by any choice, and
``validation_minus_test`` gives fold 9 (cross-fitted) minus fold 10 with an unpaired bootstrap
interval. An interval that excludes 0 means the pooled score flatters that model (or the folds
differ): read the fold-10 score for it instead (docs/data.md has the zoo's gaps). Thresholds
tuned on (K−1)/K of fold 9 are a little noisier than the shipped ones, a small pessimism. The
bootstrap treats each record's thresholds as fixed, as for fold 10 alone: the interval covers
record sampling, not re-tuning.

Pure functions: arrays and a tuner in, thresholds and decisions out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecgbench.data.classes import Weights
from ecgbench.data.folds import FoldSplit
from ecgbench.errors import BadInputError
from ecgbench.metrics.bootstrap import (
    ScoreIntervals,
    bootstrap_scores,
    resample_indices,
    resampled_scores,
)
from ecgbench.metrics.challenge import score_arrays
from ecgbench.statistics import TIE, interval_verdict, percentile_interval

# (labels [n, C] bool, probs [n, C], weights) -> thresholds [C]: ecgbench.train.thresholds' tuner
Tuner = Callable[[np.ndarray, np.ndarray, Weights], np.ndarray]

CROSSFIT_PARTS = 5
CROSSFIT_SEED = 0
THRESHOLD_MODES = ("checkpoint", "crossfit")


@dataclass(frozen=True)
class Thresholded:
    """Decisions of every record and the thresholds each one used."""

    binary: np.ndarray  # [N, C] bool
    thresholds: np.ndarray  # [N, C]
    part: np.ndarray  # [N]: the held-out part of a cross-fitted record, -1 on shipped thresholds


def parts_of(n: int, k: int = CROSSFIT_PARTS, seed: int = CROSSFIT_SEED) -> np.ndarray:
    """Each of ``n`` records' part 0..k−1: a seeded permutation dealt into k near-equal parts."""
    if k < 2:
        raise BadInputError(f"cross-fitting needs at least 2 parts, got {k}")
    if n < k:
        raise BadInputError(f"cross-fitting: {n} records to tune on, fewer than the {k} parts")
    part = np.empty(n, dtype=np.int64)
    part[np.random.default_rng(seed).permutation(n)] = np.arange(n) % k
    return part


def crossfit_thresholds(
    labels: np.ndarray,
    probs: np.ndarray,
    weights: Weights,
    tuner: Tuner,
    k: int = CROSSFIT_PARTS,
    seed: int = CROSSFIT_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """``[N, C]`` thresholds, each record's tuned on the other k−1 parts; and each record's part."""
    part = parts_of(len(labels), k, seed)
    thr = np.empty(probs.shape, dtype=np.float64)
    for j in range(k):
        held = part == j
        thr[held] = np.asarray(tuner(labels[~held], probs[~held], weights), dtype=np.float64)
    return thr, part


def apply_crossfit(
    labels: np.ndarray,
    probs: np.ndarray,
    weights: Weights,
    shipped: np.ndarray,
    tune_rows: np.ndarray,
    tuner: Tuner,
    k: int = CROSSFIT_PARTS,
    seed: int = CROSSFIT_SEED,
) -> Thresholded:
    """Rows in ``tune_rows`` (the tuning fold) get cross-fitted thresholds, the rest ``shipped``."""
    rows = np.asarray(tune_rows, dtype=bool)
    thr = np.tile(np.asarray(shipped, dtype=np.float64), (len(probs), 1))
    part = np.full(len(probs), -1, dtype=np.int64)
    thr[rows], part[rows] = crossfit_thresholds(labels[rows], probs[rows], weights, tuner, k, seed)
    return Thresholded(probs >= thr, thr, part)


def check_crossfit_folds(
    folds: Sequence[int] | None, val_folds: Sequence[int], train_folds: Sequence[int]
) -> None:
    """Cross-fitting needs the folds the thresholds were tuned on, and no training fold."""
    val = sorted(val_folds)
    if not folds:
        raise BadInputError(f"--thresholds crossfit needs --folds with the validation fold {val}")
    if not set(val) <= set(folds):
        raise BadInputError(
            f"--thresholds crossfit cross-fits the validation fold {val}; --folds must include it"
        )
    if trained := sorted(set(folds) & set(train_folds)):
        raise BadInputError(f"--thresholds crossfit: folds {trained} trained the model")


def crossfit_folds(
    mode: str, folds: Sequence[int] | None, ckpt_data: dict[str, Any], data_dir: Path
) -> tuple[int, ...] | None:
    """The checkpoint's validation folds to cross-fit, None for ``checkpoint`` thresholds; a
    combination that cannot be honest is refused before any record is read."""
    if mode not in THRESHOLD_MODES:
        raise BadInputError(f"--thresholds {mode!r}: use one of {', '.join(THRESHOLD_MODES)}")
    if mode == "checkpoint":
        return None
    split = FoldSplit()
    val = tuple(ckpt_data.get("val_folds", split.val))
    check_crossfit_folds(folds, val, ckpt_data.get("train_folds", split.train))
    if not (Path(data_dir) / "metadata.csv").is_file():
        raise BadInputError(f"--thresholds crossfit: {data_dir} has no metadata.csv with folds")
    return val


@dataclass(frozen=True)
class CrossfitScope:
    """What a cross-fitted score was computed on, for the JSON and the manifest."""

    folds: tuple[int, ...]
    val_folds: tuple[int, ...]
    records_by_fold: dict[int, int]
    k: int = CROSSFIT_PARTS
    seed: int = CROSSFIT_SEED
    by_fold: dict[str, Any] = field(default_factory=dict)  # each fold's scores on its own
    gap: dict[str, Any] = field(default_factory=dict)  # validation − other folds, with intervals

    @property
    def evaluated_on(self) -> str:
        val = "+".join(map(str, self.val_folds))
        return (
            f"folds {'+'.join(map(str, self.folds))} "
            f"(fold {val}: {self.k}-fold cross-fitted thresholds)"
        )

    @property
    def key_suffix(self) -> str:
        """Manifest keys of fold-10 scores stay as they are; this one is kept beside them."""
        return f"folds{'+'.join(map(str, self.folds))}-crossfit"

    def to_dict(self) -> dict[str, Any]:
        return {
            "evaluated_on": self.evaluated_on,
            "records_by_fold": {str(f): n for f, n in sorted(self.records_by_fold.items())},
            "thresholds": {
                "method": "crossfit",
                "tuned_folds": list(self.val_folds),
                "parts": self.k,
                "seed": self.seed,
                "other_folds": "checkpoint thresholds (tuned on all validation folds)",
            },
            "by_fold": self.by_fold,
            "validation_minus_test": self.gap,
        }


def intervals_by_fold(
    labels: np.ndarray,
    binary: np.ndarray,
    probs: np.ndarray,
    weights: Weights,
    folds: np.ndarray,
    n_boot: int,
    seed: int,
    level: float,
) -> dict[int, ScoreIntervals]:
    """Each fold's scores and intervals on its own: fold 9 (cross-fitted) beside fold 10 shows
    what optimism the epoch choice left in fold 9."""
    out = {}
    for f in sorted({int(x) for x in folds}):
        m = folds == f
        out[f] = bootstrap_scores(labels[m], binary[m], probs[m], weights, n_boot, seed, level)
    return out


def fold_gap(
    labels: np.ndarray,
    binary: np.ndarray,
    probs: np.ndarray,
    weights: Weights,
    is_val: np.ndarray,
    n_boot: int,
    seed: int,
    level: float,
) -> dict[str, Any]:
    """Validation-fold (cross-fitted) minus other-fold score, resampling each side on its own.

    The two are different records, so the interval is unpaired: independent resamples of each
    side, differenced. A gap whose interval excludes 0 is optimism the epoch choice left in the
    validation fold (or a real shift between folds): then the pooled score flatters the model.
    """
    sides = []
    for j, m in enumerate((is_val, ~is_val)):
        idx = resample_indices(int(m.sum()), n_boot, seed + j)
        sides.append(resampled_scores(labels[m], binary[m], probs[m], weights, idx))
    out = {}
    for i, metric in enumerate(("challenge_score", "auroc")):
        a = score_arrays(labels[is_val], binary[is_val], probs[is_val], weights)
        b = score_arrays(labels[~is_val], binary[~is_val], probs[~is_val], weights)
        point = getattr(a, metric) - getattr(b, metric)
        d = sides[0][i] - sides[1][i]
        lo, hi = percentile_interval(d, level)  # NaN where no resample scored both sides
        out[metric] = {
            "point": _finite(float(point)),
            "ci95": [lo, hi] if math.isfinite(lo) else None,
            "distinguishable": interval_verdict(lo, hi) != TIE,
        }
    return out


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def by_fold_dict(per_fold: dict[int, ScoreIntervals], counts: dict[int, int]) -> dict[str, Any]:
    return {
        str(f): {
            "n_records": counts[f],
            "challenge_score": _finite(s.challenge_score.point),
            "challenge_score_ci95": s.challenge_score.bounds(),
            "auroc": _finite(s.auroc.point),
            "auroc_ci95": s.auroc.bounds(),
        }
        for f, s in per_fold.items()
    }


def crossfit_outputs(
    labels: np.ndarray,
    probs: np.ndarray,
    weights: Weights,
    shipped: np.ndarray,
    row_folds: np.ndarray,
    val_folds: Sequence[int],
    tuner: Tuner,
    n_boot: int,
    seed: int,
    level: float,
) -> tuple[np.ndarray, CrossfitScope]:
    """Decisions of every record (validation folds cross-fitted, others shipped) and their scope."""
    done = apply_crossfit(
        labels, probs, weights, shipped, np.isin(row_folds, list(val_folds)), tuner
    )
    counts = {int(f): int(np.sum(row_folds == f)) for f in np.unique(row_folds)}
    per_fold, gap = {}, {}
    if n_boot > 0:
        per_fold = intervals_by_fold(
            labels, done.binary, probs, weights, row_folds, n_boot, seed, level
        )
        is_val = np.isin(row_folds, list(val_folds))
        if not is_val.all():
            gap = fold_gap(labels, done.binary, probs, weights, is_val, n_boot, seed, level)
    return done.binary, CrossfitScope(
        folds=tuple(sorted(counts)),
        val_folds=tuple(sorted(val_folds)),
        records_by_fold=counts,
        by_fold=by_fold_dict(per_fold, counts),
        gap=gap,
    )
