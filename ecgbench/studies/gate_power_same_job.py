"""Measure the same-job gate: A/A false alarms and detections of a real ~20 % slowdown.

    ecgbench gate-power-same-job --runs 10 --suite runners/ci.toml --out DIR

Each run times three zoos in the same interleaved rounds, as ``ecgbench gate`` times base and head
when only models differ: A (the suite's zoo models), A' (a byte-identical copy: an A/A pair with
A) and C (the same weights whose checkpoint asks for a 25 % longer input window, a heavier model
file: ×1.2 slower, measured and reported). (A, A') counts false alarms, (A, C) detections, with
``compare_same_run``, the gate's own verdicts. Every document lands in ``DIR/runs/``.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from ecgbench.bench.results.document import RunDocument, read_run
from ecgbench.bench.results.pairing import paired_round_ratios
from ecgbench.bench.suite import load_suite
from ecgbench.checkpoint import load_checkpoint, save_checkpoint
from ecgbench.errors import BadInputError
from ecgbench.fileio import atomic_write_json
from ecgbench.gate.verdicts import (
    GateSettings,
    KeyVerdict,
    compare_same_run,
    confirm_same_run,
    paired_verdict,
)
from ecgbench.gate.zoo_timing import time_zoos
from ecgbench.statistics import Verdict
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


def calibrated_lengths(
    summary: dict, target: float, window: float, samples: dict[str, int]
) -> dict[str, int]:
    """Per key, the input length that slows it by ``target``: latency is affine in length, so a
    key slowed ×r by a window ×``window`` is slowed ×target by ``1 + (target-1)(window-1)/(r-1)``.

    ``summary``: an earlier :func:`analyse` (its per-key median slowdown); ``samples``: each
    model's own input length."""
    out = {}
    for key, m in summary["per_key"].items():
        r = float(m["slow_ratio_median"])
        if r <= 1.0:
            raise BadInputError(f"{key}: the calibration run shows no slowdown (×{r:.3f})")
        model = key.split("/")[0]
        out[key] = round(samples[model] * (1 + (target - 1) * (window - 1) / (r - 1)))
    return out


def measure(
    runs: int,
    suite: Path,
    slowdown: float,
    out: Path,
    log: Callable[[str], None] = print,
    calibrate_from: Path | None = None,
    calibrated_window: float | None = None,
) -> None:
    """Time ``runs`` runs of A, A' and C; C slowed ×``slowdown`` per key when calibrated."""
    plan = load_suite(suite)
    names = [m for m in plan.models if m != "all"] or Zoo().names()
    side_plans, lengths = None, {}
    if calibrate_from is not None:
        summary = json.loads(calibrate_from.read_text())
        window = calibrated_window or summary.get("slowdown")
        if not window:
            raise BadInputError(f"{calibrate_from}: give --calibrated-window (its C's window)")
        samples = {n: load_checkpoint(Zoo().verify(n)).preprocessing.eval_samples for n in names}
        lengths = calibrated_lengths(summary, slowdown, float(window), samples)
        zoos = build_zoos(names, 1.0, out / "zoos")
        side_plans = [plan, plan, replace(plan, input_samples_by_variant=lengths)]
    else:
        zoos = build_zoos(names, slowdown, out / "zoos")
    atomic_write_json(
        out / "settings.json", {"suite": str(suite), "slowdown": slowdown, "lengths": lengths}
    )
    for i in range(runs):
        t0 = time.perf_counter()
        docs = time_zoos(plan, zoos, log=lambda m: None, side_plans=side_plans)
        for tag, d in zip("abc", docs, strict=True):
            d.write(out / "runs" / f"{i:03d}-{tag}.json")
        log(f"run {i + 1}/{runs} timed ({time.perf_counter() - t0:.0f} s)")


def _name(v: KeyVerdict) -> str:
    return Variant(v.key["model"], v.key["backend"], v.key["precision"]).name


def _method_verdicts(
    runs: list[tuple[RunDocument, RunDocument, RunDocument]], i: int, s: GateSettings
) -> dict[str, dict[str, list[KeyVerdict]]]:
    """Run ``i``'s verdicts under each method, for its A/A pair and its slowed pair.

    ``confirm``: flagged keys judged again with the next run's independent timing of the same
    pair (the previous for the last run) pooled in, exactly what the gate does with its re-timing
    seconds later. ``shift``: A/A's own round ratios times the target: a slowdown of exactly that
    size inside this run's real noise."""
    a, a2, c = runs[i]
    j = i + 1 if i + 1 < len(runs) else i - 1
    holm = replace(s, multiplicity="holm")
    out: dict[str, dict[str, list[KeyVerdict]]] = {}
    for tag, other, k in (("aa", a2, 1), ("slow", c, 2)):
        first = compare_same_run(a, other, s)
        pairs = [(a, other), (runs[j][0], runs[j][k])] if j >= 0 else [(a, other)]
        out[tag] = {
            "single": first.verdicts,
            "holm": compare_same_run(a, other, holm).verdicts,
            "confirm": confirm_same_run(first, pairs, s).verdicts,
        }
    return out


def _shifted(
    runs: list[tuple[RunDocument, RunDocument, RunDocument]], i: int, s: GateSettings, f: float
) -> list[KeyVerdict]:
    a, a2, _ = runs[i]
    b = {(r.model, r.backend, r.precision): r for r in a2.rows}
    out = []
    for r in a.rows:
        other = b.get((r.model, r.backend, r.precision))
        if other is not None:
            ratios = f * paired_round_ratios(r, other)
            key = {"model": r.model, "backend": r.backend, "precision": r.precision}
            out.append(paired_verdict(key, ratios, 1.0, f, s, "round"))
    return out


def analyse(out: Path, threshold: float = 1.10, target: float = 1.20) -> dict:
    """Every method on the same stored runs: false alarms per run, detections per key."""
    s = GateSettings(threshold=threshold)
    n = len(list((out / "runs").glob("*-a.json")))
    runs = [tuple(read_run(out / "runs" / f"{i:03d}-{t}.json") for t in "abc") for i in range(n)]
    methods = ("single", "holm", "confirm")
    table = {
        m: {
            "aa_regression_runs": 0,
            "aa_regression_keys": 0,
            "aa_inconclusive_runs": 0,
            "slow_detected_keys": 0,
            "slow_detected_runs": 0,
            "slow_inconclusive_keys": 0,
        }
        for m in (*methods, "shift")
    }
    per_key: dict[str, dict[str, list]] = {}
    for i in range(n):
        by = _method_verdicts(runs, i, s)
        for m in methods:
            aa, sl = by["aa"][m], by["slow"][m]
            t = table[m]
            reg = sum(v.verdict == Verdict.REGRESSION for v in aa)
            t["aa_regression_runs"] += reg > 0
            t["aa_regression_keys"] += reg
            t["aa_inconclusive_runs"] += (not reg) and any(
                v.verdict == Verdict.INCONCLUSIVE for v in aa
            )
            det = sum(v.verdict == Verdict.REGRESSION for v in sl)
            t["slow_detected_keys"] += det
            t["slow_detected_runs"] += det > 0
            t["slow_inconclusive_keys"] += sum(v.verdict == Verdict.INCONCLUSIVE for v in sl)
        shifted = _shifted(runs, i, s, target)
        table["shift"]["slow_detected_keys"] += sum(
            v.verdict == Verdict.REGRESSION for v in shifted
        )
        for v in by["aa"]["single"]:
            per_key.setdefault(_name(v), {"aa": [], "slow": [], "mdc": []})["aa"].append(v)
            per_key[_name(v)]["mdc"].append(v.min_detectable)
        for v in by["slow"]["single"]:
            per_key.setdefault(_name(v), {"aa": [], "slow": [], "mdc": []})["slow"].append(v)
    keys = len(per_key)

    def med(xs: list) -> float | None:
        xs = [x for x in xs if x is not None]
        return float(np.median(xs)) if xs else None

    res = {
        "runs": n,
        "threshold": threshold,
        "target": target,
        "keys_per_run": keys,
        "slowdown": json.loads((out / "settings.json").read_text()).get("slowdown")
        if (out / "settings.json").is_file()
        else None,
        "methods": table,
        # the single-timing numbers under their former names (summaries before confirmation)
        "false_alarm_runs": table["single"]["aa_regression_runs"],
        "false_alarm_keys": table["single"]["aa_regression_keys"],
        "detection_runs": table["single"]["slow_detected_runs"],
        "detected_keys": table["single"]["slow_detected_keys"],
        "per_key": {
            k: {
                "false_alarms": sum(v.verdict == Verdict.REGRESSION for v in d["aa"]),
                "detections": sum(v.verdict == Verdict.REGRESSION for v in d["slow"]),
                "aa_ratio_median": med([v.ratio for v in d["aa"]]),
                "slow_ratio_median": med([v.ratio for v in d["slow"]]),
                "slow_ci_width_median": med(
                    [v.ci_high - v.ci_low for v in d["slow"] if v.ci_low is not None]
                ),
                "aa_min_detectable_median": med(d["mdc"]),
            }
            for k, d in sorted(per_key.items())
        },
    }
    atomic_write_json(out / "summary.json", res)
    return res


def summary_lines(res: dict) -> list[str]:
    """The summary for a terminal: each method's totals, then key by key (single timing)."""
    n, k = res["runs"], res["keys_per_run"]
    lines = [f"{n} runs x {k} keys, threshold ×{res['threshold']:.2f}"]
    for m, t in res["methods"].items():
        if m == "shift":
            lines.append(
                f"  {m:8s} A/A rounds ×{res['target']:.2f}: detected {t['slow_detected_keys']}/"
                f"{n * k} keys"
            )
            continue
        lines.append(
            f"  {m:8s} A/A: regression in {t['aa_regression_runs']}/{n} runs "
            f"({t['aa_regression_keys']} keys), inconclusive in {t['aa_inconclusive_runs']}/{n}; "
            f"slowed: detected {t['slow_detected_keys']}/{n * k} keys "
            f"({t['slow_detected_runs']}/{n} runs), inconclusive {t['slow_inconclusive_keys']}"
        )
    lines += [
        f"  {key:40s} false alarms {m['false_alarms']}, detections {m['detections']}, "
        f"A/A ×{m['aa_ratio_median']:.3f} (detectable ×{m['aa_min_detectable_median'] or 0:.2f}),"
        f" slowdown ×{m['slow_ratio_median']:.3f} (CI width {m['slow_ci_width_median']:.3f})"
        for key, m in res["per_key"].items()
    ]
    return lines
