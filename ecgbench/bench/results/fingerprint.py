"""The environment a number was measured in, and the one definition of "the same machine".

Two results are comparable only if their fingerprints agree on what drives speed: CPU model, ISA,
threads, and the inference libraries' versions (:attr:`Fingerprint.machine_identity`). Every
"same machine?" question is asked here: ``machine_id`` (the store's machines, the report) hashes
that identity, ``baseline_key`` (the CI baseline caches) hashes it with what the CPU executes
natively, and ``differences`` (``compare``'s refusal) names where two identities differ. The
hashes are recorded in documents, stores and baseline file names, so each keeps its exact form.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ecgbench.errors import EcgbenchError
from ecgbench.host import cpu_info, library_versions, openvino_devices
from ecgbench.precision import Arithmetic, int8_isa

# the libraries a fingerprint records (all but ecgbench key ``machine_id``)
LIBRARIES = ("ecgbench", "openvino", "nncf", "onnxruntime", "onnx", "torch", "numpy")
# What must match for two runs to be compared without --allow-different-machine: these fields and
# these libraries' versions (what `ecgbench compare` names when two runs' machines differ).
IDENTITY_FIELDS = ("cpu_model", "isa", "threads")
COMPARED_VERSIONS = ("openvino", "onnxruntime", "torch", "nncf", "onnx")


def precisions_from_isa(isa: list[str]) -> list[str]:
    """What OpenVINO's CPU plugin executes natively, read off the ISA (runs recorded before the
    fingerprint kept ``native_precisions``): BF16 from AVX512-BF16 or AMX, FP16 from
    AVX512-FP16 (or AMX-FP16); FP32 and INT8 everywhere."""
    have = set(isa)
    out = {"FP32", "INT8"}
    if have & {"avx512_bf16", "amx_bf16"}:
        out.add("BF16")
    if have & {"avx512_fp16", "amx_fp16"}:
        out.add("FP16")
    return sorted(out)


def _hash(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class Fingerprint:
    # None only in a fingerprint read from a document that lacked the field (from_dict)
    cpu_model: str | None
    isa: list[str] | None
    logical_cpus: int
    usable_cpus: int
    threads: int | None
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
    # the id a document recorded (it files the run in a store even if hashed otherwise since)
    recorded_id: str | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fingerprint:
        """A document's fingerprint; keys older documents lack read as None or empty."""
        blank: dict[str, Any] = {"logical_cpus": 0, "usable_cpus": 0, "os": "", "python": ""}
        blank |= {"hostname": "", "versions": {}}
        kw = {f.name: d.get(f.name, blank.get(f.name)) for f in fields(cls) if f.init}
        for k in ("versions", "openvino_devices", "ceilings_gflops", "native_precisions"):
            kw[k] = kw[k] or {}
        kw["recorded_id"] = str(d["machine_id"]) if d.get("machine_id") else None
        return cls(**kw)

    @property
    def machine_identity(self) -> dict[str, Any]:
        """What makes two machines the same for timing: CPU, ISA, threads, library versions."""
        return {
            "cpu": self.cpu_model,
            "isa": self.isa,
            "threads": self.threads,
            "versions": {k: v for k, v in self.versions.items() if k != "ecgbench"},
        }

    @property
    def machine_id(self) -> str:
        """12 hex digits of the identity (or the id the document recorded)."""
        return self.recorded_id or _hash(self.machine_identity)

    @property
    def executes(self) -> list[str]:
        """What the CPU executes natively (``BF16``, ``FP16``, ``INT8`` …)."""
        native = self.native_precisions.get("CPU")
        return sorted(native) if native else precisions_from_isa(self.isa or [])

    @property
    def baseline_key(self) -> str:
        """12 hex digits naming the machine class a baseline is valid for: the identity, the ISA
        in any order, and what the CPU executes natively."""
        key = {**self.machine_identity, "isa": sorted(self.isa or []), "executes": self.executes}
        return _hash(key)

    def differences(self, other: Fingerprint) -> list[str]:
        """Where ``other`` is another machine, one line each (empty: the same machine)."""
        diffs = []
        for k in IDENTITY_FIELDS:
            a, b = getattr(self, k), getattr(other, k)
            if a != b:
                diffs.append(f"{k}: {a!r} vs {b!r}")
        for k in COMPARED_VERSIONS:
            a, b = self.versions.get(k), other.versions.get(k)
            if a != b:
                diffs.append(f"{k} {a} vs {b}")
        return diffs

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        del d["recorded_id"]
        d["machine_id"] = self.machine_id
        d["int8_isa"] = int8_isa(self.isa or [])
        return d


def machine_label(fp: dict[str, Any]) -> str:
    """A stable default name for a machine: CPU, threads and the fingerprint hash."""
    mid = str(fp.get("machine_id", "?"))[:6]
    return f"{fp.get('cpu_model', '?')} · {fp.get('threads', '?')} thr · {mid}"


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
