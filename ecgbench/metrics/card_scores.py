"""Scores of a model with any classes: macro AUROC, AUPRC and F1, with bootstrap intervals.

The Challenge score needs the Challenge's 26 classes and reward matrix; a brought model with
other classes (PTB-XL superclasses, statements, a SNOMED subset) is scored by the class-wise
metrics alone, each defined exactly as :mod:`ecgbench.metrics.challenge` defines it (macro mean
over the defined classes). Intervals resample the records as :mod:`ecgbench.metrics.bootstrap`
does, with the same seeds, so a variant's paired drop against its FP32 cancels the records' common difficulty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ecgbench.metrics.bootstrap import (
    Interval,
    PairedDrop,
    _auroc_resamples,
    _counts,
    excludes_zero,
    resample_indices,
)
from ecgbench.metrics.challenge import compute_auc, compute_f_measure
from ecgbench.statistics import percentile_interval

METRICS = ("auroc", "auprc", "f_measure")


def _macro(per_class: np.ndarray) -> np.ndarray:
    defined = np.isfinite(per_class)
    n = np.count_nonzero(defined, axis=1)
    total = np.sum(np.where(defined, per_class, 0.0), axis=1)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def _auprc_resamples(y: np.ndarray, s: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Macro AUPRC of each resample: the official step sum with each record counted as drawn."""
    per_class = np.full((counts.shape[0], y.shape[1]), np.nan)
    c_all = counts.astype(np.float64)
    for k in range(y.shape[1]):
        order = np.argsort(-s[:, k], kind="stable")
        ss, pos = s[order, k], y[order, k].astype(np.float64)
        c = c_all[:, order]
        ends = np.flatnonzero(np.append(ss[1:] != ss[:-1], True))
        tp = np.cumsum(c * pos, axis=1)[:, ends]
        drawn = np.cumsum(c, axis=1)[:, ends]
        n_pos = tp[:, -1:]
        tp0 = np.concatenate([np.zeros((len(c), 1)), tp], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            d_tpr = np.diff(tp0, axis=1) / n_pos
            ppv = tp / drawn
            area = np.sum(np.where(d_tpr > 0, d_tpr * ppv, 0.0), axis=1)
        per_class[:, k] = np.where(n_pos[:, 0] > 0, area, np.nan)
    return _macro(per_class)


def _f1_resamples(y: np.ndarray, o: np.ndarray, counts: np.ndarray) -> np.ndarray:
    c = counts.astype(np.float64)
    tp = c @ (y & o).astype(np.float64)
    fp = c @ (~y & o).astype(np.float64)
    fn = c @ (y & ~o).astype(np.float64)
    denom = 2 * tp + fp + fn
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1.0), np.nan)
    return _macro(f)


@dataclass(frozen=True)
class CardScores:
    """Points and per-class values; ``intervals`` per metric when bootstrapped."""

    auroc: float
    auprc: float
    f_measure: float
    auroc_classes: np.ndarray
    auprc_classes: np.ndarray
    f_measure_classes: np.ndarray
    intervals: dict[str, Interval] | None = None
    n_boot: int = 0
    seed: int = 0

    def to_dict(self, classes: tuple[str, ...]) -> dict[str, object]:
        def num(v: float) -> float | None:
            return float(v) if math.isfinite(float(v)) else None

        d: dict[str, object] = {m: num(getattr(self, m)) for m in METRICS}
        d["per_class"] = {
            m: dict(zip(classes, (num(v) for v in getattr(self, f"{m}_classes")), strict=True))
            for m in METRICS
        }
        for m, iv in (self.intervals or {}).items():
            d[f"{m}_ci95"] = iv.bounds()
        if self.intervals:
            d["bootstrap"] = {"resamples": self.n_boot, "seed": self.seed}
        return d


def _replicates(y, o, s, idx) -> dict[str, np.ndarray]:
    counts = _counts(idx, y.shape[0])
    return {
        "auroc": _auroc_resamples(y, s, counts),
        "auprc": _auprc_resamples(y, s, counts),
        "f_measure": _f1_resamples(y, o, counts),
    }


def card_scores(
    labels: np.ndarray,
    binary: np.ndarray,
    probs: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> CardScores:
    y, o = np.asarray(labels).astype(bool), np.asarray(binary).astype(bool)
    s = np.asarray(probs, dtype=np.float64)
    auroc, auprc, auroc_k, auprc_k = compute_auc(y, s)
    f1, f1_k = compute_f_measure(y, o)
    intervals = None
    if n_boot > 0:
        reps = _replicates(y, o, s, resample_indices(len(y), n_boot, seed))
        points = {"auroc": auroc, "auprc": auprc, "f_measure": f1}
        intervals = {m: Interval(points[m], *percentile_interval(reps[m], level)) for m in METRICS}
    return CardScores(auroc, auprc, f1, auroc_k, auprc_k, f1_k, intervals, n_boot, seed)


def card_paired_drops(
    labels: np.ndarray,
    a: tuple[np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[PairedDrop, ...]:
    """a − b of each metric, ``a`` and ``b`` as (binary, probs) on the same records."""
    y = np.asarray(labels).astype(bool)
    idx = resample_indices(len(y), n_boot, seed)
    ra = _replicates(y, a[0].astype(bool), np.asarray(a[1], np.float64), idx)
    rb = _replicates(y, b[0].astype(bool), np.asarray(b[1], np.float64), idx)
    pa, pb = card_scores(y, a[0], a[1], 0), card_scores(y, b[0], b[1], 0)
    out = []
    for m in METRICS:
        lo, hi = percentile_interval(ra[m] - rb[m], level)
        point = float(getattr(pa, m)) - float(getattr(pb, m))
        out.append(PairedDrop(m, point, lo, hi, distinguishable=excludes_zero(lo, hi)))
    return tuple(out)
