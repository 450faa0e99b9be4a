"""Measure the latency gate: false alarms over A/A pairs, detections over real 20% slowdowns.

    python -m ecgbench.bench.gate_power --pairs 20 --suite runners/ci.toml --out gate_power/

Each iteration times three runs one after another, as separate CI runs would be (so machine drift
between runs is real): A (the suite), B (the same suite again) and C (the suite on an input 20%
longer, which makes every model do ~20% more work: a real slowdown, not scaled numbers). (A, B) is
an A/A pair, (A, C) a slowdown pair. The current run of a slowdown pair is relabelled with A's input
shape so that the gate compares it key by key, as it would a build that got slower.

Every run document is kept in ``OUT/runs/``, so the gate methods (no normalisation, whole-run
normalisation by the GEMM or the reference ConvNeXt, round-paired normalisation, medians or lower
quantiles) are judged on the same runs: ``--analyse OUT`` recomputes ``OUT/summary.json`` without timing anything.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from ecgbench.bench.results import read_run
from ecgbench.fileio import atomic_write_json
from ecgbench.regress import REGRESSION, GateSettings, compare_runs

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


def _relabel(doc, shape):
    for r in doc.rows:
        r.input_shape = list(shape)
    return doc


def measure(pairs: int, suite: Path, slowdown: float, out: Path) -> None:
    from ecgbench.bench.runner import RunOptions, run_plan
    from ecgbench.bench.suite import load_suite

    plan = load_suite(suite)  # as CI times it: same durations, slices and references
    base_samples = 5000
    slow = replace(plan, samples=round(base_samples * slowdown))
    plan = replace(plan, samples=base_samples)
    opts = RunOptions(use_store=False, verify=False, show_progress=False)
    runs = out / "runs"
    for i in range(pairs):
        a = run_plan(plan, opts, log=lambda m: None)
        b = run_plan(plan, opts, log=lambda m: None)
        c = _relabel(run_plan(slow, opts, log=lambda m: None), a.rows[0].input_shape)
        for tag, doc in (("a", a), ("b", b), ("c", c)):
            doc.write(runs / f"{i:03d}-{tag}.json")
        print(f"pair {i + 1}/{pairs} timed", flush=True)


def analyse(out: Path, threshold: float) -> dict:
    runs = out / "runs"
    n = len(sorted(runs.glob("*-a.json")))
    res: dict = {"pairs": n, "threshold": threshold, "methods": {}}
    docs = [{t: read_run(runs / f"{i:03d}-{t}.json") for t in "abc"} for i in range(n)]
    for name, kw in METHODS.items():
        st = GateSettings(threshold=threshold, **kw)
        aa, sl = [], []
        for d in docs:
            for tag, acc in (("b", aa), ("c", sl)):
                cmp = compare_runs(d["a"], d[tag], st)
                acc.append(
                    (sum(v.verdict == REGRESSION for v in cmp.verdicts), len(cmp.verdicts),
                     [v.ratio for v in cmp.verdicts if v.ratio is not None])
                )  # fmt: skip
        aa_r = np.array([r for *_, rs in aa for r in rs])
        sl_r = np.array([r for *_, rs in sl for r in rs])
        res["methods"][name] = {
            "false_alarm_rate_per_key": sum(x[0] for x in aa) / sum(x[1] for x in aa),
            "false_alarm_rate_per_run": float(np.mean([x[0] > 0 for x in aa])),
            "detection_rate_per_key": sum(x[0] for x in sl) / sum(x[1] for x in sl),
            "aa_ratio_sd": float(aa_r.std()),
            "aa_ratio_range": [float(aa_r.min()), float(aa_r.max())],
            "slow_ratio_median": float(np.median(sl_r)),
            "keys_per_run": aa[0][1],
        }
    atomic_write_json(out / "summary.json", res)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--suite", type=Path, default=Path("runners/ci.toml"))
    ap.add_argument("--slowdown", type=float, default=1.2)
    ap.add_argument("--threshold", type=float, default=1.10)
    ap.add_argument("--out", type=Path, default=Path("gate_power"))
    ap.add_argument("--analyse", action="store_true", help="only recompute the summary")
    a = ap.parse_args()
    if not a.analyse:
        measure(a.pairs, a.suite, a.slowdown, a.out)
    res = analyse(a.out, a.threshold)
    for name, m in res["methods"].items():
        print(
            f"{name:12s} false alarms {m['false_alarm_rate_per_key']:.1%}/key "
            f"({m['false_alarm_rate_per_run']:.0%} of runs), detection "
            f"{m['detection_rate_per_key']:.1%}/key, A/A ratio SD {m['aa_ratio_sd']:.3f}, "
            f"slowdown median ratio {m['slow_ratio_median']:.3f}"
        )
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
