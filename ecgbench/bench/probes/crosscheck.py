"""Cross-check against OpenVINO's own ``benchmark_app`` on the same IR, device, shape, hint, threads."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ecgbench.backends import BACKENDS
from ecgbench.bench.lifecycle import Log, Pair, Probe, RowGroups
from ecgbench.bench.results.schema import ResultRow

# benchmark_app switches to microseconds for fast models ("Median: 152.65 us").
_MEDIAN = re.compile(r"Median:\s*([0-9.]+)\s*(ms|us|µs|ns|s)\b")
_TO_MS = {"s": 1e3, "ms": 1.0, "us": 1e-3, "µs": 1e-3, "ns": 1e-6}


# The keys a cross-checked row gets in ``extra`` (read back by the table).
ALONE_KEY = "ecgbench_alone_median_ms"  # our loop alone in a fresh process, wall time
BENCHMARK_APP_KEY = "benchmark_app_median_ms"


def benchmark_app_path() -> str | None:
    exe = Path(sys.executable).with_name("benchmark_app")
    return str(exe) if exe.exists() else shutil.which("benchmark_app")


def _physical_cores() -> int:
    from ecgbench.host import default_threads

    return default_threads()


def run_benchmark_app(
    xml: str,
    device: str,
    shape: list[int],
    threads: int,
    seconds: float = 10.0,
    input_npy: str | None = None,
    infer_precision: str | None = None,
) -> float | None:
    """benchmark_app's median latency (ms) in the same latency scenario as ``ecgbench run``.

    ``input_npy`` feeds it our input tensor; otherwise it fills the input with uniform noise in
    [0, 255], which ran FP32 up to 3 % apart from an ECG here (same IR, same process).
    """
    exe = benchmark_app_path()
    if exe is None:
        return None
    cmd = [
        exe,
        "-m",
        xml,
        "-d",
        device,
        "-api",
        "sync",
        "-nireq",
        "1",
        "-shape",
        "[" + ",".join(map(str, shape)) + "]",
        "-t",
        str(max(1, int(seconds))),
    ]
    if input_npy:
        cmd += ["-i", input_npy]
    if infer_precision:  # the arithmetic the row executed (the plugin's default may differ)
        cmd += ["-infer_precision", infer_precision]
    # benchmark_app refuses -nthreads together with a hint. The LATENCY hint already uses every
    # physical core (ecgbench's default); other thread counts are the same config spelled out.
    if device.upper() == "CPU" and threads != _physical_cores():
        cmd += ["-hint", "none", "-nstreams", "1", "-nthreads", str(threads)]
    else:
        cmd += ["-hint", "latency"]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds * 6 + 120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    # The latency block: "Latency:" followed by Median / Average / Min / Max lines.
    tail = p.stdout.split("Latency:", 1)[-1]
    m = _MEDIAN.search(tail)
    return float(m.group(1)) * _TO_MS[m.group(2)] if m else None


def crosscheck_input(shape: list[int]) -> np.ndarray:
    """The tensor both tools are fed: a synthetic ECG preprocessed like a real record."""
    from ecgbench.data.preprocess import Preprocessing
    from ecgbench.data.synthetic import synthetic_input

    return synthetic_input(Preprocessing(), batch=shape[0], samples=shape[2])


class _OurLoop:
    """ecgbench's own loop on one IR, compiled once and kept for every burst of the cross-check
    (as in ``ecgbench run``, where a variant is compiled once and timed in many slices)."""

    def __init__(
        self,
        xml: str,
        device: str,
        shape: list[int],
        threads: int,
        x: np.ndarray,
        hint: str | None = None,
    ) -> None:
        from ecgbench.backends.base import LoadSpec
        from ecgbench.backends.openvino_backend import OpenVINOBackend

        self.backend = OpenVINOBackend()
        self.backend.load(
            LoadSpec(
                artifact=Path(xml),
                device=device,
                batch=shape[0],
                channels=shape[1],
                samples=shape[2],
                threads=threads,
                inference_precision=hint,
            )
        )
        self.backend.set_input(x)

    def burst(self, seconds: float, warmup_s: float = 0.2) -> tuple[float, float]:
        """Median latency (ms) of one burst: wall time per call, and the runtime's own."""
        from ecgbench.bench.timing import StopRule, TimedVariant, time_interleaved

        v = TimedVariant("crosscheck", self.backend.run, runtime_probe=self.backend.runtime_probe())
        time_interleaved([v], StopRule(min_duration_s=seconds, min_iters=20, warmup_s=warmup_s))
        return float(np.median(v.samples_ns)) / 1e6, float(np.median(v.runtime_ns)) / 1e6

    def close(self) -> None:
        self.backend.close()


def _burst_server(
    conn,
    xml: str,
    device: str,
    shape: list[int],
    threads: int,
    input_npy: str | None,
    hint: str | None = None,
) -> None:
    try:
        x = np.load(input_npy) if input_npy else crosscheck_input(shape)
        loop = _OurLoop(xml, device, shape, threads, x, hint)
    except Exception as e:  # reported by the parent as one line
        conn.send(("error", f"{type(e).__name__}: {e}"))
        return
    conn.send(("ready", None))
    while (seconds := conn.recv()) is not None:
        conn.send(("ok", loop.burst(seconds)))
    loop.close()


class _FreshProcessLoop:
    """Our loop in a fresh process, as benchmark_app runs in one.

    After an interleaved run (many compiled models, thread pools, the GEMM reference) an IR times
    slower in that process than in a new one (docs/design-choices.md); the cross-check compares
    loops, not process histories, so both tools start clean.
    """

    def __init__(
        self,
        xml: str,
        device: str,
        shape: list[int],
        threads: int,
        input_npy: str | None = None,
        hint: str | None = None,
    ) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_burst_server,
            daemon=True,
            args=(child, xml, device, shape, threads, input_npy, hint),
        )
        self._proc.start()
        self._expect("ready")

    def _expect(self, what: str):
        from ecgbench.errors import EcgbenchError

        try:
            kind, value = self._conn.recv()
        except EOFError:
            raise EcgbenchError("the cross-check's timing process died") from None
        if kind == "error":
            raise EcgbenchError(f"cross-check: {value}")
        if kind != what:
            raise EcgbenchError(f"cross-check: timing process answered {kind!r}, not {what!r}")
        return value

    def burst(self, seconds: float) -> tuple[float, float]:
        self._conn.send(seconds)
        return self._expect("ok")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(None)
        self._proc.join(timeout=30)
        if self._proc.is_alive():
            self._proc.kill()


@dataclass
class CrosscheckProbe(Probe):
    threads: int
    rounds: int = 32
    seconds: float = 1.0
    # each precision's agreement (median over all its rounds), filled by :meth:`measure`
    summary: dict[str, dict[str, float]] = field(default_factory=dict)
    name: ClassVar[str] = "crosscheck"

    def measure(self, pairs: Sequence[Pair], log: Log) -> Iterator[tuple[int, RowGroups]]:
        """benchmark_app's median and the ratios for each OpenVINO row, logged.

        This machine's speed swings by tens of percent within a minute, so the two tools take turns
        in ``rounds`` short bursts on the same IR, device, shape, hint, threads and input tensor, in
        ABBA order (ours, theirs, theirs, ours, ...) so that a steady drift favours neither. Each
        round gives the ratio of two neighbouring bursts; a row's agreement is the median of its
        rounds' ratios, a precision's the median over all its rounds (in ``summary``, and logged).

        Two ratios, because benchmark_app's statistics are OpenVINO's own per-inference latency
        (``InferRequest.latency``, timed inside the runtime), while ecgbench's table is the wall
        time of each call from Python, which adds what lies outside the runtime's timer (the binding
        and whatever the runtime does outside it: 22 us per call for the smallest zoo model here,
        133 us for the largest, 1.3-3 %). ``ratio`` compares like with like (the runtime's latency,
        measured in our loop) and is what the agreement is judged on; ``wall_ratio`` is our table's
        number over benchmark_app's, and is shown beside it. Our loop runs in a fresh process,
        compiled once per row. 32 rounds of 1 s: the spread of a median shrinks with the number of
        rounds, and 16 left single rows 5-10 % off on this machine.
        """
        import tempfile

        by_precision: dict[str, dict[str, list[float]]] = {}
        with tempfile.TemporaryDirectory(prefix="ecgbench-crosscheck-") as tmp:
            for i, (_, r) in enumerate(pairs):
                if r.backend not in BACKENDS or not BACKENDS[r.backend].CAN_CROSSCHECK:
                    continue
                npy = str(Path(tmp) / "input.npy")
                np.save(npy, crosscheck_input(r.input_shape))
                ours, theirs = _abba_bursts(r, self.threads, npy, self.seconds, self.rounds)
                pairs_ = [(w, own, t) for (w, own), t in zip(ours, theirs, strict=True) if t]
                if not pairs_:
                    log(f"crosscheck {r.model} {r.precision}: benchmark_app gave no median")
                    continue
                yield i, RowGroups(extra=_agreement(r, ours, theirs, pairs_, by_precision, log))
        self.summary.update(_precision_summary(by_precision, log))


def _abba_bursts(
    r: ResultRow, threads: int, npy: str, seconds: float, rounds: int
) -> tuple[list[tuple[float, float]], list[float | None]]:
    """Both tools' bursts on one row in ABBA order, so that a steady drift favours neither."""
    hint = r.execution.inference_precision  # both tools run the arithmetic the row executed
    loop = _FreshProcessLoop(r.artifact, r.device, r.input_shape, threads, npy, hint)
    ours: list[tuple[float, float]] = []
    theirs: list[float | None] = []
    try:
        for i in range(rounds):
            if i % 2 == 0:
                ours.append(loop.burst(seconds))
            theirs.append(
                run_benchmark_app(
                    r.artifact,
                    r.device,
                    r.input_shape,
                    threads,
                    seconds,
                    input_npy=npy,
                    infer_precision=hint,
                )
            )
            if i % 2 == 1:
                ours.append(loop.burst(seconds))
    finally:
        loop.close()
    return ours, theirs


def _agreement(
    r: ResultRow,
    ours: list[tuple[float, float]],
    theirs: list[float | None],
    pairs: list[tuple[float, float, float]],
    by_precision: dict[str, dict[str, list[float]]],
    log,
) -> dict[str, Any]:
    """One row's medians and ratios, for its ``extra`` (and into its precision's pool), logged."""
    own_ratios = [own / t for _, own, t in pairs]
    wall_ratios = [w / t for w, _, t in pairs]
    acc = by_precision.setdefault(r.precision, {"ratio": [], "wall_ratio": []})
    acc["ratio"] += own_ratios
    acc["wall_ratio"] += wall_ratios
    ratio, wall_ratio = float(np.median(own_ratios)), float(np.median(wall_ratios))
    w, own, t = (float(np.median([p[k] for p in pairs])) for k in range(3))
    extra = {
        ALONE_KEY: w,
        BENCHMARK_APP_KEY: t,
        "ecgbench_runtime_median_ms": own,
        "benchmark_app_ratio": ratio,
        "benchmark_app_wall_ratio": wall_ratio,
        "crosscheck_bursts": {
            "ecgbench": [o[0] for o in ours],
            "ecgbench_runtime": [o[1] for o in ours],
            "benchmark_app": theirs,
        },
    }
    log(
        f"crosscheck {r.model} {r.precision} {r.device}: ecgbench {own:.3f} ms "
        f"(wall {w:.3f}), benchmark_app {t:.3f} ms, ratio {ratio:.3f} (wall "
        f"{wall_ratio:.3f}; median of {len(pairs)} paired bursts; interleaved run: "
        f"{r.latency.median_ms:.3f} ms)"
    )
    return extra


def _precision_summary(
    by_precision: dict[str, dict[str, list[float]]], log
) -> dict[str, dict[str, float]]:
    """A precision's agreement: the median over all its rounds, logged and returned."""
    summary = {
        p: {
            "ratio": float(np.median(v["ratio"])),
            "wall_ratio": float(np.median(v["wall_ratio"])),
            "rounds": len(v["ratio"]),
        }
        for p, v in by_precision.items()
    }
    for p, m in summary.items():
        log(
            f"crosscheck {p}: ecgbench / benchmark_app {m['ratio']:.3f} (wall {m['wall_ratio']:.3f}; "
            f"median of {m['rounds']} rounds over the models)"
        )
    return summary
