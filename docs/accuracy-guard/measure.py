"""Measure the gate's accuracy guard as the latency gate was measured (docs/gate.md).

    ECGBENCH_DATA=../shared/data/ptbxl ECGBENCH_WEIGHTS=../shared/physionet2021/weights.csv \\
        python docs/accuracy-guard/measure.py [--runs 10]

- A/A: head's checkpoint is base's with float noise (x(1 + 1e-6 N(0,1)), a new seed each run):
  new bytes, the same model; every key is re-scored. A false alarm is an accuracy regression.
- broken: head's OpenVINO INT8 re-quantized with NNCF on 20 tiny random inputs (a new seed each
  run; the manifest's hashes updated, so ``zoo verify`` says ok). A detection is exit 1 with an
  accuracy regression.
- cost: the CI suite (runners/ci.toml, atto + femto) with every key's sources changed, and with
  none changed: the guard's seconds as the gate prints them.

Each run is one ``ecgbench gate --base B --head H --data ...`` subprocess; nothing else may run.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from helpers_accuracy_guard import break_int8, copy_zoo, perturb_checkpoint  # noqa: E402

ATTO, FEMTO = "convnext1d_atto", "convnext1d_femto"
SUITE = """name = "guard"
models = ["convnext1d_atto"]
backends = ["openvino", "onnxruntime"]
devices = ["CPU"]
precisions = ["fp32", "int8"]
batch = [1]
threads = 2
duration = 1.0
round_s = 0.1
min_iters = 10
warmup = 0.2
"""


def gate(base: Path, head: Path, suite: Path, data: str, *more: str) -> tuple[int, str, float]:
    cmd = ["ecgbench", "gate", "--base", str(base), "--head", str(head), "--suite", str(suite)]
    p = subprocess.run([*cmd, "--data", data, *more], capture_output=True, text=True)
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("accuracy guard:")), "")
    secs = re.search(r"\((\d+) s\)", line)
    return p.returncode, line, float(secs.group(1)) if secs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args()
    data = os.environ["ECGBENCH_DATA"]
    work = Path(tempfile.mkdtemp(prefix="guard-measure-"))
    suite = work / "suite.toml"
    suite.write_text(SUITE)
    base = copy_zoo(work / "base", ATTO)
    alarms = detected = 0
    for i in range(a.runs):
        head = copy_zoo(work / f"aa{i}", ATTO)
        perturb_checkpoint(head, ATTO, 1e-6, seed=i)
        rc, line, s = gate(base, head, suite, data)
        alarms += "no accuracy regression" not in line
        print(f"A/A {i}: exit {rc} · {line}", flush=True)
    for i in range(a.runs):
        head = copy_zoo(work / f"broken{i}", ATTO)
        rng = np.random.default_rng(i)
        break_int8(head, ATTO, rng.normal(0, 1e-3, (20, 12, 5000)).astype(np.float32))
        rc, line, s = gate(base, head, suite, data)
        detected += rc == 1 and "no accuracy regression" not in line
        print(f"broken {i}: exit {rc} · {line}", flush=True)
    print(
        f"A/A accuracy false alarms: {alarms}/{a.runs}; broken INT8 detected: {detected}/{a.runs}"
    )
    ci = ROOT / "runners" / "ci.toml"
    cb = copy_zoo(work / "ci-base", ATTO, FEMTO)
    same = copy_zoo(work / "ci-same", ATTO, FEMTO)
    changed = copy_zoo(work / "ci-changed", ATTO, FEMTO)
    for m in (ATTO, FEMTO):
        perturb_checkpoint(changed, m, 1e-6)
    for name, head in (("every key changed", changed), ("nothing changed", same)):
        rc, line, s = gate(cb, head, ci, data, "--mode", "models", "--duration", "1.5")
        print(f"CI suite, {name}: exit {rc} · {line} · guard {s:.0f} s", flush=True)


if __name__ == "__main__":
    main()
