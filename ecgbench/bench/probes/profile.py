"""Where an OpenVINO variant's time goes: per-layer performance counters, by executed arithmetic.

OpenVINO's ``PERF_COUNT`` keeps, per inference, each executed node's time and the kernel that ran
it (``exec_type``: ``brgemm_avx512_I8``, ``jit_avx512_amx_bf16``, ``gemm_mlas_f32``, ...). The
kernel name says which arithmetic really ran, layer by layer, which is what explains an INT8
model that is not faster: on a CPU without VNNI most of its time stays in f32 kernels and in the
quantize / dequantize steps around the few INT8 ones.

Counters are read from a separate compilation with profiling on, never from the timed one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ecgbench.backends import can_profile
from ecgbench.bench.lifecycle import Log, Pair, Probe, RowGroups
from ecgbench.errors import EcgbenchError

_ARITH = {
    "i8": "int8",
    "u8": "int8",
    "bf16": "bf16",
    "f16": "f16",
    "fp16": "f16",
    "f32": "f32",
    "fp32": "f32",
    "i32": "i32",
}


def kernel_arithmetic(exec_type: str) -> str:
    """``brgemm_avx512_I8`` -> ``int8``; ``jit_avx512_amx_bf16`` -> ``bf16``; unknown -> ``other``."""
    tail = exec_type.rsplit("_", 1)[-1].lower()
    return _ARITH.get(tail, "other")


@dataclass
class LayerTime:
    name: str
    layer_type: str
    exec_type: str  # the kernel OpenVINO ran
    arithmetic: str  # int8 / bf16 / f16 / f32 / i32 / other, from the kernel's name
    ms: float  # median per inference


@dataclass
class Profile:
    label: str
    executed: str | None
    inferences: int
    total_ms: float  # median per inference of the summed layer times
    layers: list[LayerTime] = field(default_factory=list)  # slowest first

    @property
    def by_arithmetic(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for layer in self.layers:
            out[layer.arithmetic] += layer.ms
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    @property
    def by_layer_type(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for layer in self.layers:
            out[layer.layer_type] += layer.ms
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def top(self, k: int = 10) -> list[LayerTime]:
        return self.layers[:k]

    def to_dict(self, top: int = 15) -> dict[str, Any]:
        return {
            "label": self.label,
            "executed": self.executed,
            "inferences": self.inferences,
            "total_ms": self.total_ms,
            "by_arithmetic_ms": self.by_arithmetic,
            "by_layer_type_ms": self.by_layer_type,
            "top_layers": [asdict(layer) for layer in self.top(top)],
        }


def summarise_counters(runs: list[list[tuple[str, str, str, float]]]) -> list[LayerTime]:
    """Per-inference counter lists ``(name, type, exec_type, ms)`` -> median time per layer."""
    times: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for run in runs:
        for name, ltype, etype, ms in run:
            times[(name, ltype, etype)].append(ms)
    layers = [
        LayerTime(name, ltype, etype, kernel_arithmetic(etype), float(np.median(v)))
        for (name, ltype, etype), v in times.items()
    ]
    return sorted(layers, key=lambda layer: -layer.ms)


def profile_openvino(
    artifact: Path,
    x: np.ndarray,
    inference_precision: str | None,
    device: str = "CPU",
    threads: int | None = None,
    inferences: int = 50,
    label: str = "",
    precision: str = "fp32",
) -> Profile:
    """Compile ``artifact`` with counters on, run it ``inferences`` times, summarise the layers."""
    from ecgbench.backends.openvino_backend import OpenVINOBackend, OpenVINOSpec
    from ecgbench.precision import executed_label

    b = OpenVINOBackend()
    info = b.load(
        OpenVINOSpec(
            artifact=artifact,
            device=device,
            batch=x.shape[0],
            channels=x.shape[1],
            samples=x.shape[2],
            threads=threads,
            inference_precision=inference_precision,
            perf_count=True,
        )
    )
    b.set_input(x)
    for _ in range(5):
        b.run()
    runs = []
    for _ in range(max(1, inferences)):
        b.run()
        runs.append(
            [
                (p.node_name, p.node_type, p.exec_type, p.real_time.total_seconds() * 1e3)
                for p in b.request.profiling_info
                if p.status.name == "EXECUTED"
            ]
        )
    b.close()
    layers = summarise_counters(runs)
    totals = [sum(ms for *_, ms in run) for run in runs]
    return Profile(
        label=label or artifact.name,
        executed=executed_label(precision, info.inference_precision, info.int8_layers),
        inferences=len(runs),
        total_ms=float(np.median(totals)),
        layers=layers,
    )


def profile_variant(
    model: str,
    precision: str,
    device: str = "CPU",
    int8_rest: str = "f32",
    threads: int | None = None,
    inferences: int = 50,
    cache_dir: Path | None = None,
) -> Profile:
    """``ecgbench profile``: export (cached) one zoo variant and profile it on OpenVINO."""
    from ecgbench.backends import plan_execution
    from ecgbench.bench.model_facts import model_facts
    from ecgbench.export.build import ExportOptions
    from ecgbench.host import check_openvino_device, default_threads, device_arithmetic
    from ecgbench.zoo import Zoo

    device = check_openvino_device(device)
    ex = plan_execution("openvino", precision, device_arithmetic(device), int8_rest)
    mf = model_facts(model, Zoo(), ExportOptions(cache_dir=cache_dir))
    name = mf.name
    variant = mf.exporter().variant("openvino", ex.artifact)
    x = mf.synthetic(1, mf.samples)
    return profile_openvino(
        variant.path,
        x,
        ex.hint,
        device,
        threads or default_threads(),
        inferences,
        label=f"{name} openvino {precision}",
        precision=precision,
    )


@dataclass
class ProfileProbe(Probe):
    """Per-layer counters of every row whose backend keeps them, each from its own compilation
    after the timing (counters on slow the calls they count)."""

    threads: int
    name: ClassVar[str] = "profile"

    def measure(self, pairs: Sequence[Pair], log: Log) -> Iterator[tuple[int, RowGroups]]:
        for i, (it, _) in enumerate(pairs):
            if not can_profile(it.backend_name):
                continue
            try:
                p = profile_openvino(
                    it.artifact,
                    it.x,
                    it.check.planned.hint,
                    it.device,
                    self.threads,
                    label=f"{it.model} {it.precision} b{it.batch} {it.device}",
                    precision=it.precision,
                )
            except (EcgbenchError, RuntimeError) as e:  # a device that keeps no counters, say
                log(f"[yellow]profile[/] {it.model} openvino {it.precision} {it.device}: {e}")
                continue
            split = ", ".join(f"{a} {ms:.2f}" for a, ms in p.by_arithmetic.items())
            log(
                f"profile {it.model} openvino {it.precision} ({p.executed}): "
                f"ms per arithmetic {split}"
            )
            yield i, RowGroups(extra={"profile": p.to_dict()})
