"""One small interface for every inference backend: load a variant on a device, run a batch.

A new backend is one file, ``ecgbench/backends/<name>_backend.py``, with one class that declares its
facts (``NAME``, ``FORMAT``, ``PRECISIONS``, ``SUFFIXES``); :data:`ecgbench.backends.BACKENDS` finds
it there, and every table of backend facts elsewhere is derived from those declarations. The timing
loop calls only ``set_input`` once and then ``run`` repeatedly, so every backend is timed the same
way: the input is bound before the clock starts and the output stays in the backend's own buffer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ecgbench.precision import Arithmetic, Execution


@dataclass(frozen=True)
class LoadSpec:
    artifact: Path  # what the backend runs: an .xml IR, an .onnx model or the .pt checkpoint
    device: str = "CPU"
    batch: int = 1
    channels: int = 12
    samples: int = 5000
    threads: int | None = None
    scenario: str = "latency"  # "latency" | "throughput"
    static_shape: bool = True  # reshape to [batch, 12, samples] before compiling
    # The float arithmetic to execute (f32 | bf16 | f16), from precision.plan_execution; None
    # leaves the device's default (OpenVINO's CPU default is bf16 on AVX512-BF16/AMX CPUs).
    inference_precision: str | None = None
    # A compile cache folder (``run --footprint``'s cold and warm starts): OpenVINO's CACHE_DIR,
    # ONNX Runtime's saved optimized graph; PyTorch eager has none and ignores it. None: no cache.
    compile_cache: Path | None = None
    # The input layout a brought model's card declares: "NCL" [batch, leads, samples] (the zoo's
    # ConvNeXts) or "NLC" [batch, samples, leads].
    layout: str = "NCL"

    @property
    def shape(self) -> tuple[int, int, int]:
        if self.layout == "NLC":
            return (self.batch, self.samples, self.channels)
        return (self.batch, self.channels, self.samples)


@dataclass
class LoadInfo:
    compile_ms: float
    execution_devices: list[str] = field(default_factory=list)
    inference_precision: str | None = None
    int8_layers: int | None = None  # layers whose runtime precision is int8 (OpenVINO)
    total_layers: int | None = None
    # Threads the runtime reports it runs with (OpenVINO caps a request at the usable cores);
    # None where it does not say, and the row records the request
    threads: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Where the runtime said what ran ("runtime graph", "optimized graph", "layer outputs"); None:
    # the backend echoed what it was asked for, and rows say "asked, not verified".
    read_from: str | None = None

    @property
    def verified(self) -> bool:
        return self.read_from is not None


class Backend(ABC):
    NAME: ClassVar[str]  # as the CLI, suites and result rows name it
    LISTED: ClassVar[int] = 100  # its place in listings and in ``--backend all`` (then by NAME)
    FORMAT: ClassVar[str]  # the export format it runs: "openvino", "onnx" or "torch"
    PRECISIONS: ClassVar[tuple[str, ...]]  # what it can be asked for; the device decides per run
    SUFFIXES: ClassVar[tuple[str, ...]]  # artifact file suffixes it loads
    # whether `ecgbench profile` can read per-layer counters from it
    CAN_PROFILE: ClassVar[bool] = False
    # whether OpenVINO's benchmark_app runs its artifacts (`run --crosscheck`)
    CAN_CROSSCHECK: ClassVar[bool] = False
    # it runs the checkpoint itself (no export, and a brought model has no such form)
    RUNS_CHECKPOINT: ClassVar[bool] = False
    # the float arithmetic it runs when none is asked for (None: the device decides)
    DEFAULT_FLOAT: ClassVar[str | None] = "f32"
    # it takes OpenVINO's device names (CPU, GPU, NPU, AUTO:…, HETERO:…); others run on the CPU
    OPENVINO_DEVICES: ClassVar[bool] = False
    # what it imports when it loads (a footprint probe imports these before its baseline)
    RUNTIME_MODULES: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def arithmetic_device(cls, device: str) -> str:
        """The device whose arithmetic decides what this backend executes for ``device``."""
        return device if cls.OPENVINO_DEVICES else "CPU"

    @classmethod
    @abstractmethod
    def plan(cls, precision: str, arith: Arithmetic, int8_rest: str = "f32") -> Execution:
        """How this backend runs ``precision`` on a device that executes ``arith``; raises
        :class:`~ecgbench.errors.PrecisionUnsupportedError` where it cannot."""

    @abstractmethod
    def load(self, spec: LoadSpec) -> LoadInfo: ...

    @abstractmethod
    def set_input(self, x: np.ndarray) -> None: ...

    @abstractmethod
    def run(self) -> None:
        """One synchronous inference on the bound input (the timed call)."""

    @abstractmethod
    def output(self) -> np.ndarray: ...

    def runtime_probe(self) -> Callable[[], int] | None:
        """A function giving the runtime's own time (ns) of the last ``run()``, where it keeps one.

        That time leaves out the Python binding and whatever the runtime does outside its own
        timer, as ``benchmark_app``'s statistics do; the loop's wall time includes them. Both are
        kept, so the difference is a number, not a guess. ``None`` (the default) keeps the timing
        loop from calling anything extra for backends that have no such time.
        """
        return None

    def infer(self, x: np.ndarray) -> np.ndarray:
        self.set_input(np.ascontiguousarray(x, dtype=np.float32))
        self.run()
        return self.output().copy()

    def run_throughput(self, x: np.ndarray, n: int) -> list[int]:
        """``n`` inferences with all of the device's parallelism; per-completion timestamps (ns).

        The default is back-to-back synchronous calls, which is the throughput of a backend whose
        parallelism is inside one call (intra-op threads), as for PyTorch eager.
        """
        import time

        self.set_input(x)
        stamps = []
        for _ in range(n):
            self.run()
            stamps.append(time.perf_counter_ns())
        return stamps

    def close(self) -> None:  # noqa: B027 - optional hook, most backends need nothing
        """Release the compiled model / session."""
