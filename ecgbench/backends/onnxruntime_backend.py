"""ONNX Runtime backend: the exported ONNX model (FP32, or NNCF's INT8 QDQ model)."""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

import numpy as np

from ecgbench.backends.base import Backend, LoadInfo, LoadSpec
from ecgbench.errors import BadInputError, DeviceNotFoundError, EcgbenchError
from ecgbench.precision import ARTIFACT_OF, NATURAL, Arithmetic, Execution

# OpenVINO-style device names -> ONNX Runtime execution providers that serve them, best first.
_PROVIDERS = {
    "CPU": ["CPUExecutionProvider"],
    "GPU": [
        "CUDAExecutionProvider",
        "ROCMExecutionProvider",
        "DmlExecutionProvider",
        "OpenVINOExecutionProvider",
    ],
    "NPU": ["OpenVINOExecutionProvider", "QNNExecutionProvider"],
}


# Operators of ONNX Runtime's optimized graph that compute in int8 (QDQ pairs fused into kernels),
# and the float compute operators beside them: their counts are what ran, not what was stored.
_INT8_OPS = frozenset(
    {
        "QLinearConv",
        "QLinearMatMul",
        "ConvInteger",
        "MatMulInteger",
        "MatMulIntegerToFloat",
        "DynamicQuantizeMatMul",
        "QGemm",
        "QAttention",
        "NhwcQLinearConv",
    }
)
_FLOAT_OPS = frozenset(
    {"Conv", "FusedConv", "MatMul", "FusedMatMul", "Gemm", "FusedGemm", "ConvTranspose"}
)


def graph_arithmetic(optimized: Path) -> tuple[str, int, int]:
    """(float arithmetic, int8 compute layers, all compute layers) of a graph ONNX Runtime
    optimized and saved: a QDQ model whose pairs it did not fuse computes in float."""
    import onnx

    m = onnx.load(str(optimized), load_external_data=False)
    ops = [n.op_type for n in m.graph.node]
    int8 = sum(op in _INT8_OPS for op in ops)
    total = int8 + sum(op in _FLOAT_OPS for op in ops)
    f16 = any(t.data_type == onnx.TensorProto.FLOAT16 for t in m.graph.initializer)
    return ("f16" if f16 else "f32"), int8, total


def _optimized_graph(source: Path, so, providers: list) -> tuple[str, int, int]:
    """The graph a session of these options builds, saved aside and read (the timed session is
    built without the save, so its compile time is not the serialisation's)."""
    import tempfile

    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="ecgbench-ort-") as d:
        o = ort.SessionOptions()
        o.graph_optimization_level = so.graph_optimization_level
        o.log_severity_level = 3
        o.optimized_model_filepath = str(Path(d) / "optimized.onnx")
        ort.InferenceSession(str(source), o, providers=providers)
        return graph_arithmetic(Path(o.optimized_model_filepath))


def _cached_source(artifact: Path, cache: Path, so) -> Path:
    """The model to open with a compile cache: the first session optimizes and saves its graph
    there (cold); a later one opens that saved graph with graph optimizations off (warm)."""
    import onnxruntime as ort

    key = hashlib.sha1(str(Path(artifact).resolve()).encode()).hexdigest()[:12]
    saved = Path(cache) / f"{Path(artifact).stem}-{key}.optimized.onnx"
    if saved.is_file():
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        return saved
    saved.parent.mkdir(parents=True, exist_ok=True)
    so.optimized_model_filepath = str(saved)
    return Path(artifact)


class ONNXRuntimeBackend(Backend):
    NAME: ClassVar[str] = "onnxruntime"
    LISTED: ClassVar[int] = 1
    FORMAT: ClassVar[str] = "onnx"
    PRECISIONS: ClassVar[tuple[str, ...]] = ("fp32", "int8")
    RUNTIME_MODULES: ClassVar[tuple[str, ...]] = ("onnxruntime",)

    @classmethod
    def plan(cls, precision: str, arith: Arithmetic, int8_rest: str = "f32") -> Execution:
        """FP32 and QDQ INT8 with f32 between; no precision hint to give."""
        if precision not in cls.PRECISIONS:
            raise BadInputError(f"onnxruntime runs fp32 and int8, not {precision}")
        note = "" if int8_rest == "f32" or precision != "int8" else "ONNX Runtime keeps f32"
        executed = NATURAL.get(precision, "int8+f32")
        return Execution(cls.NAME, precision, ARTIFACT_OF[precision], None, executed, note)

    SUFFIXES: ClassVar[tuple[str, ...]] = (".onnx",)

    def __init__(self) -> None:
        self.session = None
        self.binding = None
        self._x = None
        self._spec: LoadSpec | None = None

    def _providers(self, device: str) -> list:
        import onnxruntime as ort

        dev = device.upper().split(".")[0]
        if dev not in _PROVIDERS:
            raise BadInputError(
                f"onnxruntime backend runs on CPU, GPU or NPU, not {device!r} (AUTO/HETERO are "
                "OpenVINO devices)"
            )
        have = ort.get_available_providers()
        chosen = [p for p in _PROVIDERS[dev] if p in have]
        if not chosen:
            raise DeviceNotFoundError(
                f"no ONNX Runtime execution provider for {dev} here; available: {', '.join(have)}"
            )
        if chosen[0] == "OpenVINOExecutionProvider":
            return [(chosen[0], {"device_type": dev})]
        return [chosen[0]]

    def load(self, spec: LoadSpec) -> LoadInfo:
        import onnxruntime as ort

        self._spec = spec
        if spec.inference_precision not in (None, "f32"):
            raise BadInputError(
                f"onnxruntime keeps float layers in f32; it does not run {spec.inference_precision}"
            )
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.log_severity_level = 3
        if spec.threads:
            so.intra_op_num_threads = spec.threads
            so.inter_op_num_threads = 1
        providers = self._providers(spec.device)
        source = spec.artifact
        if spec.compile_cache is not None:
            source = _cached_source(spec.artifact, spec.compile_cache, so)
        t0 = time.perf_counter()
        try:
            self.session = ort.InferenceSession(str(source), so, providers=providers)
        except Exception as e:  # ORT's errors (InvalidProtobuf, NoSuchFile, ...) subclass Exception
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise EcgbenchError(
                f"{spec.artifact.name} failed to load in ONNX Runtime: {first}"
            ) from None
        compile_ms = (time.perf_counter() - t0) * 1e3
        saved = Path(so.optimized_model_filepath) if so.optimized_model_filepath else None
        try:
            if saved is not None and saved.is_file():  # the compile cache's graph: read it
                arith, int8, total = graph_arithmetic(saved)
            elif source != spec.artifact and Path(source).is_file():  # opened from that cache
                arith, int8, total = graph_arithmetic(Path(source))
            else:
                arith, int8, total = _optimized_graph(source, so, providers)
            read_from = "optimized graph"
        except Exception:  # a provider that cannot save its graph: the row says not verified
            arith, int8, total, read_from = "f32", None, None, None
        return LoadInfo(
            compile_ms=compile_ms,
            execution_devices=list(self.session.get_providers()[:1]),
            inference_precision=arith,
            int8_layers=int8,
            total_layers=total,
            read_from=read_from,
        )

    def set_input(self, x: np.ndarray) -> None:
        self._x = np.ascontiguousarray(x, dtype=np.float32)
        self.binding = self.session.io_binding()
        self.binding.bind_cpu_input(self.session.get_inputs()[0].name, self._x)
        self.binding.bind_output(self.session.get_outputs()[0].name)

    def run(self) -> None:
        self.session.run_with_iobinding(self.binding)

    def output(self) -> np.ndarray:
        return self.binding.copy_outputs_to_cpu()[0]

    def run_throughput(self, x: np.ndarray, n: int) -> list[int]:
        """Concurrent sessions' worth of requests: one thread per core, each with its own binding."""
        import os

        workers = max(1, (self._spec.threads if self._spec else None) or os.cpu_count() or 1)
        name_in = self.session.get_inputs()[0].name
        feed = {name_in: np.ascontiguousarray(x, dtype=np.float32)}
        stamps: list[int] = []

        def one(_: int) -> None:
            self.session.run(None, feed)
            stamps.append(time.perf_counter_ns())

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, range(n)))
        return sorted(stamps)

    def close(self) -> None:
        self.binding = None
        self.session = None
