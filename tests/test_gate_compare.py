"""The stored-baseline gate on hand-made result documents with known verdicts, and its CLI exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers_gate import BUSY, FP, STEADY, result_row, run_doc, sliced_doc
from typer.testing import CliRunner

from ecgbench.bench.results.document import RunDocument, read_run
from ecgbench.bench.results.fingerprint import Fingerprint
from ecgbench.cli import app
from ecgbench.errors import BadInputError
from ecgbench.gate.verdicts import GateSettings, Verdict, compare_runs

REGRESSION, IMPROVEMENT = Verdict.REGRESSION, Verdict.IMPROVEMENT
UNCHANGED, NOT_COMPARABLE = Verdict.UNCHANGED, Verdict.NOT_COMPARABLE


def test_known_verdicts_for_slower_faster_and_same():
    base = run_doc([result_row("a", 5.0, 1), result_row("b", 5.0, 2), result_row("c", 5.0, 3)])
    cur = run_doc(
        [result_row("a", 6.5, 4), result_row("b", 3.5, 5), result_row("c", 5.05, 6)], seed=1
    )
    cmp = compare_runs(base, cur, GateSettings(n_boot=300))
    got = {v.key["model"]: v.verdict for v in cmp.verdicts}
    assert got == {"a": REGRESSION, "b": IMPROVEMENT, "c": UNCHANGED}
    a = next(v for v in cmp.verdicts if v.key["model"] == "a")
    assert 1.25 < a.ratio < 1.35 and a.ci_low > 1.0 and a.p_value < 1e-6
    assert cmp.exit_code == 1


def test_slowdown_below_threshold_is_not_a_regression():
    base = run_doc([result_row("a", 5.0, 1)])
    cur = run_doc([result_row("a", 5.3, 2)], seed=1)  # 6 % slower: significant, but under x1.10
    v = compare_runs(base, cur, GateSettings(n_boot=300)).verdicts[0]
    assert v.verdict == UNCHANGED and v.p_value < 0.01 and 1.03 < v.ratio < 1.09


def test_drift_of_the_reference_is_divided_out():
    base = run_doc([result_row("a", 5.0, 1)], ref_ms=1.0)
    # The whole machine is 30 % slower in the current run, the model with it: no regression.
    cur = run_doc([result_row("a", 6.5, 2)], ref_ms=1.3, seed=1)
    norm = compare_runs(base, cur, GateSettings(n_boot=300))
    raw = compare_runs(base, cur, GateSettings(n_boot=300, normalise=False))
    assert norm.verdicts[0].verdict == UNCHANGED and abs(norm.drift - 1.3) < 0.02
    assert raw.verdicts[0].verdict == REGRESSION
    assert abs(norm.verdicts[0].raw_ratio - raw.verdicts[0].ratio) < 1e-9


def test_key_on_one_side_only_is_reported_not_judged():
    base = run_doc([result_row("a", 5.0, 1), result_row("gone", 5.0, 2)])
    cur = run_doc([result_row("a", 5.0, 3), result_row("new", 5.0, 4)], seed=1)
    cmp = compare_runs(base, cur, GateSettings(n_boot=200))
    notes = {v.key["model"]: (v.verdict, v.note) for v in cmp.verdicts}
    assert notes["gone"] == (NOT_COMPARABLE, "only in the baseline")
    assert notes["new"] == (NOT_COMPARABLE, "only in the current run")
    assert cmp.exit_code == 0


def test_fingerprint_differences_name_what_differs():
    other = json.loads(json.dumps(FP))
    other["cpu_model"] = "Other CPU"
    other["versions"]["openvino"] = "2"
    diffs = Fingerprint.from_dict(FP).differences(Fingerprint.from_dict(other))
    assert any("cpu_model" in d for d in diffs) and any("openvino" in d for d in diffs)
    same = Fingerprint.from_dict(json.loads(json.dumps(FP)))
    assert Fingerprint.from_dict(FP).differences(same) == []


def test_round_pairing_cancels_drift_that_comes_and_goes():
    base, cur = sliced_doc(5.0, STEADY), sliced_doc(5.0, BUSY, seed=3)
    v = compare_runs(base, cur, GateSettings(n_boot=300)).verdicts[0]
    assert v.verdict == UNCHANGED and abs(v.ratio - 1.0) < 0.03
    assert v.note.startswith("10/10 rounds paired")
    assert v.raw_ratio > 1.5  # what the machine did to the raw numbers
    raw = compare_runs(base, cur, GateSettings(n_boot=300, normalise=False)).verdicts[0]
    assert raw.verdict == REGRESSION  # an unnormalised gate cries wolf
    gemm = compare_runs(base, cur, GateSettings(n_boot=300, reference="gemm")).verdicts[0]
    assert gemm.ratio > 1.5  # a reference the drift does not touch removes nothing


def test_round_pairing_detects_a_real_slowdown_under_drift():
    base, cur = sliced_doc(5.0, BUSY), sliced_doc(6.0, STEADY, seed=3)
    v = compare_runs(base, cur, GateSettings(n_boot=300)).verdicts[0]
    assert v.verdict == REGRESSION and 1.15 < v.ratio < 1.25 and v.ci_low > 1.0


def test_runs_without_slices_fall_back_to_whole_run_normalisation():
    base = run_doc([result_row("a", 5.0, 1)], ref_ms=1.0)
    cur = run_doc([result_row("a", 6.5, 2)], ref_ms=1.3, seed=1)
    v = compare_runs(base, cur, GateSettings(n_boot=300)).verdicts[0]
    assert v.verdict == UNCHANGED and v.note == "whole-run normalisation"


def test_references_of_another_kind_are_refused_not_normalised_by() -> None:
    """A baseline whose reference ran another arithmetic (before hints were explicit, the ConvNeXt
    reference ran bf16 on some CPUs) would move every ratio: refused in one line."""
    import copy

    cur = read_run(
        Path(__file__).resolve().parents[1] / "runners" / "baselines" / "baseline-22853bd3c53e.json"
    )
    old = copy.deepcopy(cur)
    old.reference.model.label = "reference:convnext-fp32"
    with pytest.raises(BadInputError, match=r"reference workload .* is not this run.s"):
        compare_runs(old, cur)
    cmp = compare_runs(old, cur, GateSettings(normalise=False))
    assert not cmp.regressions


# ------------------------------------------------------------------ CLI
def _write(tmp: Path, name: str, doc: RunDocument) -> Path:
    p = tmp / name
    doc.write(p)
    return p


def test_cli_exit_codes(tmp_path: Path):
    runner = CliRunner()
    base = _write(tmp_path, "base.json", run_doc([result_row("a", 5.0, 1)]))
    same = _write(tmp_path, "same.json", run_doc([result_row("a", 5.0, 2)], seed=1))
    slow = _write(tmp_path, "slow.json", run_doc([result_row("a", 7.0, 3)], seed=2))
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
    base = _write(tmp_path, "base.json", run_doc([result_row("a", 5.0, 1)]))
    cur = _write(tmp_path, "cur.json", run_doc([result_row("a", 5.0, 2)], seed=1, fp=other))
    r = runner.invoke(app, ["compare", str(base), str(cur)])
    assert r.exit_code == 2 and "threads" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["compare", str(base), str(cur), "--allow-different-machine"])
    assert r.exit_code == 0 and "different machines" in r.output


@pytest.mark.parametrize(
    "content",
    ["not json", json.dumps({"schema": 99, "rows": []}), json.dumps({"schema": 1, "rows": [{}]})],
)
def test_malformed_results_file_is_one_line_exit_2(tmp_path: Path, content: str):
    base = _write(tmp_path, "base.json", run_doc([result_row("a", 5.0, 1)]))
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
    base = _write(tmp_path, "base.json", sliced_doc(5.0, STEADY))
    cur = _write(tmp_path, "cur.json", sliced_doc(5.0, BUSY, seed=3))
    md = tmp_path / "s.md"
    r = CliRunner().invoke(app, ["compare", str(base), str(cur), "--markdown", str(md)])
    assert r.exit_code == 0, r.output  # drift that comes and goes: paired rounds see no change
    assert "normalised round by round" in md.read_text()
    r = CliRunner().invoke(app, ["compare", str(base), str(cur), "--no-normalise"])
    assert r.exit_code == 1  # the raw numbers alone would fail the build
    r = CliRunner().invoke(app, ["compare", str(base), str(cur), "--pairing", "hourly"])
    assert r.exit_code == 2 and "--pairing is round or run" in r.output
