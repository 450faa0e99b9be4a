"""Fixed workloads timed interleaved with the models: drift references and arithmetic ceilings.

``ModelReference`` (a fixed ConvNeXt-1D) and the f32 ``GemmCeiling`` are the references the gate
normalises machine drift by. The ceilings are the machine's practical peak for each arithmetic it
executes: a row's efficiency is its achieved GFLOP/s over the ceiling of the arithmetic it
*executed*; an FP32 ceiling under a model that ran in BF16 on AMX read 120 % (issue 15). They are
OpenVINO MatMuls (512 x 512 x 512) compiled at each inference precision on the CPU, with the run's
threads. OpenVINO rather than torch because it is the runtime the models are timed on (the same
oneDNN / MLAS kernels), it reaches every arithmetic by one property (``INFERENCE_PRECISION_HINT``;
INT8 by FakeQuantize on both inputs, as NNCF writes it), and its runtime graph says what executed,
so a ceiling that silently fell back is caught, not trusted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgbench.backends.openvino_backend import zero_copy_tensor
from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.schema import References, ReferenceTiming
from ecgbench.bench.timing import TimedVariant
from ecgbench.precision import Arithmetic

GEMM_N = 512
_FQ_RANGE = 4.0


def _gemm_model(n: int, int8: bool):
    import openvino as ov
    import openvino.opset13 as ops

    rng = np.random.default_rng(0)
    a = ops.parameter([n, n], ov.Type.f32, name="a")
    w = ops.constant(rng.standard_normal((n, n)).astype(np.float32))
    x = a
    if int8:
        lo, hi = ops.constant(np.float32(-_FQ_RANGE)), ops.constant(np.float32(_FQ_RANGE))
        x = ops.fake_quantize(a, lo, hi, lo, hi, 256)
        w = ops.fake_quantize(w, lo, hi, lo, hi, 255)
    return ov.Model([ops.matmul(x, w, False, False)], [a], f"gemm-{n}")


@dataclass
class GemmCeiling:
    """One GEMM at one arithmetic (f32 / bf16 / f16 / int8), compiled and ready to time."""

    arithmetic: str
    threads: int
    n: int = GEMM_N
    executed: str = ""  # the MatMul's runtime precision as OpenVINO reports it

    def __post_init__(self) -> None:
        import openvino as ov
        import openvino.properties as props
        import openvino.properties.hint as hints

        from ecgbench.backends.openvino_backend import ov_type

        int8 = self.arithmetic == "int8"
        hint = "f32" if int8 else self.arithmetic
        compiled = ov.Core().compile_model(
            _gemm_model(self.n, int8),
            "CPU",
            {
                hints.performance_mode: hints.PerformanceMode.LATENCY,
                props.inference_num_threads: self.threads,
                hints.inference_precision: ov_type(hint),
            },
        )
        self.executed = _matmul_precision(compiled)
        self._compiled = compiled
        self._req = compiled.create_infer_request()
        self._x = np.random.default_rng(1).standard_normal((self.n, self.n)).astype(np.float32)
        self._req.set_input_tensor(zero_copy_tensor(self._x))

    @property
    def label(self) -> str:
        # OpenVINO's MatMul; runs before this measured torch's sgemm as "reference:gemm-fp32"
        return f"reference:gemm-{self.arithmetic}-openvino"

    @property
    def flops(self) -> int:
        return 2 * self.n**3

    @property
    def as_asked(self) -> bool:
        """Whether the MatMul really ran in the arithmetic it stands for."""
        want = {"f32": ("f32",), "bf16": ("bf16",), "f16": ("f16",), "int8": ("u8", "i8")}
        return self.executed in want[self.arithmetic]

    def run(self) -> None:
        self._req.infer()

    def gflops(self, median_ns: float) -> float:
        return self.flops / median_ns


def _matmul_precision(compiled) -> str:
    for op in compiled.get_runtime_model().get_ordered_ops():
        rt = op.get_rt_info()
        if "layerType" in rt and rt["layerType"].astype(str) in ("FullyConnected", "MatMul"):
            return rt["runtimePrecision"].astype(str).lower()
    return "?"


def ceiling_arithmetics(float_types: list[str], int8: bool) -> list[str]:
    """f32 always (the gate's GEMM reference), then every other arithmetic the CPU executes."""
    out = ["f32"] + [t for t in float_types if t != "f32"]
    return [*out, "int8"] if int8 else out


def build_ceilings(threads: int, arithmetics: list[str]) -> list[GemmCeiling]:
    return [GemmCeiling(a, threads) for a in arithmetics]


class ModelReference:
    """A fixed FP32 ConvNeXt-1D on OpenVINO CPU, timed in every run beside the models.

    Built from a seeded initialisation (no file to ship or to drift), it does the same kind of work
    as the models under test, so machine drift moves it the way it moves them, which the GEMM
    reference does not always do (README, "Measuring the gate").
    """

    # "f32": compiled with an explicit f32 hint (runs before it ran at the CPU's default, bf16 on
    # some CPUs); the gate refuses to normalise by references whose labels differ
    label = "reference:convnext-f32"

    def __init__(self, threads: int, samples: int = 5000) -> None:
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
        self._req.set_input_tensor(zero_copy_tensor(self._x))

    def run(self) -> None:
        self._req.infer()


@dataclass
class ReferenceWorkloads:
    """The references of one run, timed in the same interleaved rounds as its variants."""

    ceilings: list[GemmCeiling]
    ceiling_timed: list[TimedVariant]
    model: ModelReference | None
    model_timed: TimedVariant | None

    @classmethod
    def none(cls) -> ReferenceWorkloads:
        """A run that times no reference (the stream): no ceiling in its document."""
        return cls([], [], None, None)

    @classmethod
    def build(cls, threads: int, cpu: Arithmetic, log) -> ReferenceWorkloads:
        """A ceiling for each arithmetic ``cpu`` executes, then the reference model."""
        arithmetics = ceiling_arithmetics(cpu.float_types(), cpu.executes("int8"))
        ceilings = build_ceilings(threads, arithmetics)
        for c in ceilings:
            if not c.as_asked:
                log(f"[yellow]ceiling[/] the {c.arithmetic} GEMM executed as {c.executed}")
        ceiling_timed = [TimedVariant(label=c.label, run=c.run) for c in ceilings]
        model = ModelReference(threads)
        return cls(ceilings, ceiling_timed, model, TimedVariant(label=model.label, run=model.run))

    @property
    def timed(self) -> list[TimedVariant]:
        return [*self.ceiling_timed, *([self.model_timed] if self.model_timed else [])]

    def record(self, doc: RunDocument) -> dict[str, float]:
        """Put what was timed so far into ``doc``; returns the GFLOP/s of each arithmetic's GEMM."""
        gemm_gflops = None
        per_arith: dict[str, float] = {}
        if self.ceiling_timed and self.ceiling_timed[0].samples_ns:
            gemm, gemm_timed = self.ceilings[0], self.ceiling_timed[0]  # f32: the gate's "gemm"
            ceilings = {
                c.arithmetic: _ceiling_timing(c, t)
                for c, t in zip(self.ceilings, self.ceiling_timed, strict=True)
                if t.samples_ns
            }
            doc.reference = References(gemm=_ceiling_timing(gemm, gemm_timed), ceilings=ceilings)
            gemm_gflops = doc.reference.gemm.gflops
            per_arith = {a: c.gflops for a, c in ceilings.items()}
        doc.fingerprint["gemm_gflops"] = gemm_gflops
        doc.fingerprint["ceilings_gflops"] = per_arith
        m = self.model_timed
        if self.model is not None and m is not None and m.samples_ns:
            doc.reference.model = ReferenceTiming.timed(self.model.label, m.samples_ns, m.slices)
        return per_arith


def _ceiling_timing(c: GemmCeiling, t: TimedVariant) -> ReferenceTiming:
    r = ReferenceTiming.timed(
        c.label,
        t.samples_ns,
        t.slices,
        arithmetic=c.arithmetic,
        executed=c.executed,
        as_asked=c.as_asked,
        n=c.n,
    )
    r.gflops = c.gflops(r.median_ms * 1e6)
    return r
