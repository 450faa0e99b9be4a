"""Scores of the PhysioNet/CinC Challenge 2021, as defined by the official ``evaluate_model.py``.

Every function here reproduces the official definition (github.com/physionetchallenges/
evaluation-2021) including its corner cases -- NaN for undefined per-class values, ``nanmean`` for
the macro averages, ties in the AUC sweep, a zero score when the normalising denominator vanishes --
so that numbers reported by ecgbench can be compared with the Challenge leaderboard. The official
code loops over records in Python; here the loops are replaced by array operations that give the
same result (to floating-point rounding), so training code can score every epoch.

Arrays are ``[N records, C classes]``: ``labels`` and ``binary_outputs`` are boolean (anything
non-zero counts as positive), ``scalar_outputs`` are floats; columns follow the weights' classes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ecgbench.data.classes import NORMAL_CLASS, Weights, code_to_class_index, load_weights
from ecgbench.errors import BadInputError

__all__ = [
    "ChallengeScores",
    "compute_accuracy",
    "compute_auc",
    "compute_challenge_metric",
    "compute_f_measure",
    "compute_modified_confusion_matrix",
    "normal_class_index",
    "score_arrays",
]


def _as_bool(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 2:
        raise BadInputError(f"{name} must be a 2-D [records, classes] array, got shape {a.shape}")
    return a.astype(bool)


def _check_same_shape(*arrays: tuple[str, np.ndarray]) -> None:
    (first_name, first), *rest = arrays
    for name, a in rest:
        if a.shape != first.shape:
            raise BadInputError(f"{name} has shape {a.shape} but {first_name} has {first.shape}")
    if first.shape[0] == 0:
        raise BadInputError("cannot score zero records")


def _nanmean_or_nan(values: np.ndarray) -> float:
    """Official macro average: mean over the defined classes, NaN if none is defined."""
    if np.any(np.isfinite(values)):
        return float(np.nanmean(values))
    return float("nan")


def compute_accuracy(labels: np.ndarray, binary_outputs: np.ndarray) -> float:
    """Fraction of records whose whole label vector is predicted exactly (subset accuracy)."""
    y = _as_bool(labels, "labels")
    o = _as_bool(binary_outputs, "binary_outputs")
    _check_same_shape(("labels", y), ("binary_outputs", o))
    return float(np.count_nonzero(np.all(y == o, axis=1))) / float(y.shape[0])


def compute_f_measure(labels: np.ndarray, binary_outputs: np.ndarray) -> tuple[float, np.ndarray]:
    """Macro F1 and per-class F1.

    A class is NaN (and left out of the macro mean) only when it has no positive label *and* no
    positive output; a class with no positive label but some false positives scores 0.
    """
    y = _as_bool(labels, "labels")
    o = _as_bool(binary_outputs, "binary_outputs")
    _check_same_shape(("labels", y), ("binary_outputs", o))
    tp = np.count_nonzero(y & o, axis=0).astype(np.float64)
    fp = np.count_nonzero(~y & o, axis=0).astype(np.float64)
    fn = np.count_nonzero(y & ~o, axis=0).astype(np.float64)
    denom = 2.0 * tp + fp + fn
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(denom > 0, 2.0 * tp / np.where(denom > 0, denom, 1.0), np.nan)
    return _nanmean_or_nan(f), f


def _auc_one_class(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """AUROC and AUPRC of one column, following the official threshold sweep.

    The official sweep starts above the highest score (nothing positive) and lowers the threshold
    to each distinct score in turn, so records with tied scores enter together (a diagonal ROC
    segment). AUROC is the trapezoid area under TNR(TPR); AUPRC is the step sum
    sum((TPR_j - TPR_{j-1}) * PPV_j). TPR/TNR/PPV are NaN where undefined, which makes the area
    NaN (no positives -> both NaN; no negatives -> AUROC NaN).
    """
    n_pos = float(np.count_nonzero(y))
    n_neg = float(y.size) - n_pos
    if np.isnan(s).any():
        # The official loop sorts NaN first and stops at the first comparison that fails, so no
        # record is ever counted: TPR stays 0 and PPV is NaN at every threshold.
        auroc = 0.0 if (n_pos > 0 and n_neg > 0) else float("nan")
        return auroc, float("nan")
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    y_sorted = y[order]
    # Counts after admitting all records with score >= each distinct score (last index of a group).
    group_end = np.flatnonzero(np.append(s_sorted[1:] != s_sorted[:-1], True))
    cum_pos = np.cumsum(y_sorted)[group_end].astype(np.float64)
    cum_all = (group_end + 1).astype(np.float64)
    tp = np.concatenate(([0.0], cum_pos))
    fp = np.concatenate(([0.0], cum_all - cum_pos))
    tpr = tp / n_pos if n_pos > 0 else np.full(tp.shape, np.nan)
    tnr = (n_neg - fp) / n_neg if n_neg > 0 else np.full(tp.shape, np.nan)
    ppv = tp[1:] / (tp[1:] + fp[1:])  # every step admits >= 1 record, so never 0/0
    d_tpr = np.diff(tpr)
    auroc = float(np.sum(0.5 * d_tpr * (tnr[1:] + tnr[:-1])))
    auprc = float(np.sum(d_tpr * ppv))
    return auroc, auprc


def compute_auc(
    labels: np.ndarray, scalar_outputs: np.ndarray
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Macro AUROC, macro AUPRC, and the per-class arrays (NaN where undefined)."""
    y = _as_bool(labels, "labels")
    s = np.asarray(scalar_outputs, dtype=np.float64)
    if s.ndim != 2:
        raise BadInputError(f"scalar_outputs must be 2-D [records, classes], got shape {s.shape}")
    _check_same_shape(("labels", y), ("scalar_outputs", s))
    n_classes = y.shape[1]
    auroc = np.zeros(n_classes)
    auprc = np.zeros(n_classes)
    for k in range(n_classes):
        auroc[k], auprc[k] = _auc_one_class(y[:, k], s[:, k])
    return _nanmean_or_nan(auroc), _nanmean_or_nan(auprc), auroc, auprc


def compute_modified_confusion_matrix(labels: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """``A[j, k]``: credit for label class j predicted as class k, summed over records.

    Each record's credit is divided by the number of distinct classes in (labels OR outputs),
    at least 1, so a record weighs the same however many diagnoses it carries.
    """
    y = _as_bool(labels, "labels")
    o = _as_bool(outputs, "outputs")
    _check_same_shape(("labels", y), ("outputs", o))
    norm = np.maximum(np.count_nonzero(y | o, axis=1), 1).astype(np.float64)
    return (y / norm[:, None]).T @ o.astype(np.float64)


def normal_class_index(classes: Sequence[str], normal_class: str = NORMAL_CLASS) -> int:
    """Column of the normal (sinus rhythm) class; any of its equivalent codes may be given."""
    index = code_to_class_index(tuple(classes))
    hits = {index[c.strip()] for c in normal_class.split("|") if c.strip() in index}
    if len(hits) != 1:
        raise BadInputError(f"normal class {normal_class} is not one of the scored classes")
    return hits.pop()


def compute_challenge_metric(
    weights: np.ndarray,
    labels: np.ndarray,
    outputs: np.ndarray,
    classes: Sequence[str],
    normal_class: str = NORMAL_CLASS,
) -> float:
    """Challenge score: reward of ``outputs`` rescaled so always-normal = 0 and perfect = 1.

    Rewards are ``nansum(weights * A)`` with ``A`` the modified confusion matrix. When the
    perfect and always-normal rewards are equal (e.g. every record is labelled normal only), the
    official code returns 0.0, whatever the outputs; so does this.
    """
    w = np.asarray(weights, dtype=np.float64)
    y = _as_bool(labels, "labels")
    o = _as_bool(outputs, "outputs")
    _check_same_shape(("labels", y), ("outputs", o))
    if w.shape != (y.shape[1], y.shape[1]) or len(classes) != y.shape[1]:
        raise BadInputError(
            f"weights {w.shape} and {len(classes)} classes do not match {y.shape[1]} label columns"
        )
    normal = normal_class_index(classes, normal_class)
    observed = float(np.nansum(w * compute_modified_confusion_matrix(y, o)))
    correct = float(np.nansum(w * compute_modified_confusion_matrix(y, y)))
    inactive_outputs = np.zeros_like(y)
    inactive_outputs[:, normal] = True
    inactive = float(np.nansum(w * compute_modified_confusion_matrix(y, inactive_outputs)))
    if correct != inactive:
        return (observed - inactive) / (correct - inactive)
    return 0.0


def _json_float(x: float) -> float | None:
    """NaN/inf are not JSON; an undefined score is written as null."""
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True)
class ChallengeScores:
    """The five Challenge scores, plus per-class values (in ``classes`` order) when available."""

    challenge_score: float
    auroc: float
    auprc: float
    accuracy: float
    f_measure: float
    classes: tuple[str, ...] | None = None
    auroc_classes: np.ndarray | None = None
    auprc_classes: np.ndarray | None = None
    f_measure_classes: np.ndarray | None = None

    def to_json_dict(self) -> dict[str, float | None]:
        """Headline scores only, with the official names; NaN becomes null."""
        return {
            "challenge_score": _json_float(self.challenge_score),
            "auroc": _json_float(self.auroc),
            "auprc": _json_float(self.auprc),
            "accuracy": _json_float(self.accuracy),
            "f_measure": _json_float(self.f_measure),
        }


def score_arrays(
    labels: np.ndarray,
    binary_outputs: np.ndarray,
    scalar_outputs: np.ndarray,
    weights: Weights | None = None,
    normal_class: str = NORMAL_CLASS,
) -> ChallengeScores:
    """All Challenge scores for arrays whose columns follow ``weights.classes``.

    ``weights=None`` loads the Challenge's weights.csv from its usual places (see
    :func:`ecgbench.data.classes.find_weights_file`); pass a loaded ``Weights`` when scoring often.
    """
    if weights is None:
        weights = load_weights(None)
    y = _as_bool(labels, "labels")
    b = _as_bool(binary_outputs, "binary_outputs")
    s = np.asarray(scalar_outputs, dtype=np.float64)
    _check_same_shape(("labels", y), ("binary_outputs", b), ("scalar_outputs", s))
    if y.shape[1] != len(weights.classes):
        raise BadInputError(
            f"arrays have {y.shape[1]} class columns but the weights have {len(weights.classes)}"
        )
    auroc, auprc, auroc_classes, auprc_classes = compute_auc(y, s)
    f_measure, f_classes = compute_f_measure(y, b)
    return ChallengeScores(
        challenge_score=compute_challenge_metric(
            weights.matrix, y, b, weights.classes, normal_class
        ),
        auroc=auroc,
        auprc=auprc,
        accuracy=compute_accuracy(y, b),
        f_measure=f_measure,
        classes=tuple(weights.classes),
        auroc_classes=auroc_classes,
        auprc_classes=auprc_classes,
        f_measure_classes=f_classes,
    )
