"""Measure the latency gate: false alarms over A/A pairs, detections over real 20% slowdowns.

    ecgbench gate-power --pairs 20 --suite runners/ci.toml --out gate_power/

Each iteration times three runs one after another, as separate CI runs would be (so machine drift
between runs is real): A (the suite), B (the same suite again) and C (the suite on a longer input,
which makes every model do more work: a real slowdown, not scaled numbers). Latency grows less than
the input (fixed per-call costs), so the input is 25 % longer by default; the summary records the
slowdown each method measured. (A, B) is an A/A pair, (A, C) a slowdown pair. The current run of
a slowdown pair is relabelled with A's input shape so that the gate compares it key by key, as it
would a build that got slower.

Every run document is kept in ``OUT/runs/``, so the gate methods (no normalisation, whole-run
normalisation by the GEMM or the reference ConvNeXt, round-paired normalisation, medians or lower
quantiles) are judged on the same runs: ``--analyse --out OUT`` recomputes ``OUT/summary.json``
without timing anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from ecgbench.bench.results.document import RunDocument, read_run
from ecgbench.errors import BadInputError
from ecgbench.fileio import atomic_write_json
from ecgbench.gate.verdicts import GateSettings, compare_runs
from ecgbench.statistics import Verdict
from ecgbench.variant import Variant

METHODS = {
    "raw": dict(normalise=False),
    "gemm-run": dict(reference="gemm", pairing="run"),
    "model-run": dict(reference="model", pairing="run"),
    "gemm-round": dict(reference="gemm", pairing="round"),
    "model-round": dict(reference="model", pairing="round"),  # the default gate (alpha 0.05)
    # lower quantiles instead of medians: less of the tail that interference adds
    "raw-p25": dict(normalise=False, quantile=25.0),
    "raw-p10": dict(normalise=False, quantile=10.0),
    "model-run-p25": dict(reference="model", pairing="run", quantile=25.0),
    "model-round-p25": dict(reference="model", pairing="round", quantile=25.0),
    "model-round-p10": dict(reference="model", pairing="round", quantile=10.0),
    "model-round-a01": dict(reference="model", pairing="round", alpha=0.01),  # stricter rank test
}


def _relabel(doc: RunDocument, shape: list[int]) -> RunDocument:
    for r in doc.rows:
        r.input_shape = list(shape)
    return doc


BASE_SAMPLES = 5000


def _pairs(out: Path) -> list[dict[str, RunDocument]]:
    runs = out / "runs"
    n = len(sorted(runs.glob("*-a.json")))
    return [
        {t: read_run(p) for t in "abc" if (p := runs / f"{i:03d}-{t}.json").exists()}
        for i in range(n)
    ]


def calibrated_lengths(prev: Path, target: float = 1.2) -> dict[str, int]:
    """Per variant, the input length that makes it ``target`` times slower, from a measurement.

    A longer input slows each variant by a different factor (its fixed per-call cost differs).
    Latency is affine in length, so a variant that read ``s`` times slower on an
    input ``f`` times longer needs ``1 + (target - 1)(f - 1)/(s - 1)`` times the length. ``s`` is
    the default gate's median slowdown per key, from the measurement's ``summary.json``.
    """
    settings, summary = prev / "settings.json", prev / "summary.json"
    if not settings.exists():
        raise BadInputError(f"{prev} has no settings.json: cannot tell what slowdown it timed")
    if not summary.exists():
        raise BadInputError(f"{prev} has no summary.json: run --analyse --out {prev} first")
    f = float(json.loads(settings.read_text())["slowdown"])
    lengths = {}
    for key, m in json.loads(summary.read_text()).get("per_key", {}).items():
        if m.get("slow_ratio_median") is None:
            continue
        s = max(m["slow_ratio_median"], 1.02)
        factor = min(1 + (target - 1) * (f - 1) / (s - 1), 3.0)
        lengths[key] = round(BASE_SAMPLES * factor)
    return lengths


def measure(
    pairs: int,
    suite: Path,
    slowdown: float,
    out: Path,
    lengths: dict[str, int] | None = None,
    aa: bool = True,
    log: Callable[[str], None] = print,
) -> None:
    from ecgbench.bench.runner import RunOptions, run_plan
    from ecgbench.bench.suite import load_suite

    plan = load_suite(suite)  # as CI times it: same durations, slices and references
    if lengths:
        slow = replace(plan, input_samples=BASE_SAMPLES, input_samples_by_variant=lengths)
    else:
        slow = replace(plan, input_samples=round(BASE_SAMPLES * slowdown))
    plan = replace(plan, input_samples=BASE_SAMPLES)
    opts = RunOptions(use_store=False, verify=False, show_progress=False)
    runs = out / "runs"
    atomic_write_json(
        out / "settings.json",
        {"suite": str(suite), "slowdown": slowdown, "lengths": lengths or {}, "aa": aa},
    )
    for i in range(pairs):
        a = run_plan(plan, opts, log=lambda m: None)
        docs = {"a": a}
        if aa:
            docs["b"] = run_plan(plan, opts, log=lambda m: None)
        docs["c"] = _relabel(run_plan(slow, opts, log=lambda m: None), a.rows[0].input_shape)
        for tag, doc in docs.items():
            doc.write(runs / f"{i:03d}-{tag}.json")
        log(f"pair {i + 1}/{pairs} timed")


def _rate(hits: list[tuple[int, int]]) -> float | None:
    total = sum(n for _, n in hits)
    return sum(k for k, _ in hits) / total if total else None


def _key_counts(v: dict[str, list]) -> dict:
    slow = [r for _, r in v["c"] if r]
    return {
        "false_alarms": sum(hit for hit, _ in v["b"]),
        "aa_pairs": len(v["b"]),
        "detections": sum(hit for hit, _ in v["c"]),
        "slow_pairs": len(v["c"]),
        "slow_ratio_median": float(np.median(slow)) if v["c"] else None,
    }


def analyse(out: Path, threshold: float) -> dict:
    docs = _pairs(out)
    res: dict = {"pairs": len(docs), "threshold": threshold, "methods": {}, "per_key": {}}
    if (out / "settings.json").exists():  # what was timed (runs measured before it lack the file)
        res.update(json.loads((out / "settings.json").read_text()))
    for name, kw in METHODS.items():
        st = GateSettings(threshold=threshold, **kw)
        found: dict[str, list] = {"b": [], "c": []}  # per pair: (regressions, keys, ratios)
        per_key: dict[str, dict[str, list]] = {}
        for d in docs:
            for tag in (t for t in "bc" if t in d):
                cmp = compare_runs(d["a"], d[tag], st)
                regressions = sum(v.verdict == Verdict.REGRESSION for v in cmp.verdicts)
                ratios = [v.ratio for v in cmp.verdicts if v.ratio is not None]
                found[tag].append((regressions, len(cmp.verdicts), ratios))
                for v in cmp.verdicts:
                    k = Variant(v.key["model"], v.key["backend"], v.key["precision"]).name
                    per_key.setdefault(k, {"b": [], "c": []})[tag].append(
                        (v.verdict == Verdict.REGRESSION, v.ratio)
                    )
        aa, sl = found["b"], found["c"]
        aa_r = np.array([r for *_, rs in aa for r in rs])
        sl_r = np.array([r for *_, rs in sl for r in rs])
        res["methods"][name] = {
            "false_alarm_rate_per_key": _rate([(k, n) for k, n, _ in aa]),
            "false_alarm_rate_per_run": float(np.mean([k > 0 for k, *_ in aa])) if aa else None,
            "detection_rate_per_key": _rate([(k, n) for k, n, _ in sl]),
            "detection_rate_per_run": float(np.mean([k > 0 for k, *_ in sl])) if sl else None,
            "aa_ratio_sd": float(aa_r.std()) if aa_r.size else None,
            "aa_ratio_range": [float(aa_r.min()), float(aa_r.max())] if aa_r.size else None,
            "slow_ratio_median": float(np.median(sl_r)) if sl_r.size else None,
            "keys_per_run": (aa or sl)[0][1] if (aa or sl) else 0,
        }
        if name == "model-round":  # the default gate, key by key
            res["per_key"] = {k: _key_counts(v) for k, v in sorted(per_key.items())}
    atomic_write_json(out / "summary.json", res)
    return res


def _pct(x: float | None, spec: str = ".1%") -> str:
    return "–" if x is None else format(x, spec)


def summary_lines(res: dict) -> list[str]:
    """The summary for a terminal: one line per method, then the default gate key by key."""
    lines = [
        f"{name:15s} false alarms {_pct(m['false_alarm_rate_per_key'])}/key "
        f"({_pct(m['false_alarm_rate_per_run'], '.0%')} of runs), detection "
        f"{_pct(m['detection_rate_per_key'])}/key "
        f"({_pct(m['detection_rate_per_run'], '.0%')} of runs), "
        f"A/A ratio SD {_pct(m['aa_ratio_sd'], '.3f')}, "
        f"slowdown median ratio {_pct(m['slow_ratio_median'], '.3f')}"
        for name, m in res["methods"].items()
    ]
    lines += [
        f"  {k:40s} false alarms {m['false_alarms']}/{m['aa_pairs']}, detections "
        f"{m['detections']}/{m['slow_pairs']}, slowdown {_pct(m['slow_ratio_median'], '.3f')}"
        for k, m in res["per_key"].items()
    ]
    return lines
