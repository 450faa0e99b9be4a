"""Latency regression verdicts: baseline run vs current run, robust on noisy shared machines.

Per key (model, backend, device, precision, scenario, batch, input shape): the ratio of medians, a
bootstrap confidence interval of that ratio, and a Mann–Whitney U test (the statistics airspeed
velocity uses). Machine drift is removed with a reference workload that each run timed interleaved
with its models (a fixed ConvNeXt-1D on OpenVINO by default, or the FP32 GEMM):

- ``pairing="round"`` (default): every time slice of a key is divided by the reference's slice of
  the same round, a few seconds apart, so drift slower than a round cancels; the run's level is the
  median of those per-round ratios, and the CI and rank test resample rounds, not single calls
  (calls in one slice are not independent, and treating them so makes every difference
  "significant").
- ``pairing="run"``: the whole run's median is divided by the reference's whole-run median (runs
  written before slices were recorded fall back to this).

A slowdown is a regression only when the normalised ratio exceeds the threshold, its confidence
interval lies above 1, and the rank test is significant.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ecgbench.bench.results import ROW_KEY, RunDocument
from ecgbench.errors import BadInputError

REGRESSION, IMPROVEMENT, UNCHANGED, NOT_COMPARABLE = (
    "regression",
    "improvement",
    "unchanged",
    "not comparable",
)
# What must match for two runs to be compared without --allow-different-machine.
FINGERPRINT_KEYS = ("cpu_model", "isa", "threads")
VERSION_KEYS = ("openvino", "onnxruntime", "torch", "nncf", "onnx")


@dataclass(frozen=True)
class GateSettings:
    threshold: float = 1.10
    # 0.05, measured (python -m ecgbench.bench.gate_power, README "Measuring the gate"): with 30
    # rounds a side, 0.01 removed 1 of 5 false alarms in 160 A/A keys and 2 of 146 detections;
    # with 8 rounds it halved the detections.
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


@dataclass
class Verdict:
    key: dict[str, Any]
    verdict: str
    ratio: float | None = None  # current / baseline median, normalised if enabled
    raw_ratio: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    baseline_ms: float | None = None
    current_ms: float | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Comparison:
    verdicts: list[Verdict]
    drift: float | None  # current/baseline GEMM reference ratio (1.0 = no drift)
    machine_note: str = ""
    settings: GateSettings = field(default_factory=GateSettings)

    @property
    def regressions(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.verdict == REGRESSION]

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions else 0


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


def _key(r) -> tuple:
    return r.key()


def _key_dict(k: tuple) -> dict[str, Any]:
    return {n: (list(v) if n == "input_shape" else v) for n, v in zip(ROW_KEY, k, strict=True)}


def precision_shown(key: dict[str, Any]) -> str:
    """``fp32 (f32)``: what was asked for and what ran."""
    ex = key.get("executed")
    return f"{key['precision']} ({ex})" if ex else str(key["precision"])


def _reference(doc: RunDocument, which: str) -> dict[str, Any]:
    if which == "model" and "model" in doc.reference:
        return doc.reference["model"]
    return doc.reference


def _level(a, q: float = 50.0, axis=None):
    return np.median(a, axis=axis) if q == 50.0 else np.percentile(a, q, axis=axis)


def reference_drift(
    base: RunDocument, cur: RunDocument, which: str = "model", q: float = 50.0
) -> float | None:
    """Ratio (current / baseline) of the level of a reference workload timed inside each run."""
    b = _reference(base, which).get("samples_ns") or []
    c = _reference(cur, which).get("samples_ns") or []
    if not b or not c:
        return None
    return float(_level(c, q) / _level(b, q))


def slice_levels(
    samples_ns: list[int], slices: list[list[int]], q: float = 50.0
) -> dict[int, float]:
    """Level (median by default) of each time slice, by round number."""
    out: dict[int, float] = {}
    a = np.asarray(samples_ns, dtype=np.float64)
    starts = [int(s[1]) for s in slices] + [len(a)]
    for (rnd, _), lo, hi in zip(slices, starts[:-1], starts[1:], strict=True):
        if hi > lo:
            out[int(rnd)] = float(_level(a[lo:hi], q))
    return out


def reference_levels(doc: RunDocument, which: str, q: float = 50.0) -> dict[int, float]:
    """The reference workload's level per round (empty for runs written without slices)."""
    ref = _reference(doc, which)
    if not ref.get("slices"):
        return {}
    return slice_levels(ref.get("samples_ns") or [], ref["slices"], q)


def round_ratios(row, ref_levels: dict[int, float], q: float = 50.0) -> np.ndarray | None:
    """Per round: the key's slice level over the reference's level in the same round."""
    if not row.slices or not ref_levels:
        return None
    k = slice_levels(row.samples_ns, row.slices, q)
    r = ref_levels
    common = sorted(set(k) & set(r))
    if len(common) < 3:
        return None
    return np.array([k[i] / r[i] for i in common])


def bootstrap_ratio_ci(
    base: np.ndarray, cur: np.ndarray, n_boot: int, rng: np.random.Generator, level: float = 0.95,
    q: float = 50.0,
) -> tuple[float, float]:  # fmt: skip
    """Percentile bootstrap CI of level(cur)/level(base), resampling each side independently."""
    bi = rng.integers(0, len(base), size=(n_boot, len(base)))
    ci = rng.integers(0, len(cur), size=(n_boot, len(cur)))
    ratios = _level(cur[ci], q, axis=1) / _level(base[bi], q, axis=1)
    lo, hi = np.percentile(ratios, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return float(lo), float(hi)


def _subsample(a: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return a if len(a) <= n else rng.choice(a, size=n, replace=False)


def gate_verdict(ratio: float, lo: float, hi: float, p: float, s: GateSettings) -> str:
    """The gate's one rule: past the threshold, the interval clear of 1, and the test significant."""
    if ratio > s.threshold and lo > 1.0 and p < s.alpha:
        return REGRESSION
    if ratio < 1 / s.threshold and hi < 1.0 and p < s.alpha:
        return IMPROVEMENT
    return UNCHANGED


def compare_runs(
    base: RunDocument,
    cur: RunDocument,
    settings: GateSettings | None = None,
) -> Comparison:
    from scipy.stats import mannwhitneyu

    s = settings or GateSettings()
    if s.normalise:
        lb, lc = (
            _reference(base, s.reference).get("label"),
            _reference(cur, s.reference).get("label"),
        )
        if lb and lc and lb != lc:
            raise BadInputError(
                f"the baseline's reference workload ({lb}) is not this run's ({lc}): the ratios "
                "would move with the reference, not the change; re-record the baseline "
                "(ecgbench baseline update) or compare with --no-normalise"
            )
    rng = np.random.default_rng(s.seed)
    q = s.quantile
    drift = reference_drift(base, cur, s.reference, q) if s.normalise else None
    scale = drift or 1.0
    paired_mode = s.normalise and s.pairing == "round"
    ref_b = reference_levels(base, s.reference, q) if paired_mode else {}
    ref_c = reference_levels(cur, s.reference, q) if paired_mode else {}
    b_rows = {_key(r): r for r in base.rows}
    c_rows = {_key(r): r for r in cur.rows}
    verdicts: list[Verdict] = []
    for k in sorted(set(b_rows) | set(c_rows), key=str):
        if k not in c_rows:
            verdicts.append(Verdict(_key_dict(k), NOT_COMPARABLE, note="only in the baseline"))
            continue
        if k not in b_rows:
            verdicts.append(Verdict(_key_dict(k), NOT_COMPARABLE, note="only in the current run"))
            continue
        b = np.asarray(b_rows[k].samples_ns, dtype=np.float64)
        c = np.asarray(c_rows[k].samples_ns, dtype=np.float64) / scale
        if len(b) < 5 or len(c) < 5:
            verdicts.append(Verdict(_key_dict(k), NOT_COMPARABLE, note="fewer than 5 samples"))
            continue
        raw = float(_level(c, q) * scale / _level(b, q))
        paired = None
        if paired_mode:
            qb = round_ratios(b_rows[k], ref_b, q)
            qc = round_ratios(c_rows[k], ref_c, q)
            paired = (qb, qc) if qb is not None and qc is not None else None
        if paired is not None:  # rounds are the unit: per-round normalised levels
            bs, cs = paired
            ratio = float(np.median(cs) / np.median(bs))
            note = f"{len(bs)}/{len(cs)} rounds paired with the reference"
        else:
            ratio = float(_level(c, q) / _level(b, q))
            bs, cs = _subsample(b, s.max_samples, rng), _subsample(c, s.max_samples, rng)
            note = "whole-run normalisation" if s.normalise and drift else ""
        lo, hi = bootstrap_ratio_ci(bs, cs, s.n_boot, rng, q=q if paired is None else 50.0)
        p = float(mannwhitneyu(cs, bs, alternative="two-sided").pvalue)
        v = gate_verdict(ratio, lo, hi, p, s)
        verdicts.append(
            Verdict(
                key=_key_dict(k),
                verdict=v,
                ratio=ratio,
                raw_ratio=raw,
                ci_low=lo,
                ci_high=hi,
                p_value=p,
                baseline_ms=float(np.median(b) / 1e6),
                current_ms=float(np.median(c) * scale / 1e6),
                note=note,
            )
        )
    return Comparison(verdicts=verdicts, drift=drift, settings=s)


def markdown_summary(cmp: Comparison, title: str = "ecgbench latency gate") -> str:
    icon = {REGRESSION: "🔴", IMPROVEMENT: "🟢", UNCHANGED: "⚪", NOT_COMPARABLE: "⚠️"}
    n_reg = len(cmp.regressions)
    head = f"## {title}: " + (f"{n_reg} regression(s)" if n_reg else "no regression")
    lines = [head, ""]
    s = cmp.settings
    drift = f"{cmp.drift:.3f}" if cmp.drift else "n/a"
    how = {"round": "round by round (each time slice against the reference's slice of the same "
           "round)", "run": "by the whole-run reference ratio"}[s.pairing]  # fmt: skip
    lines.append(
        f"Threshold ×{s.threshold:.2f}, α={s.alpha}; machine drift ({s.reference} reference, "
        f"current / baseline) {drift}"
        + (f"; ratios normalised {how}." if cmp.drift and s.normalise else ".")
    )
    if cmp.machine_note:
        lines.append(f"\n> {cmp.machine_note}")
    lines += [
        "",
        "| | model | backend | device | precision | baseline ms | current ms | ratio | 95% CI | p |",
        "|---|---|---|---|---|---:|---:|---:|---|---:|",
    ]
    for v in cmp.verdicts:
        k = v.key

        def f(x, spec):
            return "–" if x is None else format(x, spec)

        ci = f"{v.ci_low:.3f}–{v.ci_high:.3f}" if v.ci_low is not None else v.note
        lines.append(
            f"| {icon[v.verdict]} {v.verdict} | {k['model']} | {k['backend']} | {k['device']} | "
            f"{precision_shown(k)} | {f(v.baseline_ms, '.3f')} | {f(v.current_ms, '.3f')} | "
            f"{f(v.ratio, '.3f')} | {ci} | {f(v.p_value, '.1e')} |"
        )
    return "\n".join(lines) + "\n"
