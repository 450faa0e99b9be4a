"""Cross-check against OpenVINO's own ``benchmark_app`` on the same IR, device, shape, hint, threads."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from ecgbench.bench.results import RunDocument

_MEDIAN = re.compile(r"Median:\s*([0-9.]+)\s*ms")


def benchmark_app_path() -> str | None:
    exe = Path(sys.executable).with_name("benchmark_app")
    return str(exe) if exe.exists() else shutil.which("benchmark_app")


def run_benchmark_app(
    xml: str, device: str, shape: list[int], threads: int, seconds: float = 10.0
) -> float | None:
    """benchmark_app's median latency (ms) in the same latency scenario as ``ecgbench run``."""
    exe = benchmark_app_path()
    if exe is None:
        return None
    cmd = [
        exe, "-m", xml, "-d", device, "-hint", "latency", "-api", "sync", "-nireq", "1",
        "-shape", "[" + ",".join(map(str, shape)) + "]", "-t", str(int(seconds)),
    ]  # fmt: skip
    if device.upper() == "CPU":
        cmd += ["-nthreads", str(threads)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds * 6 + 120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    # The latency block: "Latency:" followed by Median / Average / Min / Max lines.
    tail = p.stdout.split("Latency:", 1)[-1]
    m = _MEDIAN.search(tail)
    return float(m.group(1)) if m else None


def crosscheck_rows(doc: RunDocument, threads: int, log=print, seconds: float = 10.0) -> None:
    """Adds ``benchmark_app_median_ms`` and the ratio to each OpenVINO row, and prints them."""
    for r in doc.rows:
        if r.backend != "openvino":
            continue
        ba = run_benchmark_app(r.artifact, r.device, r.input_shape, threads, seconds)
        r.extra["benchmark_app_median_ms"] = ba
        r.extra["benchmark_app_ratio"] = (r.median_ms / ba) if ba else None
        if ba:
            log(
                f"crosscheck {r.model} {r.precision} {r.device}: ecgbench {r.median_ms:.3f} ms, "
                f"benchmark_app {ba:.3f} ms, ratio {r.median_ms / ba:.3f}"
            )
        else:
            log(f"crosscheck {r.model} {r.precision}: benchmark_app gave no median")
