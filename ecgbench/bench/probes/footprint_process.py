"""The fresh process of ``run --footprint``: load one variant, infer, report memory and start-up.

Run by :mod:`ecgbench.bench.probes.footprint` as ``python -m ecgbench.bench.probes.footprint_process '<json>'``,
one process per measurement, so that no other variant's arenas, caches or imports are in its RSS.
The order is fixed: import the runtime (and numpy, ecgbench's backend), read the **baseline** RSS,
then load + compile, then the first inference and ``calls`` more. It prints one line
``FOOTPRINT {json}`` (or ``FOOTPRINT {"error": ...}`` and exit 2 on a user error).

Peaks are the kernel's own high-water mark: ``VmHWM`` of ``/proc/self/status``, reset to the
current RSS by writing 5 to ``/proc/self/clear_refs`` (Linux >= 4.0) at the start of each phase,
so that a phase's peak is not the process's lifetime peak (``ru_maxrss`` would be). Where the
reset is refused, a thread samples ``VmRSS`` every millisecond instead (it can miss a shorter
spike); the result says which method it used.
"""

from __future__ import annotations

import importlib
import json
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ecgbench.errors import EcgbenchError

MARK = "FOOTPRINT "
HWM = "VmHWM reset by /proc/self/clear_refs"
SAMPLED = "VmRSS sampled every 1 ms"


@dataclass(frozen=True)
class ProbeResult:
    """One fresh process's readings; kB are the kernel's (KiB), ns are CLOCK_MONOTONIC."""

    rss_baseline_kb: int
    peak_compile_kb: int
    peak_infer_kb: int
    compile_ms: float  # the backend's own load/compile time (LoadInfo.compile_ms)
    first_output_ns: int  # when the first output was in hand (system-wide monotonic clock)
    calls: int
    memory_method: str


def status_kb(key: str) -> int:
    """A ``kB`` line of ``/proc/self/status`` (VmRSS, VmHWM)."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        raise EcgbenchError("memory footprint needs Linux's /proc/self/status") from None
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise EcgbenchError(f"/proc/self/status has no {key}")


class PeakRss:
    """Peak RSS over a ``with`` block (see the module's docstring for the two methods)."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self.method = HWM
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._max = 0

    def __enter__(self) -> PeakRss:
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.method, self._thread = HWM, None
        except OSError:
            self.method, self._max = SAMPLED, status_kb("VmRSS")
            self._stop.clear()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.001):
            self._max = max(self._max, status_kb("VmRSS"))

    def __exit__(self, *exc: object) -> None:
        if self._thread is None:
            self.peak_kb = status_kb("VmHWM")
            return
        self._stop.set()
        self._thread.join()
        self.peak_kb = max(self._max, status_kb("VmRSS"))


def probe(request: dict[str, Any]) -> ProbeResult:
    """Load, compile and run the variant ``request`` describes, in this (fresh) process."""
    import numpy as np

    from ecgbench.backends import LoadSpec, backend_class, get_backend

    name = request["backend"]
    for module in backend_class(name).RUNTIME_MODULES:  # imported before the baseline is read
        importlib.import_module(module)
    raw = dict(request["spec"])
    raw["artifact"] = Path(raw["artifact"])
    raw["compile_cache"] = Path(raw["compile_cache"]) if raw.get("compile_cache") else None
    spec = LoadSpec(**raw)
    calls = int(request["calls"])
    backend = get_backend(name)
    x = np.random.default_rng(0).standard_normal(spec.shape, dtype=np.float32)
    baseline = status_kb("VmRSS")  # after every import, before loading
    with PeakRss() as compile_peak:
        info = backend.load(spec)
    with PeakRss() as infer_peak:
        backend.set_input(x)
        backend.run()
        backend.output()
        first_ns = time.monotonic_ns()
        for _ in range(calls):
            backend.run()
    backend.close()
    return ProbeResult(
        rss_baseline_kb=baseline,
        peak_compile_kb=compile_peak.peak_kb,
        peak_infer_kb=infer_peak.peak_kb,
        compile_ms=info.compile_ms,
        first_output_ns=first_ns,
        calls=calls,
        memory_method=compile_peak.method,
    )


def main(argv: list[str]) -> int:
    try:
        result = probe(json.loads(argv[1]))
    except EcgbenchError as e:
        print(MARK + json.dumps({"error": str(e)}), flush=True)
        return 2
    print(MARK + json.dumps(asdict(result)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
