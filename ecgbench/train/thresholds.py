"""Per-class decision thresholds tuned on the validation fold for the Challenge metric."""

from __future__ import annotations

import numpy as np

from ecgbench.data.classes import Weights
from ecgbench.metrics.challenge import compute_challenge_metric

GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)


def tune_thresholds(
    labels: np.ndarray,
    probs: np.ndarray,
    weights: Weights,
    rounds: int = 2,
    grid: np.ndarray = GRID,
) -> np.ndarray:
    """Coordinate ascent on the Challenge score, one class at a time, starting from 0.5.

    The metric couples classes through its per-record normalisation, so per-class F1 tuning is not
    the same thing; a couple of rounds of coordinate ascent over a coarse grid is cheap at fold size.
    """
    n_classes = labels.shape[1]
    thr = np.full(n_classes, 0.5)
    best = _score(weights, labels, probs >= thr)
    for _ in range(rounds):
        improved = False
        for c in range(n_classes):
            keep = thr[c]
            for t in grid:
                thr[c] = t
                s = _score(weights, labels, probs >= thr)
                if s > best + 1e-12:
                    best, keep, improved = s, t, True
            thr[c] = keep
        if not improved:
            break
    return thr


def _score(weights: Weights, labels: np.ndarray, outputs: np.ndarray) -> float:
    return compute_challenge_metric(weights.matrix, labels, outputs, weights.classes)
