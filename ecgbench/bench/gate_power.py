"""Measure the latency gate: false alarms over A/A pairs, detections over real 20% slowdowns.

    python -m ecgbench.bench.gate_power --pairs 20 --suite runners/ci.toml --out gate_power.json

Each iteration times three runs one after another, as separate CI runs would be (so machine drift
between runs is real): A (the suite), B (the same suite again) and C (the suite on an input 20%
longer, which makes every model do ~20% more work: a real slowdown, not scaled numbers). (A, B) is
an A/A pair, (A, C) a slowdown pair. The current run of a slowdown pair is relabelled with A's input
shape so that the gate compares it key by key, as it would a build that got slower.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from ecgbench.bench.runner import RunOptions, run_plan
from ecgbench.bench.suite import load_suite
from ecgbench.fileio import atomic_write_json
from ecgbench.regress import REGRESSION, GateSettings, compare_runs


def _relabel(doc, shape):
    for r in doc.rows:
        r.input_shape = list(shape)
    return doc


def measure(pairs: int, suite: Path, slowdown: float, duration: float, threshold: float) -> dict:
    plan = load_suite(suite)
    plan = replace(plan, duration=duration, min_iters=30, warmup=0.5)
    base_samples = 5000
    slow = replace(plan, samples=round(base_samples * slowdown))
    plan = replace(plan, samples=base_samples)
    opts = RunOptions(use_store=False, verify=False, show_progress=False)
    methods = {
        "model": GateSettings(threshold=threshold, reference="model"),
        "gemm": GateSettings(threshold=threshold, reference="gemm"),
        "raw": GateSettings(threshold=threshold, normalise=False),
    }
    out: dict = {"pairs": pairs, "threshold": threshold, "slowdown_input": slowdown,
                 "aa": [], "slow": []}  # fmt: skip
    for i in range(pairs):
        a = run_plan(plan, opts, log=lambda m: None)
        b = run_plan(plan, opts, log=lambda m: None)
        c = _relabel(run_plan(slow, opts, log=lambda m: None), a.rows[0].input_shape)
        for tag, cur in (("aa", b), ("slow", c)):
            rec = {}
            for name, st in methods.items():
                cmp = compare_runs(a, cur, st)
                rec[name] = {
                    "drift": cmp.drift,
                    "alarms": sum(v.verdict == REGRESSION for v in cmp.verdicts),
                    "keys": len(cmp.verdicts),
                    "ratios": [v.ratio for v in cmp.verdicts],
                }
            out[tag].append(rec)
        aa, sl = out["aa"][-1], out["slow"][-1]
        print(f"pair {i + 1}/{pairs}: " + "; ".join(
            f"{m}: A/A alarms {aa[m]['alarms']}/{aa[m]['keys']}, detections "
            f"{sl[m]['alarms']}/{sl[m]['keys']}, drift {aa[m]['drift'] or 1:.3f}" for m in methods
        ), flush=True)  # fmt: skip
    out["summary"] = summarise(out)
    return out


def summarise(out: dict) -> dict:
    res = {}
    for m in out["aa"][0]:
        aa = [p[m] for p in out["aa"]]
        sl = [p[m] for p in out["slow"]]
        aa_r = np.array([r for p in aa for r in p["ratios"] if r is not None])
        sl_r = np.array([r for p in sl for r in p["ratios"] if r is not None])
        res[m] = {
            "false_alarm_rate_per_key": sum(p["alarms"] for p in aa) / sum(p["keys"] for p in aa),
            "false_alarm_rate_per_pair": float(np.mean([p["alarms"] > 0 for p in aa])),
            "detection_rate_per_key": sum(p["alarms"] for p in sl) / sum(p["keys"] for p in sl),
            "detection_rate_per_pair_any": float(np.mean([p["alarms"] > 0 for p in sl])),
            "aa_ratio_sd": float(aa_r.std()),
            "aa_ratio_range": [float(aa_r.min()), float(aa_r.max())],
            "slow_ratio_median": float(np.median(sl_r)),
        }
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--suite", type=Path, default=Path("runners/ci.toml"))
    ap.add_argument("--slowdown", type=float, default=1.2)
    ap.add_argument("--duration", type=float, default=1.5)
    ap.add_argument("--threshold", type=float, default=1.10)
    ap.add_argument("--out", type=Path, default=Path("gate_power.json"))
    a = ap.parse_args()
    res = measure(a.pairs, a.suite, a.slowdown, a.duration, a.threshold)
    atomic_write_json(a.out, res)
    print(json.dumps(res["summary"], indent=2))


if __name__ == "__main__":
    main()
