"""The environment a number was measured in, and the machine's FP32 GEMM ceiling.

Two results are comparable only if their fingerprints agree on what drives speed: CPU model, ISA,
threads, and the inference libraries' versions. ``machine_id`` hashes exactly those.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
import os
import platform
from dataclasses import asdict, dataclass, field
from typing import Any

from ecgbench.precision import int8_isa

ISA_FLAGS = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16",
    "avx512_fp16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16", "amx_fp16",
)  # fmt: skip
LIBRARIES = ("ecgbench", "openvino", "nncf", "onnxruntime", "onnx", "torch", "numpy")


def cpu_info() -> tuple[str, list[str]]:
    model, flags = platform.processor() or platform.machine(), []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model in ("", platform.machine()):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = line.split(":", 1)[1].split()
                    break
    except OSError:
        pass
    return model, [f for f in ISA_FLAGS if f in flags]


def library_versions() -> dict[str, str]:
    out = {}
    for p in LIBRARIES:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = "absent"
    return out


@dataclass
class Fingerprint:
    cpu_model: str
    isa: list[str]
    logical_cpus: int
    usable_cpus: int
    threads: int
    os: str
    python: str
    versions: dict[str, str]
    hostname: str
    openvino_devices: dict[str, str] = field(default_factory=dict)
    gemm_gflops: float | None = None  # FP32 GEMM ceiling at ``threads``, timed in this run
    # per arithmetic (f32, bf16, f16, int8): the GEMM ceiling timed in this run
    ceilings_gflops: dict[str, float] = field(default_factory=dict)
    # per OpenVINO device: what it executes natively ({"CPU": {"BF16": "AMX", ...}})
    native_precisions: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def machine_id(self) -> str:
        key = {
            "cpu": self.cpu_model,
            "isa": self.isa,
            "threads": self.threads,
            "versions": {k: v for k, v in self.versions.items() if k != "ecgbench"},
        }
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["machine_id"] = self.machine_id
        d["int8_isa"] = int8_isa(self.isa)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fingerprint:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def collect_fingerprint(threads: int) -> Fingerprint:
    model, isa = cpu_info()
    ov_devices: dict[str, str] = {}
    native: dict[str, dict[str, str]] = {}
    try:
        from ecgbench.devices import openvino_devices
        from ecgbench.precision import Arithmetic

        for d in openvino_devices():
            ov_devices[d.name] = d.full_name
            native[d.name] = Arithmetic(d.name, frozenset(d.capabilities), tuple(isa)).native()
    except Exception:  # pragma: no cover - a broken OpenVINO install still gets a fingerprint
        pass
    return Fingerprint(
        cpu_model=model,
        isa=isa,
        logical_cpus=os.cpu_count() or 1,
        usable_cpus=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0,
        threads=threads,
        os=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        versions=library_versions(),
        hostname=platform.node(),
        openvino_devices=ov_devices,
        native_precisions=native,
    )


class ModelReference:
    """A fixed FP32 ConvNeXt-1D on OpenVINO CPU, timed in every run beside the models.

    Built from a seeded initialisation (no file to ship or to drift), it does the same kind of work
    as the models under test, so machine drift moves it the way it moves them; on this shared
    machine the GEMM reference did not (see README, "Measuring the gate").
    """

    # "f32": compiled with an explicit f32 hint (runs before it ran at the CPU's default, bf16 on
    # some CPUs); the gate refuses to normalise by references whose labels differ
    label = "reference:convnext-f32"

    def __init__(self, threads: int, samples: int = 5000) -> None:
        import numpy as np
        import openvino as ov
        import openvino.properties as props
        import openvino.properties.hint as hints
        import torch

        from ecgbench.export.openvino_export import convert_to_openvino
        from ecgbench.nets.convnext1d import ConvNeXt1D, ConvNeXt1DConfig

        with torch.random.fork_rng():
            torch.manual_seed(0)
            model = ConvNeXt1D(ConvNeXt1DConfig(depths=(1, 1, 2, 1), widths=(16, 32, 48, 64)))
        x = torch.zeros(1, 12, samples)
        ovm = convert_to_openvino(model.eval(), x)
        ovm.reshape({ovm.inputs[0].get_any_name(): ov.PartialShape([1, 12, samples])})
        compiled = ov.Core().compile_model(
            ovm,
            "CPU",
            {
                hints.performance_mode: hints.PerformanceMode.LATENCY,
                props.inference_num_threads: threads,
                # f32 on every CPU: the plugin's default is bf16 where AVX512-BF16/AMX exist
                hints.inference_precision: ov.Type.f32,
            },
        )
        self._req = compiled.create_infer_request()
        self._x = np.random.default_rng(0).standard_normal((1, 12, samples)).astype(np.float32)
        self._req.set_input_tensor(ov.Tensor(self._x, shared_memory=True))

    def run(self) -> None:
        self._req.infer()
