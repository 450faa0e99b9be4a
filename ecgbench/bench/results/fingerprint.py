"""The environment a number was measured in.

Two results are comparable only if their fingerprints agree on what drives speed: CPU model, ISA,
threads, and the inference libraries' versions. ``machine_id`` hashes exactly those.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import asdict, dataclass, field
from typing import Any

from ecgbench.errors import EcgbenchError
from ecgbench.host import cpu_info, library_versions, openvino_devices
from ecgbench.precision import Arithmetic, int8_isa

# the libraries a fingerprint records (all but ecgbench key ``machine_id``)
LIBRARIES = ("ecgbench", "openvino", "nncf", "onnxruntime", "onnx", "torch", "numpy")


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


def collect_fingerprint(threads: int) -> Fingerprint:
    model, isa = cpu_info()
    ov_devices: dict[str, str] = {}
    native: dict[str, dict[str, str]] = {}
    try:
        devices = openvino_devices()
    except ImportError:  # no OpenVINO here: a fingerprint without its devices, and that is true
        devices = []
    except RuntimeError as e:
        # Not swallowed: the devices are part of the machine's baseline key, so a fingerprint made
        # without them would silently file this machine's runs under another key.
        raise EcgbenchError(
            f"OpenVINO could not list its devices ({str(e).splitlines()[0] if str(e) else e!r}); "
            "the fingerprint would silently differ from this machine's"
        ) from None
    for d in devices:
        ov_devices[d.name] = d.full_name
        native[d.name] = Arithmetic(d.name, frozenset(d.capabilities), tuple(isa)).native()
    return Fingerprint(
        cpu_model=model,
        isa=isa,
        logical_cpus=os.cpu_count() or 1,
        usable_cpus=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0,
        threads=threads,
        os=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        versions=library_versions(LIBRARIES),
        hostname=platform.node(),
        openvino_devices=ov_devices,
        native_precisions=native,
    )
