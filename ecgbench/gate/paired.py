"""The same-job gate's verdicts: head over base, paired where both were timed together.

Rows timed in the same interleaved rounds give one ratio per round; whole runs alternated
base/head give one ratio per adjacent pair. Either way the verdict is the gate's one rule
(:func:`ecgbench.statistics.judge`) on those paired ratios.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.schema import ResultRow
from ecgbench.gate.compare import (
    Comparison,
    GateSettings,
    KeyVerdict,
    key_dict,
    with_multiplicity,
)
from ecgbench.gate.speedup import paired_round_ratios
from ecgbench.statistics import Verdict, judge, log_t_interval, median_ci, wilcoxon_p

# What a head row is judged against: the same variant as asked. Unlike a stored baseline, the
# input length and the executed arithmetic are part of what a revision may change (a longer
# window, a model that now runs bf16): they are shown, not used to keep rows apart.
PAIR_KEY = ("model", "backend", "device", "precision", "scenario", "batch")


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


def _pair_key(r: ResultRow) -> tuple:
    return tuple(getattr(r, k) for k in PAIR_KEY)


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
    b = {_pair_key(r): r for r in base.rows}
    h = {_pair_key(r): r for r in head.rows}
    out = []
    for k in sorted(set(b) | set(h), key=str):
        if k not in h or k not in b:
            where = "base" if k in b else "head"
            out.append(
                KeyVerdict(
                    key_dict(b.get(k) or h[k]), Verdict.NOT_COMPARABLE, note=f"only in {where}"
                )
            )
            continue
        ratios = paired_round_ratios(b[k], h[k])
        bm, hm = b[k].latency.median_ms, h[k].latency.median_ms
        v = paired_verdict(key_dict(h[k]), ratios, bm, hm, s, "round")
        out.append(_with_note(v, _what_changed(b[k], h[k])))
    return with_multiplicity(Comparison(verdicts=out, drift=None, settings=s))


def compare_run_pairs(pairs: list[tuple[RunDocument, RunDocument]], s: GateSettings) -> Comparison:
    """Whole runs alternated base/head: one ratio (of the runs' medians) per adjacent pair."""
    keys: dict[tuple, dict[str, Any]] = {}
    ratios: dict[tuple, list[float]] = {}
    med: dict[tuple, tuple[list[float], list[float]]] = {}
    only: dict[tuple, str] = {}
    changed: dict[tuple, str] = {}
    for base, head in pairs:
        b = {_pair_key(r): r for r in base.rows}
        h = {_pair_key(r): r for r in head.rows}
        for k in set(b) | set(h):
            keys.setdefault(k, key_dict(h.get(k) or b[k]))
            if k not in b or k not in h:
                only[k] = "base" if k in b else "head"
                continue
            bm, hm = b[k].latency.median_ms, h[k].latency.median_ms
            ratios.setdefault(k, []).append(hm / bm)
            changed[k] = _what_changed(b[k], h[k])
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
    keyed = [
        ({_pair_key(r): r for r in b.rows}, {_pair_key(r): r for r in h.rows}) for b, h in pairs
    ]
    for v in first.verdicts:
        if v.verdict not in FLAGGED:
            pooled.append(v)
            continue
        k = tuple(v.key[n] for n in PAIR_KEY)
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
    pooled = {tuple(v.key[n] for n in PAIR_KEY): v for v in compare_run_pairs(pairs, s).verdicts}
    out = []
    for v in first.verdicts:
        again = pooled.get(tuple(v.key[n] for n in PAIR_KEY))
        if v.verdict in FLAGGED and again is not None:
            out.append(_with_note(again, f"confirmed: {len(pairs)} pairs ({v.verdict} at first)"))
        else:
            out.append(v)
    return Comparison(verdicts=out, drift=None, settings=s)
