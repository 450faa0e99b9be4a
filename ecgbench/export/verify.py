"""Numeric verification of an exported variant against the PyTorch FP32 reference.

Tolerances are on logits (max absolute difference) and on predicted labels with the checkpoint's
thresholds (fraction of records whose whole label set is identical). FP16 on a CPU without native
FP16 arithmetic runs with FP16 *weights* and FP32 compute; INT8 moves logits by a few tenths.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ecgbench.train.evaluate import sigmoid

# precision -> (max |logit diff|, min agreement of (record, class) decisions).
# Whole-label-set agreement is reported too, but it is not the gate: with 26 thresholds per record,
# one logit moving across one threshold flips a record, so it mostly measures how many records sit
# near a threshold. The accuracy drop of each variant is measured separately (ecgbench evaluate).
TOLERANCES: dict[str, tuple[float, float]] = {
    "fp32": (1e-3, 1.0),
    "fp16": (5e-2, 0.995),
    "int8": (1.0, 0.98),
}


@dataclass
class Verification:
    precision: str
    n_records: int
    real_records: bool
    max_abs: float
    mean_abs: float
    label_agreement: float  # records with identical label sets
    element_agreement: float  # (record, class) decisions that agree
    tol_abs: float
    tol_agreement: float
    passed: bool

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        src = "real" if self.real_records else "SYNTHETIC"
        status = "ok" if self.passed else "FAILED"
        return (
            f"{status}: max|Δlogit| {self.max_abs:.2e} (tol {self.tol_abs:g}), decisions agree "
            f"{self.element_agreement:.2%} (tol {self.tol_agreement:.1%}), label sets "
            f"{self.label_agreement:.0%} of {self.n_records} {src} records"
        )


def compare_logits(
    reference: np.ndarray,
    candidate: np.ndarray,
    thresholds: np.ndarray,
    precision: str,
    real_records: bool = True,
) -> Verification:
    tol_abs, tol_agree = TOLERANCES[precision]
    diff = np.abs(reference.astype(np.float64) - candidate.astype(np.float64))
    ref_lab = sigmoid(reference) >= thresholds
    cand_lab = sigmoid(candidate) >= thresholds
    rec_agree = float(np.mean(np.all(ref_lab == cand_lab, axis=1))) if len(diff) else 0.0
    max_abs = float(diff.max()) if diff.size else float("nan")
    elem_agree = float(np.mean(ref_lab == cand_lab)) if diff.size else 0.0
    return Verification(
        precision=precision,
        n_records=len(reference),
        real_records=real_records,
        max_abs=max_abs,
        mean_abs=float(diff.mean()) if diff.size else float("nan"),
        label_agreement=rec_agree,
        element_agreement=elem_agree,
        tol_abs=tol_abs,
        tol_agreement=tol_agree,
        passed=bool(np.isfinite(max_abs) and max_abs <= tol_abs and elem_agree >= tol_agree),
    )
