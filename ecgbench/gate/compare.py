"""Latency regression verdicts: baseline run vs current run, robust on noisy, busy machines.

Per key (model, backend, device, precision, executed, scenario, batch, input shape): the ratio of
medians, a bootstrap confidence interval of that ratio, and a Mann–Whitney U test (the statistics
airspeed velocity uses). Machine drift is removed with a reference workload that each run timed
interleaved with its models (a fixed ConvNeXt-1D on OpenVINO by default, or the FP32 GEMM):

- ``pairing="round"`` (default): every time slice of a key is divided by the reference's slice of
  the same round, a few seconds apart, so drift slower than a round cancels; the run's level is the
  median of those per-round ratios, and the CI and rank test resample rounds, not single calls
  (calls in one slice are not independent, and treating them so makes every difference
  "significant").
- ``pairing="run"``: the whole run's median is divided by the reference's whole-run median (runs
  written before slices were recorded fall back to this).

A slowdown is a regression only when the normalised ratio exceeds the threshold, its confidence
interval lies above 1, and the rank test is significant (:func:`ecgbench.statistics.judge`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.schema import ROW_KEY, ReferenceTiming, ResultRow
from ecgbench.errors import BadInputError
from ecgbench.numbers import FINITE, PROBABILITY, Range, check_number
from ecgbench.statistics import (
    Verdict,
    bootstrap_ratio_ci,
    holm_adjust,
    judge,
    level_of,
    mannwhitney_p,
    paired_ratios,
    slice_levels,
    subsample,
)

__all__ = [
    "Comparison",
    "GateSettings",
    "KeyVerdict",
    "Verdict",
    "compare_runs",
    "fingerprint_differences",
]

# What must match for two runs to be compared without --allow-different-machine.
FINGERPRINT_KEYS = ("cpu_model", "isa", "threads")
VERSION_KEYS = ("openvino", "onnxruntime", "torch", "nncf", "onnx")
MIN_SAMPLES = 5
EXIT_INCONCLUSIVE = 4  # README "Gating CI on latency": exit codes 0 / 1 / 2 / 3 / 4
MIN_ROUNDS = 3


@dataclass(frozen=True)
class GateSettings:
    threshold: float = 1.10
    # 0.05 (ecgbench gate-power, README "Measuring the gate"): at 30 rounds, 0.01 removed 1 of 5
    # false alarms in 160 A/A keys and 2 of 146 detections; at 8 rounds it halved the detections.
    alpha: float = 0.05
    n_boot: int = 1000
    max_samples: int = 4000  # subsample long runs for the bootstrap (speed)
    normalise: bool = True
    reference: str = "model"  # "model" (a fixed ConvNeXt on OpenVINO) or "gemm"
    pairing: str = "round"  # "round": slice-by-slice normalisation; "run": whole-run medians
    # The level of a slice or run: 50 = the median; a lower quantile ignores more of the tail that
    # interference adds (a real slowdown moves every quantile).
    quantile: float = 50.0
    seed: int = 0
    # The power at which a key's minimum detectable slowdown is stated, and below which a key's
    # own noise makes it *inconclusive* rather than unchanged (README "Gating CI on latency").
    power: float = 0.8
    # "none": each key at alpha (the threshold and confirmation keep a run's false alarms rare);
    # "holm": the keys of one run judged jointly, family-wise at alpha (docs/gate.md).
    multiplicity: str = "none"
    # Same-job gate, models mode: re-time flagged keys (regression or inconclusive) and judge
    # them on both timings' rounds before failing.
    confirm: bool = True

    def __post_init__(self) -> None:
        check_number("threshold (a slowdown ratio)", self.threshold, Range(lo=1))
        check_number("alpha", self.alpha, PROBABILITY)
        check_number("quantile", self.quantile, Range(lo=0, hi=100, lo_open=True))
        check_number("power", self.power, FINITE)
        if not 0.5 <= self.power < 1:
            raise BadInputError(f"power is in [0.5, 1), not {self.power}")
        if self.multiplicity not in ("none", "holm"):
            raise BadInputError(f"multiplicity is none or holm, not {self.multiplicity!r}")


@dataclass
class KeyVerdict:
    """One key's verdict with the numbers behind it."""

    key: dict[str, Any]
    verdict: Verdict
    ratio: float | None = None  # current / baseline median, normalised if enabled
    raw_ratio: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    baseline_ms: float | None = None
    current_ms: float | None = None
    min_detectable: float | None = None  # smallest slowdown this key's noise lets the rule catch
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": str(self.verdict)}


@dataclass
class Comparison:
    verdicts: list[KeyVerdict]
    drift: float | None  # current/baseline reference ratio (1.0 = no drift)
    machine_note: str = ""
    settings: GateSettings = field(default_factory=GateSettings)

    @property
    def regressions(self) -> list[KeyVerdict]:
        return [v for v in self.verdicts if v.verdict == Verdict.REGRESSION]

    @property
    def inconclusive(self) -> list[KeyVerdict]:
        return [v for v in self.verdicts if v.verdict == Verdict.INCONCLUSIVE]

    @property
    def exit_code(self) -> int:
        """1 on a regression; else 4 when a key's noise hid a threshold-sized slowdown; else 0."""
        if self.regressions:
            return 1
        return EXIT_INCONCLUSIVE if self.inconclusive else 0


def with_multiplicity(cmp: Comparison) -> Comparison:
    """The run's keys judged jointly when the settings ask (Holm), else as they are."""
    s = cmp.settings
    if s.multiplicity == "none":
        return cmp
    judged = [v for v in cmp.verdicts if v.p_value is not None and v.ratio is not None]
    for v, p in zip(judged, holm_adjust([v.p_value for v in judged]), strict=True):
        j = judge(v.ratio, v.ci_low, v.ci_high, p, s)
        v.verdict, v.p_value = j.verdict, p
    return cmp


def fingerprint_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    diffs = []
    for k in FINGERPRINT_KEYS:
        if a.get(k) != b.get(k):
            diffs.append(f"{k}: {a.get(k)!r} vs {b.get(k)!r}")
    va, vb = a.get("versions", {}), b.get("versions", {})
    for k in VERSION_KEYS:
        if va.get(k) != vb.get(k):
            diffs.append(f"{k} {va.get(k)} vs {vb.get(k)}")
    return diffs


def key_dict(row: ResultRow) -> dict[str, Any]:
    """A row's key as the verdicts carry it (JSON-friendly: the input shape a list)."""
    return {
        n: (list(v) if n == "input_shape" else v) for n, v in zip(ROW_KEY, row.key(), strict=True)
    }


# --------------------------------------------------------------------------- the reference
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
    def of(cls, base: RunDocument, cur: RunDocument, s: GateSettings) -> Normalisation:
        if not s.normalise:
            return cls(None, {}, {})
        drift = reference_drift(base, cur, s.reference, s.quantile)
        if s.pairing != "round":
            return cls(drift, {}, {})
        q = s.quantile
        return cls(
            drift, reference_levels(base, s.reference, q), reference_levels(cur, s.reference, q)
        )


# --------------------------------------------------------------------------- key by key
def pair_rows(
    base: RunDocument, cur: RunDocument
) -> list[tuple[ResultRow | None, ResultRow | None]]:
    """(baseline row, current row) per key, in a stable order; None where a side lacks the key."""
    b = {r.key(): r for r in base.rows}
    c = {r.key(): r for r in cur.rows}
    return [(b.get(k), c.get(k)) for k in sorted(set(b) | set(c), key=str)]


def judge_key(
    b_row: ResultRow,
    c_row: ResultRow,
    norm: Normalisation,
    s: GateSettings,
    rng: np.random.Generator,
) -> KeyVerdict:
    """One key present in both runs: normalised ratio, bootstrap interval, rank test, verdict."""
    q, scale = s.quantile, norm.drift or 1.0
    b = np.asarray(b_row.latency.samples_ns, dtype=np.float64)
    c = np.asarray(c_row.latency.samples_ns, dtype=np.float64) / scale
    if len(b) < MIN_SAMPLES or len(c) < MIN_SAMPLES:
        return KeyVerdict(
            key_dict(b_row), Verdict.NOT_COMPARABLE, note=f"fewer than {MIN_SAMPLES} samples"
        )
    raw = float(level_of(c, q) * scale / level_of(b, q))
    qb, qc = round_ratios(b_row, norm.ref_base, q), round_ratios(c_row, norm.ref_cur, q)
    if qb is not None and qc is not None:  # rounds are the unit: per-round normalised levels
        bs, cs = qb, qc
        ratio = float(np.median(cs) / np.median(bs))
        note = f"{len(bs)}/{len(cs)} rounds paired with the reference"
        ci_q = 50.0
    else:
        ratio = float(level_of(c, q) / level_of(b, q))
        bs, cs = subsample(b, s.max_samples, rng), subsample(c, s.max_samples, rng)
        note = "whole-run normalisation" if s.normalise and norm.drift else ""
        ci_q = q
    lo, hi = bootstrap_ratio_ci(bs, cs, s.n_boot, rng, q=ci_q)
    j = judge(ratio, lo, hi, mannwhitney_p(cs, bs), s)
    return KeyVerdict(
        key=key_dict(b_row),
        verdict=j.verdict,
        ratio=j.ratio,
        raw_ratio=raw,
        ci_low=j.ci_low,
        ci_high=j.ci_high,
        p_value=j.p_value,
        baseline_ms=float(np.median(b) / 1e6),
        current_ms=float(np.median(c) * scale / 1e6),
        min_detectable=j.min_detectable,
        note=note,
    )


def compare_runs(
    base: RunDocument, cur: RunDocument, settings: GateSettings | None = None
) -> Comparison:
    """Every key of either run judged: current against baseline."""
    s = settings or GateSettings()
    if s.normalise:
        check_references(base, cur, s.reference)
    rng = np.random.default_rng(s.seed)
    norm = Normalisation.of(base, cur, s)
    verdicts: list[KeyVerdict] = []
    for b, c in pair_rows(base, cur):
        if b is not None and c is not None:
            verdicts.append(judge_key(b, c, norm, s, rng))
        else:
            only = "only in the baseline" if c is None else "only in the current run"
            verdicts.append(KeyVerdict(key_dict(b or c), Verdict.NOT_COMPARABLE, note=only))
    return with_multiplicity(Comparison(verdicts=verdicts, drift=norm.drift, settings=s))
