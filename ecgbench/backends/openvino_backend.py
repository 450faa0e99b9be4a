"""OpenVINO Runtime backend: IR (FP32 / FP16 / INT8) on CPU, GPU, NPU, AUTO, HETERO."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ecgbench.backends.base import Backend, LoadInfo, LoadSpec
from ecgbench.errors import EcgbenchError
from ecgbench.host import check_openvino_device, device_kind
from ecgbench.precision import ARTIFACT_OF, Arithmetic, Execution, unsupported


def runtime_precisions(compiled) -> Counter[str]:
    """Count executed layers by runtime precision, from the compiled model's runtime graph.

    This is what really ran: an "INT8" IR whose convolutions execute in FP32 shows up here.
    """
    counts: Counter[str] = Counter()
    for op in compiled.get_runtime_model().get_ordered_ops():
        rt = op.get_rt_info()
        ltype = _rt_str(rt, "layerType") or op.get_type_name()
        if ltype in ("Parameter", "Result", "Constant", "Const", "Input", "Output"):
            continue
        prec = _rt_str(rt, "runtimePrecision") or "?"
        counts[prec.lower()] += 1
    return counts


# Layers whose output type is the float arithmetic a model computes in (CPU and GPU plugin names)
_COMPUTE_LAYERS = frozenset(
    {"convolution", "groupconvolution", "deconvolution", "fullyconnected", "matmul", "gemm"}
)


def runtime_float(compiled) -> str | None:
    """bf16 / f16 / f32: what the runtime graph's convolutions and matrix products output
    (``runtimePrecision`` is their *input*'s, f16 for f16 weights decompressed into f32 maths)."""
    seen: set[str] = set()
    for op in compiled.get_runtime_model().get_ordered_ops():
        ltype = (_rt_str(op.get_rt_info(), "layerType") or op.get_type_name()).lower()
        if ltype.replace("_", "") in _COMPUTE_LAYERS:
            seen.add(precision_name(op.get_output_element_type(0).get_type_name()))
    return next((p for p in ("bf16", "f16", "f32") if p in seen), None)


def zero_copy_tensor(x: np.ndarray):
    """A tensor over ``x``'s own memory (``ov.Tensor``'s second argument), so a call copies nothing."""
    import openvino as ov

    return ov.Tensor(x, True)


def ov_type(name: str):
    """``"f32"`` / ``"bf16"`` / ``"f16"`` -> ``ov.Type``."""
    import openvino as ov

    return {"f32": ov.Type.f32, "bf16": ov.Type.bf16, "f16": ov.Type.f16}[name]


def precision_name(value) -> str:
    """OpenVINO's inference precision (an ``ov.Type`` or its text) as f32 / bf16 / f16 / ..."""
    text = value.to_string() if hasattr(value, "to_string") else str(value)
    text = text.strip().strip("<>").replace("Type:", "").strip(" '")
    return {"float32": "f32", "bfloat16": "bf16", "float16": "f16"}.get(text, text)


def _ov_error(e: Exception) -> str:
    """OpenVINO's message on one line, without its "Exception from src/...cpp:N:" trace lines."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    said = [ln for ln in lines if not ln.startswith("Exception from ")]
    return " ".join(said or lines)[:400] or type(e).__name__


def _rt_str(rt, key: str) -> str | None:
    """An rt_info value as text: ``str()`` of an ``OVAny`` is ``"<ovany class>"``, not its value."""
    if key not in rt:
        return None
    v = rt[key]
    return v.astype(str) if hasattr(v, "astype") else str(v)


@dataclass(frozen=True)
class OpenVINOSpec(LoadSpec):
    perf_count: bool = False  # keep per-layer performance counters (ecgbench profile)


class OpenVINOBackend(Backend):
    NAME: ClassVar[str] = "openvino"
    LISTED: ClassVar[int] = 0
    FORMAT: ClassVar[str] = "openvino"
    PRECISIONS: ClassVar[tuple[str, ...]] = ("fp32", "bf16", "fp16", "int8")
    CAN_PROFILE: ClassVar[bool] = True
    CAN_CROSSCHECK: ClassVar[bool] = True
    DEFAULT_FLOAT: ClassVar[str | None] = None
    OPENVINO_DEVICES: ClassVar[bool] = True
    RUNTIME_MODULES: ClassVar[tuple[str, ...]] = ("openvino",)

    @classmethod
    def plan(cls, precision: str, arith: Arithmetic, int8_rest: str = "f32") -> Execution:
        """The device decides: each precision at its hint, FP16 weights at f32 where there is no
        f16 arithmetic, INT8's float layers at ``int8_rest`` (f16 where there is no f32: NPU)."""
        art, name = ARTIFACT_OF[precision], cls.NAME
        if precision == "fp32":
            if not arith.executes("f32"):
                raise unsupported("FP32", arith)
            return Execution(name, precision, art, "f32", "f32")
        if precision == "bf16":
            if not arith.executes("bf16"):
                raise unsupported("BF16", arith)
            return Execution(name, precision, art, "bf16", "bf16")
        if precision == "fp16":
            if arith.executes("f16"):
                return Execution(name, precision, art, "f16", "f16")
            note = f"FP16 weights, FP32 arithmetic ({arith.device} has no FP16 arithmetic)"
            return Execution(name, precision, art, "f32", "f32", note=note)
        if not arith.executes("int8"):
            raise unsupported("INT8", arith)
        rest = int8_rest if arith.executes("f32") or int8_rest != "f32" else "f16"
        if not arith.executes(rest):
            raise unsupported(f"{rest.upper()} for the layers INT8 leaves in float", arith)
        return Execution(name, precision, art, rest, f"int8+{rest}")

    SUFFIXES: ClassVar[tuple[str, ...]] = (".xml",)

    def __init__(self) -> None:
        self.compiled = None
        self.request = None
        self._throughput_requests: list = []
        self._input = None

    def load(self, spec: LoadSpec) -> LoadInfo:
        import openvino as ov
        import openvino.properties as props
        import openvino.properties.hint as hints

        core = ov.Core()
        if spec.compile_cache is not None:  # compiled blobs: a second process imports, not compiles
            core.set_property({"CACHE_DIR": str(spec.compile_cache)})
        device = check_openvino_device(spec.device)  # the process's device list, asked once
        try:
            model = core.read_model(str(spec.artifact))
        except RuntimeError as e:
            raise EcgbenchError(
                f"{spec.artifact.name}: not a readable IR ({_ov_error(e)})"
            ) from None
        # Static shapes: NPU requires them, and on CPU a dynamic-shape INT8 IR runs much slower
        # than the same IR reshaped (docs/measurements.md, "INT8 gap").
        if spec.static_shape or device_kind(device) == "NPU":
            model.reshape({model.inputs[0].get_any_name(): ov.PartialShape(list(spec.shape))})
        config: dict = {
            hints.performance_mode: hints.PerformanceMode.LATENCY
            if spec.scenario == "latency"
            else hints.PerformanceMode.THROUGHPUT
        }
        if spec.threads and device_kind(device) == "CPU" and ":" not in device:
            config[props.inference_num_threads] = spec.threads
        if spec.scenario == "latency" and ":" not in device:
            config[hints.num_requests] = 1
        if spec.inference_precision:
            config[hints.inference_precision] = ov_type(spec.inference_precision)
        if isinstance(spec, OpenVINOSpec) and spec.perf_count:
            config[props.enable_profiling] = True
        t0 = time.perf_counter()
        try:
            self.compiled = core.compile_model(model, device, config)
        except RuntimeError as e:
            raise EcgbenchError(
                f"{spec.artifact.name} failed to compile on {device}: {_ov_error(e)}"
            ) from None
        compile_ms = (time.perf_counter() - t0) * 1e3
        self.request = self.compiled.create_infer_request()
        info = LoadInfo(compile_ms=compile_ms)
        try:
            info.execution_devices = [
                str(d) for d in self.compiled.get_property("EXECUTION_DEVICES")
            ]
        except RuntimeError:
            info.execution_devices = [device]
        info.inference_precision, info.read_from = self._executed_precision()
        try:
            counts = runtime_precisions(self.compiled)
            info.int8_layers = counts.get("i8", 0) + counts.get("u8", 0)
            info.total_layers = sum(counts.values())
            info.extra["runtime_precisions"] = dict(counts)
        except (RuntimeError, AttributeError):  # not every plugin exposes a runtime model
            pass
        for key in ("OPTIMAL_NUMBER_OF_INFER_REQUESTS", "NUM_STREAMS", "INFERENCE_NUM_THREADS"):
            try:
                info.extra[key] = str(self.compiled.get_property(key))
            except RuntimeError:
                continue
        n = info.extra.get("INFERENCE_NUM_THREADS", "")
        info.threads = int(n) if n.isdigit() and int(n) > 0 else None
        return info

    def _executed_precision(self) -> tuple[str | None, str | None]:
        """The float arithmetic the compiled model runs, and where that was read.

        The runtime graph first: the output type of each executed convolution and matrix product
        is the arithmetic the plugin chose, not what was asked (``INFERENCE_PRECISION_HINT`` reads
        back the hint that was set; a CPU without FP16 given f16 runs bf16 or f32, and only the
        layers say which). The hint only where a plugin exposes no runtime graph.
        """
        try:
            ran = runtime_float(self.compiled)
        except (RuntimeError, AttributeError):
            ran = None
        if ran:
            return ran, "runtime graph"
        try:
            hint = precision_name(self.compiled.get_property("INFERENCE_PRECISION_HINT"))
        except RuntimeError:
            return None, None  # not reported: the row says so
        return hint, None  # the hint read back: asked, not verified

    def set_input(self, x: np.ndarray) -> None:

        self._input = np.ascontiguousarray(x, dtype=np.float32)
        self.request.set_input_tensor(zero_copy_tensor(self._input))

    def run(self) -> None:
        self.request.infer()

    def runtime_probe(self) -> Callable[[], int]:
        return self._last_latency_ns

    def _last_latency_ns(self) -> int:
        # InferRequest.latency: ms of the last inference, timed inside the runtime; it is the
        # per-inference figure benchmark_app's statistics are made of.
        return int(self.request.latency * 1e6)

    def output(self) -> np.ndarray:
        return self.request.get_output_tensor().data

    def run_throughput(self, x: np.ndarray, n: int) -> list[int]:
        """``n`` inferences over the plugin's optimal number of requests, kept in flight.

        The main thread waits on the oldest request and restarts it (benchmark_app's loop) instead
        of using ``AsyncInferQueue`` with a Python callback: a callback needs the GIL on OpenVINO's
        worker thread, and releasing the compiled model while one is pending deadlocked here.
        """

        nreq = max(1, int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        if len(self._throughput_requests) != nreq:
            self._throughput_requests = [self.compiled.create_infer_request() for _ in range(nreq)]
        tensor = zero_copy_tensor(np.ascontiguousarray(x, dtype=np.float32))
        for req in self._throughput_requests:
            req.set_input_tensor(tensor)
        stamps: list[int] = []
        inflight: deque = deque()
        started = 0
        for req in self._throughput_requests[: min(nreq, n)]:
            req.start_async()
            inflight.append(req)
            started += 1
        while inflight:
            req = inflight.popleft()
            req.wait()
            stamps.append(time.perf_counter_ns())
            if started < n:
                req.start_async()
                inflight.append(req)
                started += 1
        return stamps

    def close(self) -> None:
        self._throughput_requests = []
        self.request = None
        self.compiled = None
