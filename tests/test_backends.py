"""Backends: OpenVINO, ONNX Runtime and PyTorch load the tiny model, reproduce the PyTorch logits,
are timed by the one interleaved loop, report what really ran (INT8 layers), and run throughput."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from helpers_export import TINY_SAMPLES, TinySession, reference_logits, tiny_input

from ecgbench.backends import (
    BACKENDS,
    LoadSpec,
    backend_class,
    backend_for_artifact,
    backend_for_format,
    format_of,
    get_backend,
    plan_execution,
    precisions_of,
)
from ecgbench.backends.openvino_backend import runtime_precisions
from ecgbench.bench.results.schema import Latency
from ecgbench.bench.timing import StopRule, TimedVariant, time_interleaved
from ecgbench.errors import BadInputError, DeviceNotFoundError
from ecgbench.export.verify import TOLERANCES
from ecgbench.host import device_arithmetic
from ecgbench.precision import executed_label, tolerance_key
from ecgbench.variant import Variant

CPU = device_arithmetic("CPU")
NO_BF16 = f"this CPU does not execute BF16 ({CPU.describe()})"


def spec_for(tiny: TinySession, backend: str, precision: str = "fp32", **kw: object) -> LoadSpec:
    """What ``ecgbench run`` loads: the planned artifact, compiled at the planned arithmetic."""
    ex = plan_execution(backend, precision, CPU)
    if backend == "torch":
        artifact = tiny.ckpt
    else:
        artifact = tiny.artifact("openvino" if backend == "openvino" else "onnx", ex.artifact)
    base: dict[str, object] = {
        "artifact": artifact,
        "samples": TINY_SAMPLES,
        "threads": 1,
        "inference_precision": ex.hint,
    }
    base.update(kw)
    return LoadSpec(**base)  # type: ignore[arg-type]


CASES = [
    ("openvino", "fp32"),
    ("openvino", "bf16"),
    ("openvino", "fp16"),
    ("openvino", "int8"),
    ("onnxruntime", "fp32"),
    ("onnxruntime", "int8"),
    ("torch", "fp32"),
    ("torch", "bf16"),
]


@pytest.mark.parametrize(("backend", "precision"), CASES)
def test_backend_infers_like_the_torch_reference(
    tiny: TinySession, backend: str, precision: str
) -> None:
    if precision == "bf16" and not CPU.executes("bf16"):
        pytest.skip(NO_BF16)
    x = tiny_input(batch=2, seed=3)
    ref = reference_logits(tiny.ckpt, x)
    b = get_backend(backend)
    assert precision in b.PRECISIONS
    info = b.load(spec_for(tiny, backend, precision, batch=2))
    assert info.compile_ms > 0 and info.execution_devices
    # what ran is what was planned: f32 for fp32 on every CPU (bf16 is OpenVINO's default on some)
    planned = plan_execution(backend, precision, CPU)
    # read from the runtime (graph, optimized graph, layer outputs), never the request echoed
    assert info.read_from is not None and info.verified
    executed = executed_label(precision, info.inference_precision, info.int8_layers)
    assert executed == planned.expected
    if precision == "int8":  # some layers really ran int8, counted where the runtime says so
        assert info.int8_layers and 0 < info.int8_layers <= info.total_layers
    elif backend != "openvino":  # (OpenVINO counts its own i8/u8 layers, none here)
        assert info.int8_layers == 0 and info.total_layers
    y = b.infer(x)
    assert y.shape == (2, 26) and y.dtype == np.float32
    key = tolerance_key(precision, planned.expected)
    tol = 1e-4 if key == "fp32" else TOLERANCES[key][0] / 2
    np.testing.assert_allclose(y, ref, atol=tol)
    assert not np.allclose(y[0], y[1])  # each record of the batch has its own output
    # the timed path: bind once, run, read the backend's buffer
    b.set_input(x)
    b.run()
    np.testing.assert_allclose(b.output(), y, atol=1e-6)
    b.close()


def test_all_backends_are_timed_by_one_interleaved_loop(tiny: TinySession) -> None:
    x = tiny_input(batch=1)
    ref = reference_logits(tiny.ckpt, x)
    loaded = []
    for name in BACKENDS:
        b = get_backend(name)
        b.load(spec_for(tiny, name))
        b.set_input(x)
        loaded.append((name, b, TimedVariant(label=name, run=b.run)))
    rule = StopRule(min_duration_s=0.2, min_iters=5, warmup_s=0.05, round_s=0.05)
    rounds = []
    time_interleaved([t for _, _, t in loaded], rule, on_round=lambda r, vs: rounds.append(r))
    assert len(rounds) >= 2  # 0.05 s slices over 0.2 s: several rounds, not one long run each
    for name, b, t in loaded:
        assert t.warm and t.first_call_ns and t.first_call_ns > 0
        assert len(t.samples_ns) >= 5 and all(s > 0 for s in t.samples_ns), name
        assert t.elapsed_ns == sum(t.samples_ns) >= 0.2e9, name
        stats = Latency.from_samples(t.samples_ns)
        assert stats.n == len(t.samples_ns) and 0 < stats.min_ms <= stats.median_ms
        np.testing.assert_allclose(b.output(), ref, atol=1e-4, err_msg=name)
        b.close()


def test_openvino_reports_int8_layers_of_an_int8_ir(tiny: TinySession) -> None:
    counts = {}
    for prec in ("fp32", "int8"):
        b = get_backend("openvino")
        info = b.load(spec_for(tiny, "openvino", prec))
        rp = runtime_precisions(b.compiled)
        # real precision names (f32, u8, i8, ...), not the text of an OVAny object
        assert "f32" in rp and all(re.fullmatch(r"[a-z0-9?]+", k) for k in rp), rp
        assert info.extra["runtime_precisions"] == dict(rp)
        assert info.total_layers == sum(rp.values()) > 0
        assert info.inference_precision == "f32"
        counts[prec] = info.int8_layers
        b.close()
    assert counts["fp32"] == 0
    assert counts["int8"] > 0


def test_bf16_really_executes_bf16_layers(tiny: TinySession) -> None:
    """bf16 compiles the FP32 IR at bf16: the runtime graph holds bf16 layers, fp32's none."""
    if not CPU.executes("bf16"):
        pytest.skip(NO_BF16)
    by = {}
    for prec in ("fp32", "bf16"):
        b = get_backend("openvino")
        info = b.load(spec_for(tiny, "openvino", prec))
        by[prec] = runtime_precisions(b.compiled)
        assert info.inference_precision == {"fp32": "f32", "bf16": "bf16"}[prec]
        b.close()
    assert by["bf16"].get("bf16", 0) > 0 and by["fp32"].get("bf16", 0) == 0


def test_int8_rest_chooses_the_float_layers_arithmetic(tiny: TinySession) -> None:
    if not CPU.executes("bf16"):
        pytest.skip(NO_BF16)
    x = tiny_input(batch=1, seed=4)
    outs = {}
    for rest in ("f32", "bf16"):
        ex = plan_execution("openvino", "int8", CPU, int8_rest=rest)
        assert ex.expected == f"int8+{rest}"
        b = get_backend("openvino")
        info = b.load(spec_for(tiny, "openvino", "int8", inference_precision=ex.hint))
        assert executed_label("int8", info.inference_precision) == ex.expected
        assert info.int8_layers and info.int8_layers > 0
        assert (info.extra["runtime_precisions"].get("bf16", 0) > 0) == (rest == "bf16")
        outs[rest] = b.infer(x)
        b.close()
    np.testing.assert_allclose(outs["bf16"], outs["f32"], atol=TOLERANCES["bf16"][0])


def test_openvino_throughput_scenario(tiny: TinySession) -> None:
    x = tiny_input(batch=1)
    b = get_backend("openvino")
    info = b.load(spec_for(tiny, "openvino", scenario="throughput", threads=None))
    assert int(info.extra["OPTIMAL_NUMBER_OF_INFER_REQUESTS"]) >= 1
    t0 = time.perf_counter_ns()
    stamps = b.run_throughput(x, 24)
    t1 = time.perf_counter_ns()
    assert len(stamps) == 24 and stamps == sorted(stamps)
    assert t0 < stamps[0] and stamps[-1] <= t1
    b.close()


@pytest.mark.parametrize("backend", ["onnxruntime", "torch"])
def test_other_backends_run_throughput(tiny: TinySession, backend: str) -> None:
    b = get_backend(backend)
    b.load(spec_for(tiny, backend, scenario="throughput"))
    t0 = time.perf_counter_ns()
    stamps = b.run_throughput(tiny_input(batch=1), 12)
    assert len(stamps) == 12 and stamps == sorted(stamps) and t0 < stamps[0]
    b.close()


def test_unknown_backend_and_devices_are_clear_errors(tiny: TinySession) -> None:
    import onnxruntime as ort
    import torch

    with pytest.raises(BadInputError, match="openvino, onnxruntime, torch"):
        get_backend("tensorrt")
    with pytest.raises(BadInputError, match="AUTO/HETERO are OpenVINO devices"):
        get_backend("onnxruntime").load(spec_for(tiny, "onnxruntime", device="AUTO"))
    with pytest.raises(BadInputError):
        get_backend("torch").load(spec_for(tiny, "torch", device="TPU"))
    with pytest.raises(DeviceNotFoundError, match="NPU"):
        get_backend("torch").load(spec_for(tiny, "torch", device="NPU"))
    gpu_providers = {
        "CUDAExecutionProvider",
        "ROCMExecutionProvider",
        "DmlExecutionProvider",
        "OpenVINOExecutionProvider",
    }
    if not gpu_providers & set(ort.get_available_providers()):
        with pytest.raises(DeviceNotFoundError, match="CPUExecutionProvider"):
            get_backend("onnxruntime").load(spec_for(tiny, "onnxruntime", device="GPU"))
    has_xpu = hasattr(torch, "xpu") and torch.xpu.is_available()
    if not torch.cuda.is_available() and not has_xpu:
        with pytest.raises(DeviceNotFoundError, match="CPU"):
            get_backend("torch").load(spec_for(tiny, "torch", device="GPU"))


def test_a_broken_artifact_is_one_line(tiny: TinySession, tmp_path) -> None:
    from ecgbench.errors import EcgbenchError

    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not an onnx model")
    with pytest.raises(EcgbenchError) as e:
        get_backend("onnxruntime").load(spec_for(tiny, "onnxruntime", artifact=bad))
    assert "model.onnx" in str(e.value)
    assert "\n" not in str(e.value)
    with pytest.raises(EcgbenchError) as e:
        get_backend("onnxruntime").load(
            spec_for(tiny, "onnxruntime", artifact=tmp_path / "no.onnx")
        )
    assert "no.onnx" in str(e.value) and "\n" not in str(e.value)
    bad_xml = tmp_path / "model.xml"
    bad_xml.write_text("<net>")
    with pytest.raises(EcgbenchError) as e:
        get_backend("openvino").load(spec_for(tiny, "openvino", artifact=bad_xml))
    assert "model.xml" in str(e.value) and "\n" not in str(e.value)


def test_fp16_runs_f16_where_the_device_has_fp16_arithmetic(tiny: TinySession) -> None:
    """Where FP16 is listed (AVX512-FP16 / AMX-FP16 CPUs, GPU, NPU) the FP16 IR runs f16; elsewhere
    the plan keeps it on f32 (FP16 weights) and the runtime graph holds no f16 arithmetic."""
    b = get_backend("openvino")
    info = b.load(spec_for(tiny, "openvino", "fp16"))
    rp = info.extra["runtime_precisions"]
    b.close()
    if CPU.executes("f16"):
        assert info.inference_precision == "f16" and rp.get("f16", 0) > 0
    else:
        assert info.inference_precision == "f32" and "bf16" not in rp
        pytest.skip(f"f16 arithmetic not on this CPU ({CPU.describe()}): checked the f32 fallback")


def test_every_backend_table_is_derived_from_the_registry() -> None:
    from ecgbench.bench.suite import Suite, expand_all
    from ecgbench.export.pipeline import ExportedVariant

    assert list(BACKENDS) == ["openvino", "onnxruntime", "torch"]
    formats = {"openvino": "openvino", "onnxruntime": "onnx", "torch": "torch"}
    suffixes = {".xml": "openvino", ".onnx": "onnxruntime", ".pt": "torch"}
    for name, cls in BACKENDS.items():
        assert name == cls.NAME and backend_class(name) is cls and type(get_backend(name)) is cls
        assert format_of(name) == formats[name] and backend_for_format(cls.FORMAT) == name
        assert precisions_of(name) == cls.PRECISIONS and cls.PRECISIONS[0] == "fp32"
        for suffix in cls.SUFFIXES:
            assert backend_for_artifact(Path(f"m{suffix}")) == suffixes[suffix] == name
    assert expand_all(Suite(backends=("all",))).backends == tuple(BACKENDS)
    plan = Suite(backends=tuple(BACKENDS), precisions=("fp16", "bf16"))
    assert {(b, p) for _, b, _, p, _ in plan.jobs(["m"])} == {
        (b, p) for b, cls in BACKENDS.items() for p in ("fp16", "bf16") if p in cls.PRECISIONS
    }
    for fmt in ("openvino", "onnx"):
        v = ExportedVariant("m", fmt, "fp32", Path("m"), "", "built", 0.0)
        assert format_of(v.backend) == fmt


def test_unknown_backend_format_and_suffix_are_bad_input() -> None:
    with pytest.raises(BadInputError, match="unknown backend 'tensorrt'; choose one of openvino"):
        backend_class("tensorrt")
    with pytest.raises(BadInputError, match="unknown backend 'tensorrt'"):
        format_of("tensorrt")
    with pytest.raises(BadInputError, match="no backend runs 'tflite' artifacts"):
        backend_for_format("tflite")
    with pytest.raises(
        BadInputError, match=r"m\.engine: no backend loads \.engine; expected \.xml"
    ):
        backend_for_artifact(Path("m.engine"))
    with pytest.raises(BadInputError, match="without a suffix"):
        backend_for_artifact(Path("model"))


@pytest.mark.parametrize(
    "v",
    [Variant("atto", "openvino", "fp32"), Variant("convnext1d-atto", "onnxruntime", "int8")],
)
def test_variant_name_and_slug_parse_back(v: Variant) -> None:
    assert v.name == f"{v.model}/{v.backend}/{v.precision}"  # runner profiles' key
    assert v.slug == f"{v.model}-{v.backend}-{v.precision}"  # evaluate's output folders
    assert Variant.parse(v.name) == v and Variant.parse(v.slug) == v
    for bad in ("atto", "atto/openvino", "a//fp32", ""):
        with pytest.raises(BadInputError, match="not a variant name"):
            Variant.parse(bad)


def test_onnxruntime_reads_int8_from_its_optimized_graph_not_the_file(tiny: TinySession) -> None:
    """The QDQ file itself has no int8 kernel, only Quantize/Dequantize pairs; what ONNX Runtime
    fused them into is what computes. An unfused graph counts as float."""
    from ecgbench.backends.onnxruntime_backend import graph_arithmetic

    qdq = tiny.artifact("onnx", "int8")
    arith, int8, total = graph_arithmetic(qdq)  # the stored file, as no runtime optimized it
    assert (arith, int8) == ("f32", 0) and total > 0
    b = get_backend("onnxruntime")
    info = b.load(spec_for(tiny, "onnxruntime", "int8"))
    assert info.int8_layers and info.read_from == "optimized graph"
    assert executed_label("int8", "f32", 0) == "f32"  # an INT8 model that ran float says so
    b.close()


def test_openvino_reads_the_float_arithmetic_from_the_runtime_graph(tiny: TinySession) -> None:
    """An FP16 IR on a CPU without FP16 maths: its weights are f16 (``runtimePrecision`` f16) but
    the layers compute and output f32, which is what the row says."""
    from ecgbench.backends.openvino_backend import runtime_float

    b = get_backend("openvino")
    info = b.load(spec_for(tiny, "openvino", "fp16"))
    assert info.read_from == "runtime graph"
    assert info.inference_precision == runtime_float(b.compiled)
    if not CPU.executes("f16"):
        assert info.inference_precision in ("f32", "bf16")
    b.close()
