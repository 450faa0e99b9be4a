"""Dividing the machine out of two runs: the reference workload each run timed beside its models.

Each run times a fixed reference (a ConvNeXt-1D on OpenVINO by default, or the FP32 GEMM)
interleaved with its models. Its whole-run level gives the drift between the runs; its level per
round divides every key's slice of the same round, a few seconds apart, so drift slower than a
round cancels (:func:`round_ratios`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.schema import ReferenceTiming, ResultRow
from ecgbench.errors import BadInputError
from ecgbench.statistics import level_of, paired_ratios, slice_levels

MIN_ROUNDS = 3


class NormaliseSettings(Protocol):
    """What normalisation needs of the gate's settings (``GateSettings``)."""

    @property
    def normalise(self) -> bool: ...

    @property
    def reference(self) -> str: ...

    @property
    def pairing(self) -> str: ...

    @property
    def quantile(self) -> float: ...


def _reference(doc: RunDocument, which: str) -> ReferenceTiming:
    """The model reference, or the GEMM (runs written before the model was timed, A/B)."""
    ref = doc.reference
    if which == "model" and ref.model is not None:
        return ref.model
    return ref.gemm or ReferenceTiming()


def check_references(base: RunDocument, cur: RunDocument, which: str) -> None:
    """Both runs must have timed the same reference, or the ratios would move with it."""
    lb, lc = _reference(base, which).label, _reference(cur, which).label
    if lb and lc and lb != lc:
        raise BadInputError(
            f"the baseline's reference workload ({lb}) is not this run's ({lc}): the ratios "
            "would move with the reference, not the change; re-record the baseline "
            "(ecgbench baseline update) or compare with --no-normalise"
        )


def reference_drift(
    base: RunDocument, cur: RunDocument, which: str = "model", q: float = 50.0
) -> float | None:
    """Ratio (current / baseline) of the level of a reference workload timed inside each run."""
    b = _reference(base, which).samples_ns
    c = _reference(cur, which).samples_ns
    if not b or not c:
        return None
    return float(level_of(c, q) / level_of(b, q))


def reference_levels(doc: RunDocument, which: str, q: float = 50.0) -> dict[int, float]:
    """The reference workload's level per round (empty for runs written without slices)."""
    ref = _reference(doc, which)
    if not ref.slices:
        return {}
    return slice_levels(ref.samples_ns, ref.slices, q)


def round_ratios(
    row: ResultRow, ref_levels: dict[int, float], q: float = 50.0
) -> np.ndarray | None:
    """Per round: the key's slice level over the reference's level in the same round."""
    lat = row.latency
    if not lat.slices or not ref_levels:
        return None
    ratios = paired_ratios(slice_levels(lat.samples_ns, lat.slices, q), ref_levels)
    return ratios if len(ratios) >= MIN_ROUNDS else None


@dataclass(frozen=True)
class Normalisation:
    """What divides the machine out of both runs: whole-run drift and per-round reference levels."""

    drift: float | None
    ref_base: dict[int, float]
    ref_cur: dict[int, float]

    @classmethod
    def of(cls, base: RunDocument, cur: RunDocument, s: NormaliseSettings) -> Normalisation:
        if not s.normalise:
            return cls(None, {}, {})
        drift = reference_drift(base, cur, s.reference, s.quantile)
        if s.pairing != "round":
            return cls(drift, {}, {})
        q = s.quantile
        return cls(
            drift, reference_levels(base, s.reference, q), reference_levels(cur, s.reference, q)
        )
