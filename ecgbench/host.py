"""This machine: CPU model and ISA, OpenVINO devices and what they execute, ONNX Runtime providers,
torch devices, device-name checks, default thread count and installed library versions.

Low-level on purpose: benchmarks, exports and checkpoints all describe the host through it, so it
imports none of them; inference libraries are imported inside the functions that need them.
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import os
import platform
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from ecgbench.errors import BadInputError, DeviceNotFoundError
from ecgbench.precision import Arithmetic

# The ISA flags (``/proc/cpuinfo`` names) that decide which kernels the runtimes can use.
ISA_FLAGS = tuple(
    [
        "sse4_2",
        "avx",
        "avx2",
        "fma",
        "f16c",
        "avx512f",
        "avx512bw",
        "avx512_vnni",
        "avx512_bf16",
        "avx512_fp16",
        "avx_vnni",
        "amx_tile",
        "amx_int8",
        "amx_bf16",
        "amx_fp16",
    ]
)
# OpenVINO's device names (plugins) and its virtual devices that take a device list.
KNOWN_OV_DEVICES = ("CPU", "GPU", "NPU")
VIRTUAL_OV_DEVICES = ("AUTO", "HETERO", "MULTI", "BATCH")
_DEV = re.compile(r"^(CPU|GPU|NPU)(\.\d+)?$")


def cpu_info() -> tuple[str, list[str]]:
    """The CPU model name and which of :data:`ISA_FLAGS` it has (read once per process)."""
    model, flags = _cpu_info()
    return model, list(flags)


@functools.cache
def _cpu_info() -> tuple[str, tuple[str, ...]]:
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
    return model, tuple(f for f in ISA_FLAGS if f in flags)


@functools.cache
def _introspection_core():
    """One OpenVINO core per process for the questions about devices (never for compiling)."""
    import openvino as ov

    return ov.Core()


@functools.cache
def _available_devices() -> tuple[str, ...]:
    return tuple(_introspection_core().available_devices)


def default_threads() -> int:
    """The CPUs this process may run on (its affinity, not the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def library_versions(names: Iterable[str], absent: str | None = "absent") -> dict[str, str]:
    """The installed version of each of ``names``, in order; ``python`` is the interpreter.

    Each caller passes its own list and policy because the result is stored (fingerprints,
    checkpoints, export cache keys): a package not installed reads ``absent``, or is left out
    when ``absent`` is None.
    """
    out: dict[str, str] = {}
    for name in names:
        v = _installed_version(name)
        if v is not None:
            out[name] = v
        elif absent is not None:
            out[name] = absent
    return out


@functools.cache
def _installed_version(name: str) -> str | None:
    """A distribution's installed version, None if absent (read once per process and name)."""
    if name == "python":
        return platform.python_version()
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


@dataclass
class DeviceInfo:
    name: str
    full_name: str
    capabilities: list[str] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)


def openvino_devices() -> list[DeviceInfo]:
    """OpenVINO's devices with their names, capabilities and properties (asked once per
    process: every fingerprint and ``devices`` asks; the copies are the caller's)."""
    return [
        replace(d, capabilities=list(d.capabilities), properties=dict(d.properties))
        for d in _openvino_devices()
    ]


@functools.cache
def _openvino_devices() -> tuple[DeviceInfo, ...]:
    core = _introspection_core()
    out = []
    for d in _available_devices():
        props: dict[str, Any] = {}
        for key in ("DEVICE_ARCHITECTURE", "OPTIMAL_NUMBER_OF_INFER_REQUESTS", "RANGE_FOR_STREAMS"):
            try:
                props[key] = str(core.get_property(d, key))
            except RuntimeError:
                continue
        out.append(
            DeviceInfo(
                name=d,
                full_name=str(core.get_property(d, "FULL_DEVICE_NAME")),
                capabilities=[str(c) for c in core.get_property(d, "OPTIMIZATION_CAPABILITIES")],
                properties=props,
            )
        )
    return tuple(out)


@functools.cache
def device_arithmetic(device: str = "CPU") -> Arithmetic:
    """What the physical device under ``device`` (``AUTO:GPU,CPU`` -> GPU) executes natively
    (asked once per process and device: a run asks it for every variant)."""
    core = _introspection_core()
    kind = device_kind(device)
    wanted = device.upper().split(":")[-1].split(",")[0] if ":" in device else device.upper()
    have = list(_available_devices())
    name = wanted if wanted in have else next((d for d in have if d.split(".")[0] == kind), kind)
    try:
        caps = [str(c) for c in core.get_property(name, "OPTIMIZATION_CAPABILITIES")]
    except RuntimeError:
        caps = []
    return Arithmetic(device=name, capabilities=frozenset(caps), isa=tuple(cpu_info()[1]))


def cpu_description() -> str:
    """``AMD EPYC (FP32: AVX-512 · BF16: AVX512-BF16 · INT8: AVX512-VNNI)``: which CPU measured."""
    return f"{cpu_info()[0]} ({device_arithmetic('CPU').describe()})"


def onnxruntime_providers() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def torch_devices() -> list[str]:
    import torch

    out = ["cpu"]
    if torch.cuda.is_available():
        out += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if hasattr(torch, "xpu") and torch.xpu.is_available():
        out += [f"xpu:{i}" for i in range(torch.xpu.device_count())]
    return out


def check_openvino_device(device: str, available: list[str] | None = None) -> str:
    """Validate an OpenVINO device string (``CPU``, ``GPU.1``, ``AUTO:GPU,CPU``, ``HETERO:NPU,CPU``).

    Raises :class:`DeviceNotFoundError` naming what exists when a real device is absent, and
    :class:`BadInputError` for a name OpenVINO does not know at all.
    """
    if available is None:
        available = list(_available_devices())
    dev = device.strip().upper()
    if not dev:
        raise BadInputError("empty device name")
    head, _, tail = dev.partition(":")
    if head in VIRTUAL_OV_DEVICES:
        parts = [p for p in tail.split(",") if p] if tail else []
        if head in ("HETERO", "MULTI") and not parts:
            raise BadInputError(f"{head} needs a device list, e.g. {head}:GPU,CPU")
        for p in parts:
            check_openvino_device(p, available)
        return dev
    if not _DEV.match(dev):
        raise BadInputError(
            f"unknown device {device!r}; OpenVINO device names are "
            f"{', '.join(KNOWN_OV_DEVICES + VIRTUAL_OV_DEVICES)} (e.g. GPU.1, AUTO:GPU,CPU)"
        )
    base = dev.split(".")[0]
    present = {a.split(".")[0] for a in available}
    if dev not in available and not (dev == base and base in present):
        raise DeviceNotFoundError(
            f"device {dev} is not available on this machine; OpenVINO sees: "
            f"{', '.join(available) or 'no device'}"
        )
    return dev


def device_kind(device: str) -> str:
    """The physical device family a (possibly virtual) device string will mostly run on."""
    dev = device.upper()
    head, _, tail = dev.partition(":")
    if head in VIRTUAL_OV_DEVICES:
        return (tail.split(",")[0].split(".")[0] if tail else "CPU") or "CPU"
    return dev.split(".")[0]


def portable_command(argv: Iterable[str]) -> str:
    """A command line as any machine would retype it: the program by its name, not by the
    absolute path of the virtual environment that ran it (``/work/venv/bin/ecgbench`` ->
    ``ecgbench``), every argument quoted for a shell."""
    import shlex

    args = list(argv)
    if args and os.sep in args[0]:
        args[0] = os.path.basename(args[0])
    return " ".join(shlex.quote(a) for a in args)
