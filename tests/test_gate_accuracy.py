"""The gate's accuracy guard on real artifacts: a shipped model's INT8 re-quantized on all-zero
records is caught as an accuracy regression (with labels by the paired score drop, without them by
decision agreement), identical sources are never re-scored, float noise passes, bad tolerances are
one line."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import PTBXL, needs_shared, write_challenge_record
from helpers_accuracy_guard import break_int8, copy_zoo, perturb_checkpoint
from typer.testing import CliRunner

from ecgbench.cli import app
from ecgbench.errors import BadInputError
from ecgbench.gate.accuracy import (
    INCONCLUSIVE,
    REGRESSION,
    UNCHANGED,
    AccuracySettings,
    accuracy_guard,
    accuracy_verdict,
    guard_exit_code,
)
from ecgbench.metrics.bootstrap import PairedDrop
from ecgbench.zoo import Zoo

MODEL = "convnext1d_atto"
INT8 = [(MODEL, "openvino", "int8", "int8+f32")]
FP32 = [(MODEL, "openvino", "fp32", "f32")]
SUITE = """name = "guard"
models = ["convnext1d_atto"]
backends = ["openvino"]
devices = ["CPU"]
precisions = ["int8"]
batch = [1]
threads = 1
duration = 0.5
round_s = 0.1
min_iters = 5
warmup = 0.1
"""


def _drop(lo: float, hi: float) -> PairedDrop:
    return PairedDrop("challenge_score", (lo + hi) / 2, lo, hi, lo > 0 or hi < 0)


def test_the_rule_reads_the_drop_interval_against_the_tolerance() -> None:
    s = AccuracySettings(max_score_drop=0.01)
    assert accuracy_verdict(0.5, _drop(-0.004, 0.006), s) == UNCHANGED  # labels decide
    assert accuracy_verdict(1.0, _drop(0.02, 0.05), s) == REGRESSION
    assert accuracy_verdict(1.0, _drop(-0.01, 0.03), s) == INCONCLUSIVE  # holds the tolerance
    assert accuracy_verdict(0.995, None, s) == UNCHANGED  # no labels: agreement decides
    assert accuracy_verdict(0.98, None, s) == REGRESSION


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_score_drop", -0.01), ("max_score_drop", math.nan), ("min_agreement", 0.0),
     ("min_agreement", 1.5), ("min_agreement", math.nan)],
)  # fmt: skip
def test_bad_tolerances_are_refused(field: str, value: float) -> None:
    with pytest.raises(BadInputError, match=field.replace("_", "-")):
        AccuracySettings(**{field: value}).validate()


@pytest.mark.parametrize(
    "flag", [["--max-score-drop", "-1"], ["--max-score-drop", "nan"], ["--min-agreement", "0"]]
)
def test_gate_refuses_bad_tolerances_in_one_line(flag: list[str], tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["gate", "--base", str(tmp_path), "--head", str(tmp_path), *flag])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) <= 3


@pytest.fixture(scope="module")
def zoos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("guard")
    out = {n: copy_zoo(root / n, MODEL) for n in ("base", "same", "broken")}
    break_int8(out["broken"], MODEL)
    (root / "suite.toml").write_text(SUITE)
    out["suite"] = root / "suite.toml"
    return out


@pytest.fixture(scope="module")
def unlabelled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 ECG-like 10 s records the test writes, with no diagnosis: agreement only."""
    d = tmp_path_factory.mktemp("unlabelled")
    for i in range(12):
        write_challenge_record(d, f"u{i:02d}", seconds=10.0, dx=(), seed=i)
    return d


def test_identical_sources_inherit_base_without_scoring(zoos, tmp_path: Path) -> None:
    empty = tmp_path / "no-records"
    empty.mkdir()  # nothing to read: a re-score would fail, an inherited answer does not read
    (v,) = accuracy_guard(INT8, zoos["base"] / "models", zoos["same"] / "models", empty, _s())
    assert v.verdict == UNCHANGED and v.identical and v.n_records == 0


def _s(**kw) -> AccuracySettings:
    return AccuracySettings(**{"records": None, "bootstrap": 200, **kw})


def test_zero_calibrated_int8_fails_on_agreement_without_labels(zoos, unlabelled) -> None:
    (v,) = accuracy_guard(
        INT8, zoos["base"] / "models", zoos["broken"] / "models", unlabelled, _s()
    )
    assert v.verdict == REGRESSION and not v.identical
    assert v.drop is None and "no labels" in v.note
    assert v.agreement is not None and v.agreement < 0.99 and v.n_records == 12
    assert guard_exit_code([v]) == 1


@needs_shared(PTBXL)
def test_zero_calibrated_int8_is_an_accuracy_regression_on_labelled_records(zoos) -> None:
    s = _s(records=120)
    (v,) = accuracy_guard(INT8, zoos["base"] / "models", zoos["broken"] / "models", PTBXL, s)
    assert v.verdict == REGRESSION, v
    assert v.metric == "challenge_score" and v.drop_lo is not None and v.drop_lo > 0.01
    assert v.n_records == 120


@needs_shared(PTBXL)
def test_float_noise_in_fp32_passes(tmp_path: Path) -> None:
    base, head = copy_zoo(tmp_path / "b", MODEL), copy_zoo(tmp_path / "h", MODEL)
    perturb_checkpoint(head, MODEL, 1e-6)
    (v,) = accuracy_guard(FP32, base / "models", head / "models", PTBXL, _s(records=60))
    assert not v.identical and v.n_records == 60  # scored: the bytes differ
    assert v.verdict == UNCHANGED and v.max_abs_delta is not None and v.max_abs_delta < 1e-3


@needs_shared(PTBXL)
def test_gate_command_fails_a_faster_broken_head_and_passes_an_identical_one(zoos) -> None:
    run = CliRunner()
    common = ["--suite", str(zoos["suite"]), "--data", str(PTBXL), "--accuracy-records", "60"]
    broken = run.invoke(
        app, ["gate", "--base", str(zoos["base"]), "--head", str(zoos["broken"]), *common]
    )
    assert broken.exit_code == 1, broken.output
    assert "accuracy regression" in broken.output and "accuracy guard: 1 accuracy" in broken.output
    same = run.invoke(
        app,
        ["gate", "--base", str(zoos["base"]), "--head", str(zoos["same"]), "--mode", "models",
         *common],
    )  # fmt: skip
    assert "accuracy guard: no accuracy regression" in same.output, same.output
    assert "identical sources" in same.output
    assert same.exit_code in (0, 4), same.output  # latency of an A/A: unchanged or too noisy


def test_records_the_guard_reads_are_the_same_for_base_and_head(zoos, unlabelled) -> None:
    """The pairing is record by record: both sides read the same names in the same order."""
    from ecgbench.gate.accuracy import side_outputs

    s = _s()
    b = side_outputs(Zoo(zoos["base"] / "models"), INT8[0][:3], unlabelled, s)
    h = side_outputs(Zoo(zoos["broken"] / "models"), INT8[0][:3], unlabelled, s)
    assert b.names == h.names and len(b.names) == 12
    assert not np.array_equal(b.binary, h.binary)
