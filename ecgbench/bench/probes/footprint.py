"""Deployment footprint of one variant: memory, bytes on disk, cold and warm start-up.

Every number comes from fresh Python processes (:mod:`ecgbench.bench.probes.footprint_process`), never from
the benchmark's own process, where every other variant's arenas and the imports of all three
runtimes sit in the RSS. Two processes per variant, sharing one compile cache folder that starts
empty:

* **cold**: nothing cached. Its memory readings are the row's, and so is ``first_result_ms``: wall
  time from just before the process is spawned to the first output in hand (Python's start, the
  imports, reading, compiling and one inference; CLOCK_MONOTONIC is system-wide on Linux).
* **warm**: the cache the cold one filled (OpenVINO ``CACHE_DIR`` blobs; ONNX Runtime's optimized
  graph, opened with graph optimizations off). PyTorch eager has no compile cache: its warm start
  is a second fresh process loading the same checkpoint.

Memory is reported in MB (10^6 bytes) **above the baseline**, the RSS of the fresh process after
its imports and before loading, which is kept beside (``rss_baseline_mb``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import ecgbench
from ecgbench.backends import LoadSpec
from ecgbench.bench.lifecycle import Log, Pair, Probe, RowGroups
from ecgbench.bench.probes.footprint_process import MARK, ProbeResult
from ecgbench.bench.suite import Suite
from ecgbench.errors import BadInputError, EcgbenchError

MB = 1e6
KIB = 1024
DEFAULT_CALLS = 20  # steady-state inferences after the first, while the inference peak is read


@dataclass(frozen=True)
class FootprintResult:
    """A variant's footprint; ``*_mb`` peaks are above ``rss_baseline_mb`` (MB = 10^6 bytes)."""

    model_bytes: int
    rss_baseline_mb: float
    peak_rss_compile_mb: float
    peak_rss_infer_mb: float
    compile_cold_ms: float
    compile_warm_ms: float
    first_result_ms: float
    memory_method: str  # how the peaks were read (footprint_probe)
    infer_calls: int

    def row_fields(self) -> dict[str, Any]:
        """The values a result row's ``footprint`` group keeps."""
        d = asdict(self)
        d.pop("memory_method")
        d.pop("infer_calls")
        return d


def model_bytes(artifact: Path) -> int:
    """Bytes of the model's files: .xml + .bin, .onnx + its external data, or the .pt."""
    p = Path(artifact)
    if not p.is_file():
        raise BadInputError(f"model file not found: {p}")
    files = {p}
    if p.suffix == ".xml":
        files.add(p.with_suffix(".bin"))
    elif p.suffix == ".onnx":
        files |= _onnx_external_files(p)
    return sum(f.stat().st_size for f in files if f.is_file())


def _onnx_external_files(p: Path) -> set[Path]:
    """The files an ONNX model's initializers keep their data in (``location`` entries)."""
    import onnx

    m = onnx.load(str(p), load_external_data=False)
    out = set()
    for t in m.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            out |= {p.parent / e.value for e in t.external_data if e.key == "location"}
    return out


def measure_footprint(
    backend: str,
    spec: LoadSpec,
    infer_calls: int = DEFAULT_CALLS,
    cache_dir: Path | None = None,
    timeout_s: float = 900.0,
) -> FootprintResult:
    """Cold then warm fresh process for ``spec`` on ``backend``; ``cache_dir`` (must be empty or
    absent) keeps the compile cache afterwards, else a temporary folder holds it."""
    if infer_calls < 1:
        raise BadInputError("footprint: inference calls must be >= 1")
    size = model_bytes(spec.artifact)
    with tempfile.TemporaryDirectory(prefix="ecgbench-footprint-") as tmp:
        cache = Path(cache_dir) if cache_dir is not None else Path(tmp)
        if cache.is_dir() and any(cache.iterdir()):
            raise BadInputError(f"{cache}: the compile cache must start empty (cold start)")
        cache.mkdir(parents=True, exist_ok=True)
        spec = replace(spec, compile_cache=cache)
        cold, spawned = _probe(backend, spec, infer_calls, timeout_s)
        warm, _ = _probe(backend, spec, infer_calls, timeout_s)
    base = cold.rss_baseline_kb
    return FootprintResult(
        model_bytes=size,
        rss_baseline_mb=base * KIB / MB,
        peak_rss_compile_mb=(cold.peak_compile_kb - base) * KIB / MB,
        peak_rss_infer_mb=(cold.peak_infer_kb - base) * KIB / MB,
        compile_cold_ms=cold.compile_ms,
        compile_warm_ms=warm.compile_ms,
        first_result_ms=(cold.first_output_ns - spawned) / 1e6,
        memory_method=cold.memory_method,
        infer_calls=infer_calls,
    )


def _probe(backend: str, spec: LoadSpec, calls: int, timeout_s: float) -> tuple[ProbeResult, int]:
    """One fresh process; its result and when it was spawned (CLOCK_MONOTONIC, ns)."""
    fields = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(spec).items()}
    request = json.dumps({"backend": backend, "calls": calls, "spec": fields})
    root = str(Path(ecgbench.__file__).resolve().parents[1])  # this ecgbench, whatever is installed
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    cmd = [sys.executable, "-m", "ecgbench.bench.probes.footprint_process", request]
    spawned = time.monotonic_ns()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired:
        raise EcgbenchError(
            f"footprint of {spec.artifact.name}: no result in {timeout_s:g} s"
        ) from None
    said = [ln[len(MARK) :] for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
    answer = json.loads(said[-1]) if said else {}
    if "error" in answer:
        raise EcgbenchError(f"footprint of {spec.artifact.name}: {answer['error']}")
    if proc.returncode != 0 or not answer:
        last = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        raise EcgbenchError(f"footprint of {spec.artifact.name} failed: {last}")
    return ProbeResult(**answer), spawned


@dataclass
class FootprintProbe(Probe):
    """Memory and start-up of every variant as it was loaded for timing, each in fresh processes
    after the timing (so that they never run beside a timed call)."""

    plan: Suite
    threads: int
    infer_calls: int = DEFAULT_CALLS
    name: ClassVar[str] = "footprint"

    def measure(self, pairs: Sequence[Pair], log: Log) -> Iterator[tuple[int, RowGroups]]:
        for i, (it, _) in enumerate(pairs):
            spec = LoadSpec(
                artifact=it.artifact,
                device=it.device,
                batch=it.batch,
                channels=it.shape[1],
                samples=it.shape[2],
                threads=self.threads,
                scenario=self.plan.scenario,
                static_shape=self.plan.static_shape,
                inference_precision=it.check.planned.hint,
                layout=it.layout,
            )
            label = f"{it.model} {it.backend_name} {it.device} {it.precision} b{it.batch}"
            try:
                f = measure_footprint(it.backend_name, spec, self.infer_calls)
            except EcgbenchError as e:  # one variant's failure leaves the others' footprints
                log(f"[yellow]footprint[/] {label}: {e}")
                continue
            log(
                f"footprint {label}: peak RSS compile {f.peak_rss_compile_mb:.1f} MB, "
                f"infer {f.peak_rss_infer_mb:.1f} MB above {f.rss_baseline_mb:.1f} MB; compile "
                f"cold {f.compile_cold_ms:.0f} ms, warm {f.compile_warm_ms:.0f} ms"
            )
            yield i, RowGroups(footprint=f.row_fields())
