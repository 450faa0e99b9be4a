"""Numeric verification of an exported variant against the PyTorch FP32 reference.

Tolerances are on logits (max absolute difference) and on predicted labels with the checkpoint's
thresholds, and they follow what *executed* (``precision.tolerance_key``): an FP32 IR run in BF16
is held to the BF16 tolerance, an FP16 IR on FP32 arithmetic (FP16 weights only) to the FP16 one.
INT8 moves logits by a few tenths.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ecgbench.precision import tolerance_key
from ecgbench.train.evaluate import sigmoid

# precision -> (max |logit diff|, min agreement of (record, class) decisions).
# Whole-label-set agreement is reported too, but it is not the gate: with 26 thresholds per record,
# one logit moving across one threshold flips a record, so it mostly measures how many records sit
# near a threshold. The accuracy drop of each variant is measured separately (ecgbench evaluate).
TOLERANCES: dict[str, tuple[float, float]] = {
    "fp32": (1e-3, 1.0),
    # bf16 keeps 8 bits of significand; the zoo's bf16 Δlogits and the margin this leaves are in
    # docs/precision.md.
    "bf16": (0.05, 0.995),
    "fp16": (5e-2, 0.995),
    "int8": (1.0, 0.98),
}


@dataclass
class Verification:
    precision: str  # the tolerance applied (fp32 / bf16 / fp16 / int8)
    n_records: int
    real_records: bool
    max_abs: float
    mean_abs: float
    label_agreement: float  # records with identical label sets
    element_agreement: float  # (record, class) decisions that agree
    tol_abs: float
    tol_agreement: float
    passed: bool
    executed: str | None = None  # what ran (f32, bf16, int8+f32, ...)

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        src = "real" if self.real_records else "SYNTHETIC"
        status = "ok" if self.passed else "FAILED"
        ran = f" ({self.executed})" if self.executed else ""
        return (
            f"{status}{ran}: max|Δlogit| {self.max_abs:.2e} (tol {self.tol_abs:g}), decisions agree "
            f"{self.element_agreement:.2%} (tol {self.tol_agreement:.1%}), label sets "
            f"{self.label_agreement:.0%} of {self.n_records} {src} records"
        )


def compare_logits(
    reference: np.ndarray,
    candidate: np.ndarray,
    thresholds: np.ndarray,
    precision: str,
    real_records: bool = True,
    executed: str | None = None,
    activation: str = "sigmoid",
) -> Verification:
    """``activation``: how a brought model's card turns outputs into the probabilities thresholded."""
    from ecgbench.card import activate

    precision = tolerance_key(precision, executed)
    tol_abs, tol_agree = TOLERANCES[precision]
    diff = np.abs(reference.astype(np.float64) - candidate.astype(np.float64))
    act = sigmoid if activation == "sigmoid" else (lambda y: activate(y, activation))
    ref_lab = act(reference) >= thresholds
    cand_lab = act(candidate) >= thresholds
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
        executed=executed,
    )


def default_hint(backend: str, precision: str) -> str | None:
    """The arithmetic a variant runs at when nothing else is asked: its own, on this CPU."""
    from ecgbench.backends import plan_execution
    from ecgbench.host import device_arithmetic

    return plan_execution(backend, precision, device_arithmetic("CPU")).hint


@dataclass(frozen=True)
class VerifyRun:
    """One artifact run on the CPU at ``hint``; ``precision`` was asked for (bf16 runs FP32)."""

    artifact: Path
    backend: str
    artifact_precision: str
    precision: str
    hint: str | None


def verify_artifact(
    model: torch.nn.Module,
    thresholds: np.ndarray,
    run: VerifyRun,
    x: np.ndarray,
    real_records: bool,
) -> Verification:
    """Run ``run.artifact`` on ``x`` one record at a time and compare with PyTorch FP32."""
    from ecgbench.backends import LoadSpec, get_backend
    from ecgbench.precision import executed_label
    from ecgbench.train.evaluate import predict_logits

    ref = predict_logits(model, x)
    backend = get_backend(run.backend)
    spec = LoadSpec(
        artifact=run.artifact, device="CPU", samples=x.shape[-1], inference_precision=run.hint
    )
    info = backend.load(spec)
    cand = np.concatenate([backend.infer(x[i : i + 1]) for i in range(len(x))])
    backend.close()
    return compare_logits(
        ref,
        cand,
        thresholds,
        run.precision,
        real_records=real_records,
        executed=executed_label(run.artifact_precision, info.inference_precision, info.int8_layers),
    )
