"""Percentile bootstrap over records for the Challenge score and macro AUROC.

A fold of a few hundred records moves a score by about one record's share, so a figure without its
interval cannot say whether two variants differ. Resampling unit is the record: each resample draws
N record indices with replacement and scores them as the official code would score that multiset.

Arrays in, numbers out, like :mod:`ecgbench.metrics.challenge`: ``labels`` and ``binary`` are
``[N records, C classes]`` booleans, ``probs`` floats, columns in ``weights.classes`` order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ecgbench.data.classes import NORMAL_CLASS, Weights
from ecgbench.errors import BadInputError
from ecgbench.metrics.challenge import compute_auc, compute_challenge_metric, normal_class_index
from ecgbench.statistics import ABOVE, TIE, bootstrap_indices, interval_verdict, percentile_interval

__all__ = [
    "Interval",
    "PairedDrop",
    "ScoreIntervals",
    "bootstrap_scores",
    "paired_drop",
    "resample_indices",
    "resampled_scores",
]


@dataclass(frozen=True)
class Interval:
    """A score on all records and its bootstrap interval; NaN where the score is undefined."""

    point: float
    lo: float
    hi: float

    def bounds(self) -> list[float] | None:
        """``[lo, hi]`` for JSON and TOML, or None when the interval is undefined."""
        return _bounds(self.lo, self.hi)


@dataclass(frozen=True)
class ScoreIntervals:
    """The two headline scores with their intervals, and the resampling that made them."""

    challenge_score: Interval
    auroc: Interval
    n_boot: int
    seed: int
    level: float
    # [n_boot] Challenge score of each resample: paired with any variant drawn with this seed on
    # the same records (:mod:`ecgbench.metrics.ties`), so they are kept for later comparisons.
    challenge_replicates: np.ndarray | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class PairedDrop:
    """Score of variant a minus score of variant b, both on the same resampled records."""

    metric: str  # "challenge_score" or "auroc"
    point: float
    lo: float
    hi: float
    distinguishable: bool  # the interval excludes 0

    @property
    def verdict(self) -> str:
        """``drop`` (b is worse), ``gain`` (b is better) or ``tie`` (not distinguishable from 0)."""
        if not self.distinguishable:
            return "tie"
        return "drop" if interval_verdict(self.lo, self.hi) == ABOVE else "gain"

    def against(self, max_drop: float) -> str:
        """An accuracy target read with the interval: ``within`` (the whole interval is at most
        ``max_drop``), ``over`` (all of it above) or ``undecided`` (the target lies inside)."""
        if self.hi <= max_drop:
            return "within"
        return "over" if self.lo > max_drop else "undecided"

    def bounds(self) -> list[float] | None:
        return _bounds(self.lo, self.hi)


def excludes_zero(lo: float, hi: float) -> bool:
    """Whether a drop's interval tells the two variants apart (:func:`interval_verdict`)."""
    return interval_verdict(lo, hi) != TIE


def _bounds(lo: float, hi: float) -> list[float] | None:
    return [lo, hi] if math.isfinite(lo) and math.isfinite(hi) else None


def _check_settings(n_boot: int, level: float) -> None:
    if n_boot < 1:
        raise BadInputError(f"the bootstrap needs at least one resample, got {n_boot}")
    if not 0.0 < level < 1.0:
        raise BadInputError(f"interval level must lie strictly between 0 and 1, got {level}")


def resample_indices(n_records: int, n_boot: int, seed: int) -> np.ndarray:
    """``[n_boot, n_records]`` record indices drawn with replacement; a seed fixes the draws."""
    if n_records < 1:
        raise BadInputError("cannot resample zero records")
    return bootstrap_indices(n_records, n_boot, seed)


def _counts(indices: np.ndarray, n_records: int) -> np.ndarray:
    """``[n_boot, n_records]``: how often each record was drawn in each resample."""
    n_boot = indices.shape[0]
    flat = (indices + n_records * np.arange(n_boot)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n_records).reshape(n_boot, n_records)


def _challenge_parts(
    y: np.ndarray, o: np.ndarray, w: np.ndarray, normal: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per record: (observed - inactive, correct - inactive) reward.

    The modified confusion matrix is a sum of per-record matrices, so each reward is a sum of
    per-record rewards and a resample's score is a ratio of count-weighted sums of these.
    """
    label_rewards = y.astype(np.float64) @ np.nan_to_num(w, nan=0.0)  # nansum skips NaN weights

    def reward(outputs: np.ndarray) -> np.ndarray:
        norm = np.maximum(np.count_nonzero(y | outputs, axis=1), 1)
        return np.sum(label_rewards * outputs, axis=1) / norm

    always_normal = np.zeros_like(y)
    always_normal[:, normal] = True
    inactive = reward(always_normal)
    return reward(o) - inactive, reward(y) - inactive


def _challenge_resamples(
    y: np.ndarray, o: np.ndarray, weights: Weights, normal: int, counts: np.ndarray
) -> np.ndarray:
    gain, span = _challenge_parts(y, o, np.asarray(weights.matrix, dtype=np.float64), normal)
    c = counts.astype(np.float64)
    num, den = c @ gain, c @ span
    # As the official code: 0 when perfect and always-normal earn the same reward.
    return np.where(den != 0, num / np.where(den != 0, den, 1.0), 0.0)


def _auroc_resamples(y: np.ndarray, s: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Macro AUROC of each resample.

    Per class this is the Mann-Whitney statistic with ties counted one half, which equals the area
    of the official threshold sweep; a record drawn k times counts k times. Classes without a
    positive or a negative in a resample are NaN and left out of its macro mean, as officially.
    """
    n_boot, n = counts.shape
    per_class = np.full((n_boot, y.shape[1]), np.nan)
    for k in range(y.shape[1]):
        pos = y[:, k]
        n_pos = counts @ pos.astype(np.int64)
        n_neg = counts @ (~pos).astype(np.int64)
        defined = (n_pos > 0) & (n_neg > 0)
        # official quirk: a drawn record with a NaN score stops the sweep, leaving the area at 0
        drew_nan = counts[:, np.isnan(s[:, k])].sum(axis=1) > 0
        order = np.argsort(s[:, k], kind="stable")
        sorted_s = s[order, k]
        sorted_pos = pos[order]
        c = counts[:, order]
        new_group = np.concatenate(([True], sorted_s[1:] != sorted_s[:-1]))
        starts = np.flatnonzero(new_group)
        ends = np.append(starts[1:], n)
        group = np.cumsum(new_group) - 1
        # negatives[:, j]: drawn negatives among the j lowest-scored records
        negatives = np.zeros((n_boot, n + 1), dtype=np.int64)
        np.cumsum(c * ~sorted_pos, axis=1, out=negatives[:, 1:])
        p = np.flatnonzero(sorted_pos)
        below = negatives[:, starts[group[p]]]  # negatives scored lower than each positive
        up_to = negatives[:, ends[group[p]]]  # ... lower or tied
        twice_u = np.sum(c[:, p] * (below + up_to), axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            auc = np.where(drew_nan, 0.0, twice_u / (2.0 * n_pos * n_neg))
        per_class[:, k] = np.where(defined, auc, np.nan)
    defined = np.isfinite(per_class)
    n_defined = np.count_nonzero(defined, axis=1)
    total = np.sum(np.where(defined, per_class, 0.0), axis=1)
    return np.where(n_defined > 0, total / np.maximum(n_defined, 1), np.nan)


def resampled_scores(
    labels: np.ndarray,
    binary: np.ndarray,
    probs: np.ndarray,
    weights: Weights,
    indices: np.ndarray,
    normal_class: str = NORMAL_CLASS,
) -> tuple[np.ndarray, np.ndarray]:
    """``[n_boot]`` Challenge scores and macro AUROCs of the records ``indices[b]`` of each resample."""
    y = np.asarray(labels).astype(bool)
    o = np.asarray(binary).astype(bool)
    s = np.asarray(probs, dtype=np.float64)
    if not (y.ndim == 2 and y.shape == o.shape == s.shape and y.shape[1] == len(weights.classes)):
        raise BadInputError(
            f"labels {y.shape}, binary {o.shape}, probs {s.shape} and "
            f"{len(weights.classes)} classes do not match"
        )
    counts = _counts(np.asarray(indices), y.shape[0])
    normal = normal_class_index(weights.classes, normal_class)
    return _challenge_resamples(y, o, weights, normal, counts), _auroc_resamples(y, s, counts)


def _points(
    labels: np.ndarray,
    binary: np.ndarray,
    probs: np.ndarray,
    weights: Weights,
    normal_class: str,
) -> tuple[float, float]:
    """(Challenge score, macro AUROC) on all records, by the official definitions."""
    cs = compute_challenge_metric(weights.matrix, labels, binary, weights.classes, normal_class)
    return float(cs), float(compute_auc(labels, probs)[0])


def bootstrap_scores(
    labels: np.ndarray,
    binary: np.ndarray,
    probs: np.ndarray,
    weights: Weights,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    normal_class: str = NORMAL_CLASS,
) -> ScoreIntervals:
    """Challenge score and macro AUROC with their percentile bootstrap intervals over records.

    Method: ``n_boot`` resamples of the records with replacement, each scored exactly as the
    official code scores it; the interval is the central ``level`` percentile range of the resamples.
    """
    _check_settings(n_boot, level)
    cs, auroc = _points(labels, binary, probs, weights, normal_class)
    idx = resample_indices(np.asarray(labels).shape[0], n_boot, seed)
    cs_b, auroc_b = resampled_scores(labels, binary, probs, weights, idx, normal_class)
    return ScoreIntervals(
        challenge_score=Interval(cs, *percentile_interval(cs_b, level)),
        auroc=Interval(auroc, *percentile_interval(auroc_b, level)),
        n_boot=n_boot,
        seed=seed,
        level=level,
        challenge_replicates=cs_b,
    )


def paired_drop(
    labels: np.ndarray,
    binary_a: np.ndarray,
    probs_a: np.ndarray,
    binary_b: np.ndarray,
    probs_b: np.ndarray,
    weights: Weights,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    normal_class: str = NORMAL_CLASS,
) -> tuple[PairedDrop, PairedDrop]:
    """Drop a − b of the Challenge score and of macro AUROC, with paired bootstrap intervals.

    Method: both variants are scored on the same resampled records, and the interval is the
    percentile range of the per-resample differences, so record difficulty common to both cancels.
    """
    _check_settings(n_boot, level)
    points_a = _points(labels, binary_a, probs_a, weights, normal_class)
    points_b = _points(labels, binary_b, probs_b, weights, normal_class)
    idx = resample_indices(np.asarray(labels).shape[0], n_boot, seed)
    boot_a = resampled_scores(labels, binary_a, probs_a, weights, idx, normal_class)
    boot_b = resampled_scores(labels, binary_b, probs_b, weights, idx, normal_class)
    drops = []
    for metric, pa, pb, ra, rb in zip(
        ("challenge_score", "auroc"), points_a, points_b, boot_a, boot_b, strict=True
    ):
        lo, hi = percentile_interval(ra - rb, level)
        drops.append(PairedDrop(metric, pa - pb, lo, hi, distinguishable=excludes_zero(lo, hi)))
    return drops[0], drops[1]
