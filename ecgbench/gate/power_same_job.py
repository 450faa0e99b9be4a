"""Measure the same-job gate: A/A false alarms and detections of a real ~20 % slowdown.

    ecgbench gate-power-same-job --runs 10 --suite runners/ci.toml --out DIR

Each run times three zoos in the same interleaved rounds, as ``ecgbench gate`` times base and head
when only models differ: A (the suite's zoo models), A' (a byte-identical copy: an A/A pair with
A) and C (the same weights whose checkpoint asks for a 25 % longer input window, a heavier model
file: ×1.2 slower, measured and reported). (A, A') counts false alarms, (A, C) detections, with
``compare_same_run``, the gate's own verdicts. Every document lands in ``DIR/runs/``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from ecgbench.bench.results import read_run
from ecgbench.bench.suite import load_suite
from ecgbench.checkpoint import load_checkpoint, save_checkpoint
from ecgbench.fileio import atomic_write_json
from ecgbench.gate.compare import GateSettings
from ecgbench.gate.paired import compare_same_run
from ecgbench.gate.same_job import time_zoos
from ecgbench.gate.stats import Verdict
from ecgbench.variant import Variant
from ecgbench.zoo import Zoo


def build_zoos(models: list[str], slowdown: float, work: Path) -> list[Path]:
    """A, A' (a copy) and C (longer input window) holding ``models`` from the repo's zoo."""
    src = Zoo()
    dirs = [work / "a", work / "a2", work / "c"]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    for name in models:
        path = src.verify(name)
        for d in dirs[:2]:
            shutil.copyfile(path, d / f"{name}.pt")
            Zoo(d).add(d / f"{name}.pt", name=name)
        ck = load_checkpoint(path)
        pp = replace(ck.preprocessing, eval_seconds=ck.preprocessing.eval_seconds * slowdown)
        tmp = work / f"{name}-slow.pt"
        save_checkpoint(replace(ck, preprocessing=pp), tmp)
        Zoo(dirs[2]).add(tmp, name=name)
    return dirs


def measure(
    runs: int, suite: Path, slowdown: float, out: Path, log: Callable[[str], None] = print
) -> None:
    plan = load_suite(suite)
    names = [m for m in plan.models if m != "all"] or Zoo().names()
    zoos = build_zoos(names, slowdown, out / "zoos")
    atomic_write_json(out / "settings.json", {"suite": str(suite), "slowdown": slowdown})
    for i in range(runs):
        t0 = time.perf_counter()
        docs = time_zoos(plan, zoos, log=lambda m: None)
        for tag, d in zip("abc", docs, strict=True):
            d.write(out / "runs" / f"{i:03d}-{tag}.json")
        log(f"run {i + 1}/{runs} timed ({time.perf_counter() - t0:.0f} s)")


def analyse(out: Path, threshold: float = 1.10) -> dict:
    s = GateSettings(threshold=threshold)
    n = len(list((out / "runs").glob("*-a.json")))
    aa_runs, sl_runs, per_key = [], [], {}
    for i in range(n):
        a, a2, c = (read_run(out / "runs" / f"{i:03d}-{t}.json") for t in "abc")
        for tag, other, bucket in (("aa", a2, aa_runs), ("slow", c, sl_runs)):
            cmp = compare_same_run(a, other, s)
            bucket.append(sum(v.verdict == Verdict.REGRESSION for v in cmp.verdicts))
            for v in cmp.verdicts:
                k = Variant(v.key["model"], v.key["backend"], v.key["precision"]).name
                per_key.setdefault(k, {"aa": [], "slow": []})[tag].append(
                    (v.verdict == Verdict.REGRESSION, v.ratio, v.ci_low, v.ci_high)
                )
    keys = len(per_key)
    res = {
        "runs": n,
        "threshold": threshold,
        "keys_per_run": keys,
        "false_alarm_runs": int(sum(k > 0 for k in aa_runs)),
        "false_alarm_keys": int(sum(aa_runs)),
        "detection_runs": int(sum(k > 0 for k in sl_runs)),
        "detected_keys": int(sum(sl_runs)),
        "per_key": {
            k: {
                "false_alarms": sum(h for h, *_ in v["aa"]),
                "detections": sum(h for h, *_ in v["slow"]),
                "aa_ratio_median": float(np.median([r for _, r, *_ in v["aa"] if r])),
                "slow_ratio_median": float(np.median([r for _, r, *_ in v["slow"] if r])),
                "slow_ci_width_median": float(
                    np.median([hi - lo for _, _, lo, hi in v["slow"] if lo is not None])
                ),
            }
            for k, v in sorted(per_key.items())
        },
    }
    atomic_write_json(out / "summary.json", res)
    return res


def summary_lines(res: dict) -> list[str]:
    """The summary for a terminal: the totals, then key by key."""
    lines = [
        f"{res['runs']} runs x {res['keys_per_run']} keys: A/A false alarms in "
        f"{res['false_alarm_runs']}/{res['runs']} runs ({res['false_alarm_keys']} keys); "
        f"slowdown detected in {res['detection_runs']}/{res['runs']} runs "
        f"({res['detected_keys']}/{res['runs'] * res['keys_per_run']} keys)"
    ]
    lines += [
        f"  {k:40s} false alarms {m['false_alarms']}, detections {m['detections']}, "
        f"A/A ×{m['aa_ratio_median']:.3f}, slowdown ×{m['slow_ratio_median']:.3f} "
        f"(CI width {m['slow_ci_width_median']:.3f})"
        for k, m in res["per_key"].items()
    ]
    return lines


if __name__ == "__main__":  # the same as `ecgbench gate-power-same-job`
    import sys

    from ecgbench.cli import main

    sys.argv[1:1] = ["gate-power-same-job"]
    main()
