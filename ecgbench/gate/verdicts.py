"""The gate's verdicts, key by key: a baseline run against a current one, or head against base.

Stored baseline (:func:`compare_runs`): per key (model, backend, device, precision, executed,
scenario, batch, input shape) the ratio of medians, a bootstrap confidence interval of that ratio,
and a Mann–Whitney U test (the statistics airspeed velocity uses). Machine drift is removed with a
reference workload each run timed interleaved with its models (:mod:`ecgbench.gate.normalise`):

- ``pairing="round"`` (default): every time slice of a key is divided by the reference's slice of
  the same round, a few seconds apart, so drift slower than a round cancels; the run's level is the
  median of those per-round ratios, and the CI and rank test resample rounds, not single calls
  (calls in one slice are not independent, and treating them so makes every difference
  "significant").
- ``pairing="run"``: the whole run's median is divided by the reference's whole-run median (runs
  written before slices were recorded fall back to this).

Same job: rows timed in the same interleaved rounds give one ratio per round; whole runs
alternated base/head one per adjacent pair. Either way a slowdown is a regression only when the
ratio exceeds the threshold, its interval lies above 1, and the test is significant
(:func:`ecgbench.statistics.judge`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.pairing import (
    PairKey,
    key_dict,
    pair_key,
    pair_rows,
    paired_round_ratios,
)
from ecgbench.bench.results.schema import ResultRow
from ecgbench.errors import BadInputError
from ecgbench.gate.normalise import Normalisation, check_references, round_ratios
from ecgbench.numbers import FINITE, PROBABILITY, Range, check_number
from ecgbench.statistics import (
    Verdict,
    bootstrap_ratio_ci,
    holm_adjust,
    judge,
    level_of,
    log_t_interval,
    mannwhitney_p,
    median_ci,
    subsample,
    wilcoxon_p,
)

__all__ = [
    "Comparison",
    "GateSettings",
    "KeyVerdict",
    "Verdict",
    "compare_run_pairs",
    "compare_runs",
    "compare_same_run",
]

# What must match for two runs to be compared without --allow-different-machine.
MIN_SAMPLES = 5
EXIT_INCONCLUSIVE = 4  # README "Gating CI on latency": exit codes 0 / 1 / 2 / 3 / 4


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


# --------------------------------------------------------------------------- stored baseline
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
    for _, b, c in pair_rows(base.rows, cur.rows, key=ResultRow.key):
        if b is not None and c is not None:
            verdicts.append(judge_key(b, c, norm, s, rng))
        else:
            only = "only in the baseline" if c is None else "only in the current run"
            verdicts.append(KeyVerdict(key_dict(b or c), Verdict.NOT_COMPARABLE, note=only))
    return with_multiplicity(Comparison(verdicts=verdicts, drift=norm.drift, settings=s))


# --------------------------------------------------------------------------- same job
def paired_verdict(
    key: dict[str, Any],
    ratios: np.ndarray,
    base_ms: float,
    head_ms: float,
    s: GateSettings,
    unit: str,
) -> KeyVerdict:
    """The gate's rule on paired ratios (head over base): threshold, interval and test.

    ``unit="round"`` (many interleaved rounds): median, bootstrap interval, signed-rank test.
    ``unit="run"`` (a few alternated whole runs): geometric mean, t-interval, t-test."""
    if len(ratios) < 3:
        return KeyVerdict(
            key, Verdict.NOT_COMPARABLE, note=f"{len(ratios)} paired {unit}s (need 3)"
        )
    if unit == "round":
        ratio = float(np.median(ratios))
        lo, hi = median_ci(ratios, n_boot=s.n_boot, seed=s.seed)
        p = wilcoxon_p(ratios)
    else:
        ratio, lo, hi, p = log_t_interval(ratios)
    j = judge(ratio, lo, hi, p, s)
    return KeyVerdict(
        key=key,
        verdict=j.verdict,
        ratio=j.ratio,
        raw_ratio=head_ms / base_ms,
        ci_low=j.ci_low,
        ci_high=j.ci_high,
        p_value=j.p_value,
        baseline_ms=base_ms,
        current_ms=head_ms,
        min_detectable=j.min_detectable,
        note=f"{len(ratios)} {unit}s paired",
    )


def _what_changed(b: ResultRow, h: ResultRow) -> str:
    out = []
    if list(b.input_shape) != list(h.input_shape):
        out.append(
            f"input {'x'.join(map(str, b.input_shape))} → {'x'.join(map(str, h.input_shape))}"
        )
    if b.executed != h.executed:
        out.append(f"ran as {b.executed} → {h.executed}")
    return "; ".join(out)


def _with_note(v: KeyVerdict, extra: str) -> KeyVerdict:
    if extra:
        v.note = f"{v.note}; {extra}" if v.note else extra
    return v


def compare_same_run(base: RunDocument, head: RunDocument, s: GateSettings) -> Comparison:
    """Rows timed in the same interleaved rounds: one ratio per round."""
    out = []
    for _, b, h in pair_rows(base.rows, head.rows):
        if b is None or h is None:
            where = "base" if h is None else "head"
            out.append(
                KeyVerdict(key_dict(b or h), Verdict.NOT_COMPARABLE, note=f"only in {where}")
            )
            continue
        ratios = paired_round_ratios(b, h)
        bm, hm = b.latency.median_ms, h.latency.median_ms
        v = paired_verdict(key_dict(h), ratios, bm, hm, s, "round")
        out.append(_with_note(v, _what_changed(b, h)))
    return with_multiplicity(Comparison(verdicts=out, drift=None, settings=s))


def compare_run_pairs(pairs: list[tuple[RunDocument, RunDocument]], s: GateSettings) -> Comparison:
    """Whole runs alternated base/head: one ratio (of the runs' medians) per adjacent pair."""
    keys: dict[PairKey, dict[str, Any]] = {}
    ratios: dict[PairKey, list[float]] = {}
    med: dict[PairKey, tuple[list[float], list[float]]] = {}
    only: dict[PairKey, str] = {}
    changed: dict[PairKey, str] = {}
    for base, head in pairs:
        for k, b, h in pair_rows(base.rows, head.rows):
            keys.setdefault(k, key_dict(h or b))  # type: ignore[arg-type]
            if b is None or h is None:
                only[k] = "base" if h is None else "head"
                continue
            bm, hm = b.latency.median_ms, h.latency.median_ms
            ratios.setdefault(k, []).append(hm / bm)
            changed[k] = _what_changed(b, h)
            mb, mh = med.setdefault(k, ([], []))
            mb.append(bm)
            mh.append(hm)
    out = []
    for k in sorted(keys, key=str):
        if k not in ratios:
            out.append(
                KeyVerdict(keys[k], Verdict.NOT_COMPARABLE, note=f"only in {only.get(k, '?')}")
            )
            continue
        mb, mh = med[k]
        v = paired_verdict(
            keys[k], np.array(ratios[k]), float(np.median(mb)), float(np.median(mh)), s, "run"
        )
        out.append(_with_note(v, changed.get(k, "")))
    return with_multiplicity(Comparison(verdicts=out, drift=None, settings=s))


FLAGGED = (Verdict.REGRESSION, Verdict.INCONCLUSIVE)


def flagged_keys(cmp: Comparison) -> list[dict[str, Any]]:
    """The keys a first timing flagged: worth re-timing before failing or shrugging."""
    return [v.key for v in cmp.verdicts if v.verdict in FLAGGED]


def confirm_same_run(
    first: Comparison, pairs: list[tuple[RunDocument, RunDocument]], s: GateSettings
) -> Comparison:
    """Flagged keys judged again on the rounds of every timing in ``pairs`` (the first included).

    The re-timing is fresh, independent rounds of just those keys, interleaved as before. A false
    alarm must now survive twice the rounds, half of them blind to the first's luck; a real
    slowdown gains the narrower interval of twice the rounds. Unflagged keys keep their verdict."""
    pooled = []
    keyed = [({pair_key(r): r for r in b.rows}, {pair_key(r): r for r in h.rows}) for b, h in pairs]
    for v in first.verdicts:
        if v.verdict not in FLAGGED:
            pooled.append(v)
            continue
        k = pair_key(v.key)
        parts, base_ms, head_ms = [], [], []
        for b_rows, h_rows in keyed:
            b, h = b_rows.get(k), h_rows.get(k)
            if b is not None and h is not None:
                parts.append(paired_round_ratios(b, h))
                base_ms.append(b.latency.median_ms)
                head_ms.append(h.latency.median_ms)
        ratios = np.concatenate(parts) if parts else np.array([])
        again = paired_verdict(
            v.key, ratios, float(np.median(base_ms)), float(np.median(head_ms)), s, "round"
        )
        changed = "; ".join(p for p in v.note.split("; ") if "→" in p)
        again = _with_note(again, f"confirmed: {len(parts)} timings ({v.verdict} at first)")
        pooled.append(_with_note(again, changed))
    # (Holm, where asked, already judged the first timing's keys jointly)
    return Comparison(verdicts=pooled, drift=None, settings=s)


def confirm_run_pairs(
    first: Comparison, pairs: list[tuple[RunDocument, RunDocument]], s: GateSettings
) -> Comparison:
    """Code mode's confirmation: flagged keys judged on the first pairs and the new ones."""
    pooled = {pair_key(v.key): v for v in compare_run_pairs(pairs, s).verdicts}
    out = []
    for v in first.verdicts:
        again = pooled.get(pair_key(v.key))
        if v.verdict in FLAGGED and again is not None:
            out.append(_with_note(again, f"confirmed: {len(pairs)} pairs ({v.verdict} at first)"))
        else:
            out.append(v)
    return Comparison(verdicts=out, drift=None, settings=s)
