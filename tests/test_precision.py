"""Precision as executed: the capability logic on recorded property sets of several CPUs (and of
GPU/NPU), the plan each request resolves to, verification tolerances that follow what ran, and
the recorded Xeon (AMX) run read back with its mismatches shown, not hidden."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import SHARED

from ecgbench.backends import plan_execution
from ecgbench.backends.openvino_backend import precision_name
from ecgbench.bench.results.document import read_run
from ecgbench.bench.tables.latency import efficiency, ran_as, results_table
from ecgbench.errors import BadInputError
from ecgbench.export.verify import TOLERANCES, compare_logits
from ecgbench.precision import (
    Arithmetic,
    PrecisionUnsupportedError,
    arithmetic_from_properties,
    ceiling_arithmetic,
    executed_label,
    matches_request,
    tolerance_key,
)

XEON = SHARED / "hardware" / "xeon-amx"
needs_xeon = pytest.mark.skipif(
    not (XEON / "openvino-cpu.json").is_file(),
    reason=f"the recorded Xeon (AMX) property set is not at {XEON} (../shared)",
)

# The project's own recordings (README, `ecgbench devices` on each machine): OpenVINO's
# OPTIMIZATION_CAPABILITIES and the CPU flags ecgbench reads.
EPYC_AVX2 = Arithmetic(
    "CPU",
    frozenset({"FP32", "INT8", "BIN", "EXPORT_IMPORT"}),
    ("sse4_2", "avx", "avx2", "fma", "f16c"),
)
EPYC_ZEN4 = Arithmetic(
    "CPU",
    frozenset({"BF16", "WINOGRAD", "FP32", "INT8", "BIN", "EXPORT_IMPORT"}),
    ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16"),
)
GPU = Arithmetic("GPU", frozenset({"FP32", "BIN", "FP16", "INT8", "EXPORT_IMPORT"}))
NPU = Arithmetic("NPU", frozenset({"FP16", "INT8", "EXPORT_IMPORT"}))


def xeon() -> Arithmetic:
    props = json.loads((XEON / "openvino-cpu.json").read_text())["properties"]
    flags = re.search(r"^Flags:\s*(.*)$", (XEON / "lscpu.txt").read_text(), re.M)
    assert flags, "lscpu.txt has a Flags line"
    return arithmetic_from_properties("CPU", props, flags.group(1).split())


# --------------------------------------------------------------------------- what a device executes
def test_native_precisions_of_each_recorded_cpu() -> None:
    assert EPYC_AVX2.native() == {"FP32": "AVX2", "INT8": "AVX2 only (no VNNI)"}
    assert EPYC_ZEN4.native() == {"FP32": "AVX-512", "BF16": "AVX512-BF16", "INT8": "AVX512-VNNI"}
    assert EPYC_AVX2.supported_precisions() == ["fp32", "int8"]
    assert EPYC_ZEN4.supported_precisions() == ["fp32", "bf16", "int8"]
    assert NPU.native() == {"FP16": "native", "INT8": "native"}


@needs_xeon
def test_native_precisions_of_the_recorded_xeon() -> None:
    x = xeon()
    assert x.native() == {
        "FP32": "AVX-512",
        "BF16": "AMX",
        "FP16": "AVX512-FP16",
        "INT8": "AMX-INT8",
    }
    assert x.float_types() == ["f32", "bf16", "f16"]
    assert x.describe() == "FP32: AVX-512 · BF16: AMX · FP16: AVX512-FP16 · INT8: AMX-INT8"


# --------------------------------------------------------------------------- the plan of a request
@pytest.mark.parametrize("arith", [EPYC_AVX2, EPYC_ZEN4], ids=["avx2", "zen4"])
def test_fp32_always_asks_the_runtime_for_f32(arith: Arithmetic) -> None:
    ex = plan_execution("openvino", "fp32", arith)
    assert (ex.artifact, ex.hint, ex.expected) == ("fp32", "f32", "f32")


def test_each_precision_resolves_to_an_artifact_a_hint_and_what_runs() -> None:
    z = EPYC_ZEN4
    bf16 = plan_execution("openvino", "bf16", z)  # the FP32 IR, compiled at bf16
    assert (bf16.artifact, bf16.hint, bf16.expected) == ("fp32", "bf16", "bf16")
    fp16 = plan_execution("openvino", "fp16", z)  # no FP16 arithmetic: FP16 weights, f32 compute
    assert (fp16.artifact, fp16.hint, fp16.expected) == ("fp16", "f32", "f32")
    assert "no FP16 arithmetic" in fp16.note
    assert plan_execution("openvino", "int8", z).expected == "int8+f32"
    assert plan_execution("openvino", "int8", z, int8_rest="bf16").expected == "int8+bf16"
    assert plan_execution("onnxruntime", "int8", z).expected == "int8+f32"
    assert plan_execution("torch", "bf16", z).hint == "bf16"
    g = plan_execution("openvino", "fp16", GPU)
    assert (g.hint, g.expected, g.note) == ("f16", "f16", "")
    assert plan_execution("openvino", "int8", NPU).expected == "int8+f16"  # NPU has no f32


@pytest.mark.parametrize(
    ("backend", "precision", "arith", "says"),
    [
        ("openvino", "bf16", EPYC_AVX2, "CPU does not execute BF16"),
        ("torch", "bf16", EPYC_AVX2, "CPU does not execute BF16"),
        ("openvino", "fp32", NPU, "NPU does not execute FP32"),
    ],
)
def test_a_precision_the_device_lacks_names_what_it_has(backend, precision, arith, says) -> None:
    with pytest.raises(PrecisionUnsupportedError) as e:
        plan_execution(backend, precision, arith)
    msg = str(e.value)
    assert says in msg and "\n" not in msg
    assert f"precisions here: {', '.join(arith.supported_precisions())}" in msg
    assert isinstance(e.value, BadInputError)  # exit code 2 on the command line


def test_int8_rest_must_exist_on_the_device() -> None:
    with pytest.raises(PrecisionUnsupportedError, match="BF16 for the layers INT8 leaves"):
        plan_execution("openvino", "int8", EPYC_AVX2, int8_rest="bf16")
    with pytest.raises(BadInputError, match="int8_rest"):
        plan_execution("openvino", "int8", EPYC_ZEN4, int8_rest="int4")


@needs_xeon
def test_on_the_xeon_every_plan_executes_what_it_expects() -> None:
    """The recorded compiled precisions of atto's IRs per hint agree with every plan's expectation;
    without a hint, fp32 would have run bf16 there (the bug this plan fixes)."""
    recorded = json.loads((XEON / "openvino-cpu.json").read_text())["runtime_precisions"]
    ran = {k: precision_name(v["inference_precision"]) for k, v in recorded.items()}
    assert ran["convnext1d_atto FP32 IR, hint default"] == "bf16"
    x = xeon()
    for precision in ("fp32", "bf16", "fp16", "int8"):
        for rest in ("f32", "bf16"):
            ex = plan_execution("openvino", precision, x, int8_rest=rest)
            key = f"convnext1d_atto {ex.artifact.upper()} IR, hint {ex.hint}"
            assert executed_label(precision, ran[key]) == ex.expected, key
            assert matches_request(precision, ex.expected)
            ops = recorded[key]["ops_by_runtime_precision"]
            if ex.expected in ("bf16", "f16"):
                assert ops.get(ex.expected, 0) > 0, key  # layers really ran in it


def test_openvino_precision_names() -> None:
    assert precision_name("<Type: 'bfloat16'>") == "bf16"
    assert precision_name("<Type: 'float32'>") == "f32"
    assert precision_name("f16") == "f16"


# --------------------------------------------------------------------------- labels and tolerances
def test_labels_ceilings_and_tolerances_follow_what_executed() -> None:
    assert executed_label("int8", "bf16") == "int8+bf16" and executed_label("fp32", None) is None
    assert not matches_request("fp32", "bf16") and not matches_request("fp16", "f32")
    assert matches_request("int8", "int8+bf16") and matches_request("bf16", "bf16")
    assert ceiling_arithmetic("int8+bf16") == "int8" and ceiling_arithmetic("bf16") == "bf16"
    assert tolerance_key("fp32", "bf16") == "bf16"  # an FP32 IR that ran bf16
    assert tolerance_key("fp16", "f32") == "fp16"  # FP16 weights on f32 arithmetic
    assert tolerance_key("int8", "int8+bf16") == "int8"


def test_bf16_tolerance_passes_bf16_noise_and_fails_a_broken_variant() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(0, 2, (64, 26)).astype(np.float32)
    thr = np.full(26, 0.5)
    bf16 = ref.astype(np.float64)
    bf16 = (bf16 * (1 + rng.uniform(-(2**-8), 2**-8, bf16.shape))).astype(
        np.float32
    )  # bf16 rounding
    ok = compare_logits(ref, bf16, thr, "bf16", executed="bf16")
    assert ok.passed and ok.precision == "bf16" and ok.executed == "bf16", ok.summary()
    # the same output judged as FP32 fails: the tolerance follows what executed
    assert not compare_logits(ref, bf16, thr, "fp32", executed="f32").passed
    broken = bf16 + rng.normal(0, 0.5, bf16.shape).astype(np.float32)
    bad = compare_logits(ref, broken, thr, "bf16", executed="bf16")
    assert not bad.passed and bad.summary().startswith("FAILED (bf16)")
    assert TOLERANCES["fp32"][0] < TOLERANCES["bf16"][0] < TOLERANCES["int8"][0]


# --------------------------------------------------------------------------- the recorded Xeon run
@needs_xeon
def test_the_xeon_run_shows_fp32_that_ran_bf16() -> None:
    """A run written before precision was planned: its fp32 rows ran bf16, and the table says so."""
    from rich.console import Console

    doc = read_run(XEON / "run-grid.json")
    ov = {r.precision: r for r in doc.rows if r.backend == "openvino"}
    assert ov["fp32"].executed == "bf16" and not matches_request("fp32", ov["fp32"].executed)
    assert ov["int8"].executed == "int8+bf16"
    ort = [r for r in doc.rows if r.backend == "onnxruntime"]
    assert ort and all(r.executed in ("f32", "int8+f32") for r in ort)
    console = Console(width=250, record=True)
    console.print(results_table(doc))
    text = console.export_text()
    assert "fp32" in text and "bf16" in text
    # the fp32 row's "ran as" is coloured: a mismatch is never printed as if it were fine
    assert ran_as(ov["fp32"]) == "[yellow]bf16[/]" and ran_as(ort[0]) in ("f32", "int8+f32")
    # its efficiency was computed against the FP32 GEMM there; the table says which ceiling
    assert "f32 GEMM (older run)" in efficiency(ov["fp32"])


# --------------------------------------------------------------------------- the zoo's scores
def test_zoo_scores_are_kept_per_executed_precision_and_never_borrowed() -> None:
    from ecgbench.scaling.recommend import zoo_fp32_scores
    from ecgbench.zoo import Zoo

    zoo = Zoo()  # the repository's models/
    assert zoo.entries
    for name, e in zoo.entries.items():
        assert e.variants and all("@" in k for k in e.variants), name
        for key, v in e.variants.items():
            backend_precision, executed = key.split("@")
            assert v["executed"] == executed and backend_precision.endswith(v["precision"])
            assert v["measured_on"], key  # INT8 kernels (and scores) differ by CPU
        fp32 = e.scores_for("openvino", "fp32", "f32")
        assert fp32["challenge_score"] is not None
        assert e.scores_for("openvino", "fp32", "bf16") == {}  # another arithmetic: no score
        assert e.scores_for("openvino", "fp32", None) == {}
    assert zoo_fp32_scores(zoo) == {
        n: max(v["challenge_score"] for k, v in e.variants.items() if k.endswith("-fp32@f32"))
        for n, e in zoo.entries.items()
    }
