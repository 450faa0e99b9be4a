"""Precision as executed, end to end on the tiny model: `ecgbench run` with bf16 where the CPU has it,
the one-line refusal and the `all` skip where it does not (the recorded AVX2 EPYC's capabilities),
GEMM ceilings per arithmetic, and `ecgbench profile` / `run --profile` with the report's section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers_export import TinySession, tiny_input
from test_precision import EPYC_AVX2
from typer.testing import CliRunner

from ecgbench.bench.probes.profile import kernel_arithmetic, profile_openvino, summarise_counters
from ecgbench.bench.references import GemmCeiling, ceiling_arithmetics
from ecgbench.bench.results.document import read_run
from ecgbench.cli import app
from ecgbench.host import device_arithmetic

CPU = device_arithmetic("CPU")
NO_BF16 = f"this CPU does not execute BF16 ({CPU.describe()})"


def _run(tiny: TinySession, *args: object):
    base = [
        "run",
        "--model",
        tiny.ckpt,
        "--duration",
        "0.1",
        "--min-iters",
        "3",
        "--warmup",
        "0.02",
        "--threads",
        "1",
        "--no-store",
        "--cache-dir",
        tiny.cache,
    ]
    env = {"ECGBENCH_ZOO": str(tiny.empty), "ECGBENCH_DATA": str(tiny.records), "COLUMNS": "250"}
    return CliRunner().invoke(app, [str(a) for a in [*base, *args]], env=env)


# --------------------------------------------------------------------------- a CPU without BF16
@pytest.fixture
def avx2_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process believes it runs on the recorded AVX2-only AMD EPYC (no BF16, no VNNI)."""
    import ecgbench.bench.runner as runner
    import ecgbench.bench.variants as variants

    for module in (runner, variants):
        monkeypatch.setattr(module, "device_arithmetic", lambda device="CPU": EPYC_AVX2)


def test_bf16_asked_for_by_name_where_the_cpu_lacks_it_is_one_line(tiny, avx2_cpu) -> None:
    res = _run(tiny, "--backend", "openvino", "--precision", "bf16")
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    (line,) = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert line.startswith("error: CPU does not execute BF16")
    assert "FP32: AVX2" in line and "precisions here: fp32, int8" in line


def test_all_skips_bf16_with_a_note_and_labels_fp16_as_what_ran(tiny, avx2_cpu, tmp_path) -> None:
    out = tmp_path / "all.json"
    res = _run(tiny, "--backend", "openvino,torch", "--precision", "all", "--output", out)
    assert res.exit_code == 0, res.output
    said = " ".join(res.stderr.split())
    assert "skipped openvino bf16 on CPU" in said and "skipped torch bf16 on CPU" in said
    rows = {(r.backend, r.precision): r for r in read_run(out).rows}
    assert set(rows) == {
        ("openvino", "fp32"),
        ("openvino", "fp16"),
        ("openvino", "int8"),
        ("torch", "fp32"),
    }
    fp16 = rows[("openvino", "fp16")]
    assert fp16.executed == "f32" and fp16.execution.as_planned is True
    assert "FP16 weights, FP32 arithmetic" in fp16.execution.note
    assert fp16.throughput.ceiling == "f32"
    assert "FP16 weights, FP32 arithmetic" in " ".join(res.output.split())


# --------------------------------------------------------------------------- bf16 for real
def test_bf16_runs_bf16_verifies_at_bf16_and_is_measured_against_the_bf16_ceiling(
    tiny: TinySession, tmp_path: Path
) -> None:
    if not CPU.executes("bf16"):
        pytest.skip(NO_BF16)
    out = tmp_path / "bf16.json"
    res = _run(tiny, "--backend", "openvino,torch", "--precision", "fp32,bf16", "--output", out)
    assert res.exit_code == 0, res.output
    doc = read_run(out)
    by = {(r.backend, r.precision): r for r in doc.rows}
    assert len(by) == 4
    for (backend, prec), r in by.items():
        want = {"fp32": "f32", "bf16": "bf16"}[prec]
        assert r.executed == want and r.execution.inference_precision == want, (backend, prec)
        assert r.execution.as_planned is True and r.execution.note is None
        tp = r.throughput
        assert tp.ceiling == want and tp.ceiling_gflops == doc.fingerprint["ceilings_gflops"][want]
    ov = by[("openvino", "bf16")]
    verification = ov.accuracy.verification
    assert verification.startswith("ok (bf16):"), verification  # the bf16 tolerance
    assert ov.extra["runtime_precisions"].get("bf16", 0) > 0
    assert by[("openvino", "fp32")].extra["runtime_precisions"].get("bf16", 0) == 0
    assert ov.key() != by[("openvino", "fp32")].key()  # the gate never compares them


# --------------------------------------------------------------------------- ceilings
def test_each_ceiling_gemm_runs_in_its_own_arithmetic() -> None:
    ariths = ceiling_arithmetics(CPU.float_types(), CPU.executes("int8"))
    assert ariths[0] == "f32" and len(ariths) == len(set(ariths))
    for a in ariths:
        g = GemmCeiling(a, threads=1, n=128)
        assert g.as_asked, (a, g.executed)
        g.run()
        assert g.gflops(1e6) == pytest.approx(2 * 128**3 / 1e6)


# --------------------------------------------------------------------------- profile
def test_kernel_names_give_the_arithmetic() -> None:
    assert kernel_arithmetic("brgemm_avx512_I8") == "int8"
    assert kernel_arithmetic("jit_avx512_amx_bf16") == "bf16"
    assert kernel_arithmetic("gemm_mlas_f32") == "f32"
    assert kernel_arithmetic("jit_avx2_u8") == "int8"
    assert kernel_arithmetic("undef") == "other"
    layers = summarise_counters(
        [[("a", "MatMul", "brgemm_avx512_I8", 2.0)], [("a", "MatMul", "brgemm_avx512_I8", 4.0)]]
    )
    assert [(x.name, x.ms, x.arithmetic) for x in layers] == [("a", 3.0, "int8")]


def test_profile_of_an_int8_variant_shows_where_its_time_goes(tiny: TinySession) -> None:
    p = profile_openvino(
        tiny.artifact("openvino", "int8"),
        tiny_input(batch=1),
        "f32",
        threads=1,
        inferences=10,
        label="tiny int8",
        precision="int8",
    )
    assert p.executed == "int8+f32" and p.inferences == 10 and p.total_ms > 0
    split = p.by_arithmetic
    assert split.get("int8", 0) > 0 and split.get("f32", 0) > 0  # INT8 kernels beside f32 ones
    assert sum(split.values()) == pytest.approx(sum(x.ms for x in p.layers))
    assert [x.ms for x in p.layers] == sorted((x.ms for x in p.layers), reverse=True)
    assert all(x.arithmetic == kernel_arithmetic(x.exec_type) for x in p.layers)
    d = p.to_dict(top=5)
    assert len(d["top_layers"]) == 5 and d["by_arithmetic_ms"] == split


def test_cli_profile_prints_layers_and_writes_json(tiny: TinySession, tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    res = CliRunner().invoke(
        app,
        [
            "profile",
            "--model",
            str(tiny.ckpt),
            "--precision",
            "fp32",
            "--inferences",
            "5",
            "--threads",
            "1",
            "--cache-dir",
            str(tiny.cache),
            "--json",
            str(out),
        ],
        env={"ECGBENCH_ZOO": str(tiny.empty), "COLUMNS": "200"},
    )
    assert res.exit_code == 0, res.output
    assert "ran f32" in res.output and "time per arithmetic: f32" in res.output
    d = json.loads(out.read_text())
    assert d["executed"] == "f32" and d["top_layers"] and d["inferences"] == 5
    bad = CliRunner().invoke(app, ["profile", "--model", str(tiny.ckpt), "--device", "GPU"])
    if "GPU" not in " ".join(__import__("openvino").Core().available_devices):
        assert bad.exit_code == 2 and "device GPU is not available" in bad.output


def test_run_profile_lands_in_the_rows_and_the_report(tiny: TinySession, tmp_path: Path) -> None:
    out = tmp_path / "prof.json"
    res = _run(
        tiny, "--backend", "openvino", "--precision", "fp32,int8", "--profile", "--output", out
    )
    assert res.exit_code == 0, res.output
    assert "profile tiny_bench openvino int8 (int8+f32): ms per arithmetic" in " ".join(
        res.stderr.split()
    )
    rows = read_run(out).rows
    assert all(r.extra["profile"]["top_layers"] for r in rows)
    rep = CliRunner().invoke(app, ["report", str(out), "-o", str(tmp_path / "rep")])
    assert rep.exit_code == 0, rep.output
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "Where the time goes" in page and "Slowest layers" in page
    assert (tmp_path / "rep" / "profile.png").is_file()


def test_devices_lists_what_the_cpu_executes_natively() -> None:
    res = CliRunner().invoke(app, ["devices"], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "executes natively" in res.output
    assert f"FP32: {CPU.native()['FP32']}" in res.output
    assert ("BF16:" in res.output) == CPU.executes("bf16")
