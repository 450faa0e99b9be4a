"""The latency gate on hand-made result documents with known verdicts, and its CLI exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ecgbench.bench.results import ResultRow, RunDocument, read_run
from ecgbench.cli import app
from ecgbench.errors import BadInputError
from ecgbench.regress import (
    IMPROVEMENT,
    NOT_COMPARABLE,
    REGRESSION,
    UNCHANGED,
    GateSettings,
    compare_runs,
    fingerprint_differences,
    markdown_summary,
)

FP = {
    "cpu_model": "Test CPU",
    "isa": ["avx2"],
    "threads": 2,
    "versions": {"openvino": "1", "onnxruntime": "1", "torch": "1", "nncf": "1", "onnx": "1"},
    "machine_id": "abc",
}


def _samples(median_ms: float, n: int = 400, spread: float = 0.03, seed: int = 0) -> list[int]:
    rng = np.random.default_rng(seed)
    return (median_ms * 1e6 * (1 + spread * rng.standard_normal(n))).astype(np.int64).tolist()


def _row(model: str, median_ms: float, seed: int, precision: str = "fp32") -> ResultRow:
    s = _samples(median_ms, seed=seed)
    m = float(np.median(s) / 1e6)
    return ResultRow(
        model=model, backend="openvino", device="CPU", precision=precision, scenario="latency",
        batch=1, input_shape=[1, 12, 5000], artifact="x.xml", compile_ms=1.0, first_infer_ms=1.0,
        samples_ns=s, n=len(s), median_ms=m, mean_ms=m, p90_ms=m, p99_ms=m, min_ms=m, iqr_ms=0.0,
        throughput_fps=1e3 / m,
    )  # fmt: skip


def _doc(rows: list[ResultRow], ref_ms: float = 1.0, seed: int = 0, fp: dict | None = None):
    ref = {"samples_ns": _samples(ref_ms, seed=seed + 100)}
    return RunDocument(
        fingerprint=dict(fp or FP),
        rows=rows,
        reference={
            "label": "gemm",
            **ref,
            "model": {"samples_ns": _samples(ref_ms, seed=seed + 7)},
        },
        complete=True,
    )


def test_known_verdicts_for_slower_faster_and_same():
    base = _doc([_row("a", 5.0, 1), _row("b", 5.0, 2), _row("c", 5.0, 3)])
    cur = _doc([_row("a", 6.5, 4), _row("b", 3.5, 5), _row("c", 5.05, 6)], seed=1)
    cmp = compare_runs(base, cur, GateSettings(n_boot=300))
    got = {v.key["model"]: v.verdict for v in cmp.verdicts}
    assert got == {"a": REGRESSION, "b": IMPROVEMENT, "c": UNCHANGED}
    a = next(v for v in cmp.verdicts if v.key["model"] == "a")
    assert 1.25 < a.ratio < 1.35 and a.ci_low > 1.0 and a.p_value < 1e-6
    assert cmp.exit_code == 1


def test_slowdown_below_threshold_is_not_a_regression():
    base = _doc([_row("a", 5.0, 1)])
    cur = _doc([_row("a", 5.3, 2)], seed=1)  # 6 % slower: significant, but under x1.10
    v = compare_runs(base, cur, GateSettings(n_boot=300)).verdicts[0]
    assert v.verdict == UNCHANGED and v.p_value < 0.01 and 1.03 < v.ratio < 1.09


def test_drift_of_the_reference_is_divided_out():
    base = _doc([_row("a", 5.0, 1)], ref_ms=1.0)
    # The whole machine is 30 % slower in the current run, the model with it: no regression.
    cur = _doc([_row("a", 6.5, 2)], ref_ms=1.3, seed=1)
    norm = compare_runs(base, cur, GateSettings(n_boot=300))
    raw = compare_runs(base, cur, GateSettings(n_boot=300, normalise=False))
    assert norm.verdicts[0].verdict == UNCHANGED and abs(norm.drift - 1.3) < 0.02
    assert raw.verdicts[0].verdict == REGRESSION
    assert abs(norm.verdicts[0].raw_ratio - raw.verdicts[0].ratio) < 1e-9


def test_key_on_one_side_only_is_reported_not_judged():
    base = _doc([_row("a", 5.0, 1), _row("gone", 5.0, 2)])
    cur = _doc([_row("a", 5.0, 3), _row("new", 5.0, 4)], seed=1)
    cmp = compare_runs(base, cur, GateSettings(n_boot=200))
    notes = {v.key["model"]: (v.verdict, v.note) for v in cmp.verdicts}
    assert notes["gone"] == (NOT_COMPARABLE, "only in the baseline")
    assert notes["new"] == (NOT_COMPARABLE, "only in the current run")
    assert cmp.exit_code == 0


def test_fingerprint_differences_name_what_differs():
    other = json.loads(json.dumps(FP))
    other["cpu_model"] = "Other CPU"
    other["versions"]["openvino"] = "2"
    diffs = fingerprint_differences(FP, other)
    assert any("cpu_model" in d for d in diffs) and any("openvino" in d for d in diffs)
    assert fingerprint_differences(FP, json.loads(json.dumps(FP))) == []


def test_markdown_summary_lists_every_key():
    base = _doc([_row("a", 5.0, 1), _row("b", 5.0, 2)])
    cur = _doc([_row("a", 6.5, 3), _row("b", 5.0, 4)], seed=1)
    md = markdown_summary(compare_runs(base, cur, GateSettings(n_boot=200)))
    assert md.startswith("## ecgbench latency gate: 1 regression(s)")
    assert md.count("\n| ") == 3  # header + two keys
    assert "regression | a |" in md and "unchanged | b |" in md


# ------------------------------------------------------------------ CLI
def _write(tmp: Path, name: str, doc: RunDocument) -> Path:
    p = tmp / name
    doc.write(p)
    return p


def test_cli_exit_codes(tmp_path: Path):
    runner = CliRunner()
    base = _write(tmp_path, "base.json", _doc([_row("a", 5.0, 1)]))
    same = _write(tmp_path, "same.json", _doc([_row("a", 5.0, 2)], seed=1))
    slow = _write(tmp_path, "slow.json", _doc([_row("a", 7.0, 3)], seed=2))
    md = tmp_path / "summary.md"
    r = runner.invoke(app, ["compare", str(base), str(same), "--markdown", str(md)])
    assert r.exit_code == 0, r.output
    assert md.read_text().startswith("## ecgbench latency gate: no regression")
    r = runner.invoke(app, ["compare", str(base), str(slow)])
    assert r.exit_code == 1 and "regression" in r.output
    r = runner.invoke(app, ["compare", str(base), str(slow), "--threshold", "1.5"])
    assert r.exit_code == 0


def test_cli_refuses_another_machine_unless_allowed(tmp_path: Path):
    runner = CliRunner()
    other = json.loads(json.dumps(FP))
    other["threads"] = 4
    base = _write(tmp_path, "base.json", _doc([_row("a", 5.0, 1)]))
    cur = _write(tmp_path, "cur.json", _doc([_row("a", 5.0, 2)], seed=1, fp=other))
    r = runner.invoke(app, ["compare", str(base), str(cur)])
    assert r.exit_code == 2 and "threads" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["compare", str(base), str(cur), "--allow-different-machine"])
    assert r.exit_code == 0 and "different machines" in r.output


@pytest.mark.parametrize(
    "content",
    ["not json", json.dumps({"schema": 99, "rows": []}), json.dumps({"schema": 1, "rows": [{}]})],
)
def test_malformed_results_file_is_one_line_exit_2(tmp_path: Path, content: str):
    base = _write(tmp_path, "base.json", _doc([_row("a", 5.0, 1)]))
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(BadInputError):
        read_run(bad)
    r = CliRunner().invoke(app, ["compare", str(base), str(bad)])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert len([ln for ln in r.output.splitlines() if ln.strip()]) == 1


def test_cli_missing_file_and_missing_arguments(tmp_path: Path):
    r = CliRunner().invoke(app, ["compare", str(tmp_path / "nope.json"), str(tmp_path / "x.json")])
    assert r.exit_code == 2 and "not found" in r.output
    r = CliRunner().invoke(app, ["compare"])
    assert r.exit_code == 2 and "--ab" in r.output


def test_cli_pairing_and_reference_choices(tmp_path: Path):
    base = _write(tmp_path, "base.json", _sliced_doc(5.0, STEADY))
    cur = _write(tmp_path, "cur.json", _sliced_doc(5.0, BUSY, seed=3))
    md = tmp_path / "s.md"
    r = CliRunner().invoke(app, ["compare", str(base), str(cur), "--markdown", str(md)])
    assert r.exit_code == 0, r.output  # drift that comes and goes: paired rounds see no change
    assert "normalised round by round" in md.read_text()
    r = CliRunner().invoke(app, ["compare", str(base), str(cur), "--no-normalise"])
    assert r.exit_code == 1  # the raw numbers alone would fail the build
    r = CliRunner().invoke(app, ["compare", str(base), str(cur), "--pairing", "hourly"])
    assert r.exit_code == 2 and "--pairing is round or run" in r.output


# ------------------------------------------------------------------ A/B mode (real OpenVINO)
def test_ab_mode_times_both_artifacts_in_one_run(tmp_path_factory: pytest.TempPathFactory):
    from helpers_export import tiny_session

    from ecgbench.bench.ab import ab_documents
    from ecgbench.bench.timing import StopRule

    s = tiny_session(tmp_path_factory)
    old, new = s.artifact("openvino", "fp32"), s.artifact("openvino", "int8")
    rule = StopRule(min_duration_s=0.2, min_iters=5, warmup_s=0.05, round_s=0.05, settle_s=0.0)
    a, b = ab_documents(old, new, threads=1, rule=rule, samples=1000)
    assert a.fingerprint == b.fingerprint and a.reference is b.reference
    assert a.rows[0].key() == b.rows[0].key()
    assert (a.rows[0].artifact, b.rows[0].artifact) == (str(old), str(new))
    assert a.rows[0].n >= 5 and b.rows[0].n >= 5
    cmp = compare_runs(a, b, GateSettings(n_boot=100, normalise=False))
    assert len(cmp.verdicts) == 1 and cmp.verdicts[0].verdict != NOT_COMPARABLE


def test_ab_mode_refuses_mixed_artifacts(tmp_path_factory: pytest.TempPathFactory):
    from helpers_export import tiny_session

    s = tiny_session(tmp_path_factory)
    r = CliRunner().invoke(
        app,
        ["compare", "--ab", str(s.artifact("openvino", "fp32")), str(s.artifact("onnx", "fp32")),
         "--duration", "0.1"],
    )  # fmt: skip
    assert r.exit_code == 2 and "same kind" in r.output and "Traceback" not in r.output


def _sliced(median_ms: float, factors: list[float], per_slice: int = 40, seed: int = 0):
    """Samples in time slices, slice r scaled by the machine's factor in round r."""
    samples: list[int] = []
    slices: list[list[int]] = []
    for r, f in enumerate(factors):
        slices.append([r, len(samples)])
        samples += _samples(median_ms * f, n=per_slice, spread=0.02, seed=seed + r)
    return samples, slices


def _sliced_doc(key_ms: float, factors: list[float], seed: int = 0) -> RunDocument:
    row = _row("a", key_ms, seed)
    row.samples_ns, row.slices = _sliced(key_ms, factors, seed=seed)
    ref_s, ref_sl = _sliced(1.0, factors, seed=seed + 50)
    gemm_s, gemm_sl = _sliced(1.0, [1.0] * len(factors), seed=seed + 90)  # a GEMM blind to it
    return RunDocument(
        fingerprint=dict(FP),
        rows=[row],
        reference={"samples_ns": gemm_s, "slices": gemm_sl,
                   "model": {"samples_ns": ref_s, "slices": ref_sl}},
        complete=True,
    )  # fmt: skip


STEADY = [1.0] * 10
BUSY = [1.0, 1.6, 1.6, 1.0, 1.6, 1.6, 1.0, 1.6, 1.6, 1.0]  # a neighbour loads 6 of 10 rounds


def test_round_pairing_cancels_drift_that_comes_and_goes():
    base, cur = _sliced_doc(5.0, STEADY), _sliced_doc(5.0, BUSY, seed=3)
    v = compare_runs(base, cur, GateSettings(n_boot=300)).verdicts[0]
    assert v.verdict == UNCHANGED and abs(v.ratio - 1.0) < 0.03
    assert v.note.startswith("10/10 rounds paired")
    assert v.raw_ratio > 1.5  # what the machine did to the raw numbers
    raw = compare_runs(base, cur, GateSettings(n_boot=300, normalise=False)).verdicts[0]
    assert raw.verdict == REGRESSION  # an unnormalised gate cries wolf
    gemm = compare_runs(base, cur, GateSettings(n_boot=300, reference="gemm")).verdicts[0]
    assert gemm.ratio > 1.5  # a reference the drift does not touch removes nothing


def test_round_pairing_detects_a_real_slowdown_under_drift():
    base, cur = _sliced_doc(5.0, BUSY), _sliced_doc(6.0, STEADY, seed=3)
    v = compare_runs(base, cur, GateSettings(n_boot=300)).verdicts[0]
    assert v.verdict == REGRESSION and 1.15 < v.ratio < 1.25 and v.ci_low > 1.0


def test_runs_without_slices_fall_back_to_whole_run_normalisation():
    base = _doc([_row("a", 5.0, 1)], ref_ms=1.0)
    cur = _doc([_row("a", 6.5, 2)], ref_ms=1.3, seed=1)
    v = compare_runs(base, cur, GateSettings(n_boot=300)).verdicts[0]
    assert v.verdict == UNCHANGED and v.note == "whole-run normalisation"


def test_gate_power_analysis_counts_false_alarms_and_detections(tmp_path: Path):
    from ecgbench.bench.gate_power import METHODS, analyse

    runs = tmp_path / "runs"
    for i in range(3):  # A, A again under a busy neighbour, and A 30 % slower
        _sliced_doc(5.0, STEADY, seed=10 * i).write(runs / f"{i:03d}-a.json")
        _sliced_doc(5.0, BUSY, seed=10 * i + 1).write(runs / f"{i:03d}-b.json")
        _sliced_doc(6.5, STEADY, seed=10 * i + 2).write(runs / f"{i:03d}-c.json")
    (tmp_path / "settings.json").write_text('{"suite": "runners/ci.toml", "slowdown": 1.3}')
    res = analyse(tmp_path, threshold=1.10)
    assert res["pairs"] == 3 and set(res["methods"]) == set(METHODS) and res["slowdown"] == 1.3
    paired, raw = res["methods"]["model-round"], res["methods"]["raw"]
    assert paired["false_alarm_rate_per_key"] == 0 and paired["detection_rate_per_key"] == 1
    assert paired["detection_rate_per_run"] == 1 and paired["false_alarm_rate_per_run"] == 0
    assert raw["false_alarm_rate_per_key"] == 1  # the busy neighbour fails every raw A/A pair
    assert paired["aa_ratio_sd"] < raw["aa_ratio_sd"]
    assert (tmp_path / "summary.json").is_file()


def test_gate_power_calibrates_each_variants_input_to_a_20_percent_slowdown(tmp_path: Path):
    from ecgbench.bench.gate_power import BASE_SAMPLES, analyse, calibrated_lengths

    with pytest.raises(SystemExit, match=r"settings\.json"):
        calibrated_lengths(tmp_path)
    runs = tmp_path / "runs"
    for i in range(3):  # 25 % more input made the variant only 8 % slower: a big fixed cost
        _sliced_doc(5.0, STEADY, seed=10 * i).write(runs / f"{i:03d}-a.json")
        _sliced_doc(5.4, STEADY, seed=10 * i + 2).write(runs / f"{i:03d}-c.json")
    (tmp_path / "settings.json").write_text('{"slowdown": 1.25}')
    with pytest.raises(SystemExit, match=r"summary\.json"):  # calibration reads the analysis
        calibrated_lengths(tmp_path)
    res = analyse(tmp_path, threshold=1.10)  # slowdown pairs only: no false-alarm figures
    m = res["methods"]["model-round"]
    assert m["false_alarm_rate_per_key"] is None and m["aa_ratio_sd"] is None
    assert m["detection_rate_per_key"] == 0  # ×1.08 is not above the threshold
    assert res["per_key"]["a/openvino/fp32"]["slow_pairs"] == 3
    (key, n), *rest = calibrated_lengths(tmp_path).items()
    assert not rest and key == "a/openvino/fp32"
    assert n == pytest.approx(BASE_SAMPLES * 1.625, rel=0.08)  # 1 + 0.2 * 0.25 / 0.08


def test_references_of_another_kind_are_refused_not_normalised_by() -> None:
    """A baseline whose reference ran another arithmetic (before hints were explicit, the ConvNeXt
    reference ran bf16 on some CPUs) would move every ratio: refused in one line."""
    import copy

    from ecgbench.regress import GateSettings, compare_runs

    cur = read_run(
        Path(__file__).resolve().parents[1] / "runners" / "baselines" / "baseline-22853bd3c53e.json"
    )
    old = copy.deepcopy(cur)
    old.reference["model"]["label"] = "reference:convnext-fp32"
    with pytest.raises(BadInputError, match=r"reference workload .* is not this run.s"):
        compare_runs(old, cur)
    cmp = compare_runs(old, cur, GateSettings(normalise=False))
    assert not cmp.regressions
