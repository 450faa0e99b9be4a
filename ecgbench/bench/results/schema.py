"""The rows and references of a run document (schema 2): nested, typed, one group per concern.

A row keeps its identity and provenance at the top level and its measurements in groups
(``latency``, ``throughput``, ``accuracy``, ``execution``, ``footprint``), so that new measurements
(memory, energy) join a group instead of a flat list of forty fields. The store and the report read
rows flat, under their schema-1 names (:data:`FLAT_FIELDS`): those tables and their users keep
their columns.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from ecgbench.bench.results.groups import PIPELINE_COLUMNS, Pipeline, Stream, pipeline_columns
from ecgbench.statistics import latency_summary, quantile_interval, validity

# ``precision`` is what was asked for, ``executed`` what ran (f32, bf16, int8+f32, ...): a row that
# ran another arithmetic is another key, never compared as the same thing.
ROW_KEY = (
    "model",
    "backend",
    "device",
    "precision",
    "executed",
    "scenario",
    "batch",
    "input_shape",
)


@dataclass(kw_only=True)
class Latency:
    """Per-call wall time: the summary of the raw samples, and the samples themselves."""

    n: int
    median_ms: float
    mean_ms: float
    p90_ms: float
    p99_ms: float
    min_ms: float
    max_ms: float | None = None  # None in rows converted from schema 1, which kept neither
    iqr_ms: float
    std_ms: float | None = None
    # OpenVINO only: the median of the runtime's own per-inference latency (what benchmark_app
    # reports) and the median per-call difference to the wall time (the Python binding and what
    # the runtime does outside its own timer).
    runtime_median_ms: float | None = None
    call_overhead_ms: float | None = None
    samples_ns: list[int]
    slices: list[list[int]] = field(default_factory=list)  # [round, first sample index]
    # {"p90": bool, "p99": bool}: were there enough samples for that percentile to be an estimate
    # at all (MLPerf LoadGen's rule, statistics.py)? Documents written before it have
    # none: computed from n when the samples are there, else None.
    percentiles_valid: dict[str, bool] | None = None
    # The true p99 lies in [lo, hi] with 95 % confidence (two order statistics, no assumption on
    # the distribution); None where the samples are too few for any such interval (n < 368).
    p99_interval_ms: list[float] | None = None

    def __post_init__(self) -> None:
        if self.percentiles_valid is None and self.samples_ns:
            self.percentiles_valid = validity(self.n)
        if self.p99_interval_ms is None and self.samples_ns:
            ci = quantile_interval(self.samples_ns, 99.0)
            self.p99_interval_ms = [ci[0] / 1e6, ci[1] / 1e6] if ci else None
        elif self.percentiles_valid is not None and not isinstance(self.percentiles_valid, dict):
            raise TypeError("latency.percentiles_valid is not an object")

    def valid(self, name: str) -> bool | None:
        """Whether ``name`` ("p90", "p99") had enough samples; None where unknown."""
        return (self.percentiles_valid or {}).get(name)

    @classmethod
    def from_samples(
        cls,
        samples_ns: Sequence[int],
        slices: Sequence[Sequence[int]] = (),
        runtime_ns: Sequence[int] = (),
    ) -> Latency:
        """The one place a row's latency is made; ``runtime_ns``: the backend's own time per call,
        beside the wall samples (a Ctrl-C between the two appends can leave it one shorter)."""
        s = list(samples_ns)
        st = latency_summary(s)
        n_own = min(len(runtime_ns), len(s))
        runtime_ms = overhead_ms = None
        if n_own:
            own = list(runtime_ns[:n_own])
            runtime_ms = float(np.median(own)) / 1e6
            overhead_ms = float(np.median(np.subtract(s[:n_own], own))) / 1e6
        return cls(
            **st,  # type: ignore[arg-type]
            runtime_median_ms=runtime_ms,
            call_overhead_ms=overhead_ms,
            samples_ns=s,
            slices=[list(x) for x in slices],
            percentiles_valid=validity(len(s)),
        )

    def fps(self, batch: int) -> float:
        """Throughput at ``batch`` inputs per call: 1 / mean."""
        return batch * 1e3 / self.mean_ms


@dataclass(kw_only=True)
class Throughput:
    fps: float
    gflops: float | None = None  # achieved: model FLOPs x batch / median
    # achieved over the GEMM ceiling of the arithmetic that executed (``ceiling``: f32 / bf16 /
    # f16 / int8), timed on the CPU in the same run; None for rows on other devices
    gemm_fraction: float | None = None
    ceiling: str | None = None
    ceiling_gflops: float | None = None


@dataclass(kw_only=True)
class Accuracy:
    challenge_score: float | None = None  # accuracy of this variant (zoo manifest, fold 10)
    auroc: float | None = None
    # 95 % bootstrap intervals over the records (zoo manifest, ``evaluate --bootstrap``): [lo, hi]
    challenge_score_ci95: list[float] | None = None
    auroc_ci95: list[float] | None = None
    # The Challenge score's drop against the model's FP32 on the same resampled records (paired
    # bootstrap, zoo manifest): its 95 % interval and "tie" / "drop" / "gain" (0 outside it)
    drop_vs_fp32_ci95: list[float] | None = None
    drop_vs_fp32: str | None = None
    note: str | None = None  # "not measured for bf16": no score of another arithmetic
    verification: str | None = None


@dataclass(kw_only=True)
class ExecutedAs:
    """How the variant ran, as the runtime reports it."""

    threads: int | None = None
    devices: list[str] = field(default_factory=list)
    inference_precision: str | None = None  # the float arithmetic that executed (f32/bf16/f16)
    as_planned: bool | None = None  # executed == what ecgbench asked the runtime for
    note: str | None = None  # why executed differs from the name, where it does
    int8_layers: int | None = None
    total_layers: int | None = None


@dataclass(kw_only=True)
class Footprint:
    compile_ms: float
    first_infer_ms: float | None
    flops: int | None = None
    params: int | None = None
    # ``run --footprint`` only (bench/probes/footprint.py: each variant in its own fresh processes); None
    # where not measured. MB = 10^6 bytes; the peaks are above ``rss_baseline_mb``, the RSS of the
    # fresh process after its imports and before loading.
    model_bytes: int | None = None  # the model's files on disk (.xml+.bin, .onnx+data, .pt)
    rss_baseline_mb: float | None = None
    peak_rss_compile_mb: float | None = None  # while reading + compiling
    peak_rss_infer_mb: float | None = None  # over the first and the steady-state inferences
    compile_cold_ms: float | None = None  # an empty compile cache (the first start)
    compile_warm_ms: float | None = None  # a second fresh process reusing that cache
    first_result_ms: float | None = None  # process spawned -> first output, cold cache


# Footprint fields only ``--footprint`` measures: left out of a document's row while None, so a
# default run writes the same document as before they existed.
MEASURED_FOOTPRINT = (
    "model_bytes",
    "rss_baseline_mb",
    "peak_rss_compile_mb",
    "peak_rss_infer_mb",
    "compile_cold_ms",
    "compile_warm_ms",
    "first_result_ms",
)


def row_dict(row: ResultRow) -> dict[str, Any]:
    """The row as its document keeps it: unmeasured footprint fields left out."""
    d = asdict(row)
    d["footprint"] = {
        k: v for k, v in d["footprint"].items() if not (k in MEASURED_FOOTPRINT and v is None)
    }
    return d


GROUPS: dict[str, type] = {
    "latency": Latency,
    "throughput": Throughput,
    "accuracy": Accuracy,
    "execution": ExecutedAs,
    "footprint": Footprint,
}

# (flat name, group, field): the schema-1 row, and the columns of the store and the report.
FLAT_FIELDS: tuple[tuple[str, str | None, str], ...] = (
    ("model", None, "model"),
    ("backend", None, "backend"),
    ("device", None, "device"),
    ("precision", None, "precision"),
    ("scenario", None, "scenario"),
    ("batch", None, "batch"),
    ("input_shape", None, "input_shape"),
    ("artifact", None, "artifact"),
    ("compile_ms", "footprint", "compile_ms"),
    ("first_infer_ms", "footprint", "first_infer_ms"),
    ("samples_ns", "latency", "samples_ns"),
    ("n", "latency", "n"),
    ("median_ms", "latency", "median_ms"),
    ("mean_ms", "latency", "mean_ms"),
    ("p90_ms", "latency", "p90_ms"),
    ("p99_ms", "latency", "p99_ms"),
    ("min_ms", "latency", "min_ms"),
    ("iqr_ms", "latency", "iqr_ms"),
    ("throughput_fps", "throughput", "fps"),
    ("runtime_median_ms", "latency", "runtime_median_ms"),
    ("call_overhead_ms", "latency", "call_overhead_ms"),
    ("flops", "footprint", "flops"),
    ("params", "footprint", "params"),
    *((name, "footprint", name) for name in MEASURED_FOOTPRINT),
    ("gflops", "throughput", "gflops"),
    ("gemm_fraction", "throughput", "gemm_fraction"),
    ("ceiling", "throughput", "ceiling"),
    ("ceiling_gflops", "throughput", "ceiling_gflops"),
    ("threads", "execution", "threads"),
    ("execution_devices", "execution", "devices"),
    ("inference_precision", "execution", "inference_precision"),
    ("executed", None, "executed"),
    ("precision_as_planned", "execution", "as_planned"),
    ("precision_note", "execution", "note"),
    ("int8_layers", "execution", "int8_layers"),
    ("total_layers", "execution", "total_layers"),
    ("challenge_score", "accuracy", "challenge_score"),
    ("auroc", "accuracy", "auroc"),
    ("accuracy_note", "accuracy", "note"),
    ("verification", "accuracy", "verification"),
    ("complete", None, "complete"),
    ("slices", "latency", "slices"),
    ("extra", None, "extra"),
)
RAW_FIELDS = ("samples_ns", "slices", "extra")  # kept in the document, never a column


@dataclass(kw_only=True)
class ResultRow:
    model: str
    backend: str
    device: str
    precision: str
    executed: str | None = None  # what ran as one label: f32, bf16, f16, int8+f32, int8+bf16
    scenario: str
    batch: int
    input_shape: list[int]
    artifact: str
    complete: bool = True
    latency: Latency
    throughput: Throughput
    accuracy: Accuracy = field(default_factory=Accuracy)
    execution: ExecutedAs = field(default_factory=ExecutedAs)
    footprint: Footprint
    extra: dict[str, Any] = field(default_factory=dict)
    # Streaming rows only (scenario "stream"); None elsewhere and in older documents. Not in
    # GROUPS: an optional group, never a store column (the stored document keeps it).
    stream: Stream | None = None
    # ``run --pipeline`` rows only: the end-to-end call (raw window -> preprocessing -> model ->
    # decisions) timed beside this model-only row (bench/probes/pipeline.py); None elsewhere.
    pipeline: Pipeline | None = None

    def key(self) -> tuple:
        return tuple(
            tuple(getattr(self, k)) if k == "input_shape" else getattr(self, k) for k in ROW_KEY
        )

    def flat(self, skip: Sequence[str] = RAW_FIELDS) -> dict[str, Any]:
        """The row under its schema-1 names (a shallow copy: lists are the row's own)."""
        out = {
            name: getattr(getattr(self, g) if g else self, f)
            for name, g, f in FLAT_FIELDS
            if name not in skip
        }
        return {**out, **pipeline_columns(self.pipeline)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ResultRow:
        """A schema-2 row; unknown keys are ignored, a missing one (or a group not an object) raises
        TypeError."""
        top = {
            k: v
            for k, v in d.items()
            if k in _TOP and k not in GROUPS and k not in ("stream", "pipeline")
        }
        groups = {g: _build(c, d[g]) for g, c in GROUPS.items() if g in d}
        stream = _build(Stream, d["stream"]) if d.get("stream") is not None else None
        pipe = Pipeline.from_dict(d["pipeline"]) if d.get("pipeline") is not None else None
        return cls(**top, **groups, stream=stream, pipeline=pipe)


_TOP = {f.name for f in fields(ResultRow)}


def _build(cls: type, d: Any) -> Any:
    if not isinstance(d, dict):
        raise TypeError(f"{cls.__name__.lower()} is not an object")
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


def flat_types() -> dict[str, Any]:
    """The type of every flat field (what the store makes its columns of)."""
    hints = {g: typing.get_type_hints(c) for g, c in GROUPS.items()}
    top = typing.get_type_hints(ResultRow)
    out = {name: (hints[g] if g else top)[f] for name, g, f in FLAT_FIELDS}
    return {**out, **dict.fromkeys(PIPELINE_COLUMNS, float | None)}


@dataclass(kw_only=True)
class ReferenceTiming:
    """A fixed workload timed in the run's rounds: a GEMM ceiling or the reference ConvNeXt."""

    label: str | None = None
    arithmetic: str | None = None  # GEMMs: the arithmetic it stands for
    executed: str | None = None  # GEMMs: the MatMul's runtime precision as OpenVINO reports it
    as_asked: bool | None = None
    n: int | None = None  # GEMMs: n x n x n
    median_ms: float | None = None
    gflops: float | None = None
    samples_ns: list[int] = field(default_factory=list)
    slices: list[list[int]] = field(default_factory=list)

    @classmethod
    def timed(
        cls, label: str, samples_ns: Sequence[int], slices: Sequence[Sequence[int]] = (), **kw: Any
    ) -> ReferenceTiming:
        return cls(
            label=label,
            median_ms=float(latency_summary(samples_ns)["median_ms"]),
            samples_ns=list(samples_ns),
            slices=[list(x) for x in slices],
            **kw,
        )


@dataclass
class References:
    """The run's references: ``gemm`` (f32, the gate's GEMM), a ceiling per arithmetic, ``model``."""

    gemm: ReferenceTiming | None = None
    ceilings: dict[str, ReferenceTiming] = field(default_factory=dict)
    model: ReferenceTiming | None = None

    @classmethod
    def from_dict(cls, d: Any) -> References:
        if not isinstance(d, dict):
            raise TypeError("reference is not an object")
        ceilings = d.get("ceilings") or {}
        if not isinstance(ceilings, dict):
            raise TypeError("reference.ceilings is not an object")
        return cls(
            gemm=_build(ReferenceTiming, d["gemm"]) if d.get("gemm") is not None else None,
            ceilings={a: _build(ReferenceTiming, c) for a, c in ceilings.items()},
            model=_build(ReferenceTiming, d["model"]) if d.get("model") is not None else None,
        )
