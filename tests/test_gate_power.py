"""The gate's own measurement (`ecgbench gate-power`) analysed on hand-made runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_gate import BUSY, STEADY, sliced_doc

from ecgbench.errors import BadInputError
from ecgbench.studies.gate_power import BASE_SAMPLES, METHODS, analyse, calibrated_lengths


def test_gate_power_analysis_counts_false_alarms_and_detections(tmp_path: Path):
    runs = tmp_path / "runs"
    for i in range(3):  # A, A again under a busy neighbour, and A 30 % slower
        sliced_doc(5.0, STEADY, seed=10 * i).write(runs / f"{i:03d}-a.json")
        sliced_doc(5.0, BUSY, seed=10 * i + 1).write(runs / f"{i:03d}-b.json")
        sliced_doc(6.5, STEADY, seed=10 * i + 2).write(runs / f"{i:03d}-c.json")
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
    with pytest.raises(BadInputError, match=r"settings\.json"):
        calibrated_lengths(tmp_path)
    runs = tmp_path / "runs"
    for i in range(3):  # 25 % more input made the variant only 8 % slower: a big fixed cost
        sliced_doc(5.0, STEADY, seed=10 * i).write(runs / f"{i:03d}-a.json")
        sliced_doc(5.4, STEADY, seed=10 * i + 2).write(runs / f"{i:03d}-c.json")
    (tmp_path / "settings.json").write_text('{"slowdown": 1.25}')
    with pytest.raises(BadInputError, match=r"summary\.json"):  # calibration reads the analysis
        calibrated_lengths(tmp_path)
    res = analyse(tmp_path, threshold=1.10)  # slowdown pairs only: no false-alarm figures
    m = res["methods"]["model-round"]
    assert m["false_alarm_rate_per_key"] is None and m["aa_ratio_sd"] is None
    assert m["detection_rate_per_key"] == 0  # ×1.08 is not above the threshold
    assert res["per_key"]["a/openvino/fp32"]["slow_pairs"] == 3
    (key, n), *rest = calibrated_lengths(tmp_path).items()
    assert not rest and key == "a/openvino/fp32"
    assert n == pytest.approx(BASE_SAMPLES * 1.625, rel=0.08)  # 1 + 0.2 * 0.25 / 0.08


def test_gate_power_command_analyses_and_refuses_in_one_line(tmp_path: Path):
    from typer.testing import CliRunner

    from ecgbench.cli import app

    runs = tmp_path / "runs"
    for i in range(2):
        sliced_doc(5.0, STEADY, seed=10 * i).write(runs / f"{i:03d}-a.json")
        sliced_doc(6.5, STEADY, seed=10 * i + 2).write(runs / f"{i:03d}-c.json")
    r = CliRunner().invoke(app, ["gate-power", "--analyse", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "model-round" in r.output and '"pairs": 2' in r.output
    r = CliRunner().invoke(app, ["gate-power", "--calibrate-from", str(tmp_path / "none")])
    assert r.exit_code == 2 and "has no settings.json" in r.output and "Traceback" not in r.output


# --------------------------------------------------------------------------- the same-job tool
def test_same_job_calibration_lengthens_each_key_by_what_its_slowdown_says() -> None:
    from ecgbench.studies.gate_power_same_job import calibrated_lengths

    summary = {
        "per_key": {
            "m/openvino/fp32": {"slow_ratio_median": 1.2},
            "m/x/int8": {"slow_ratio_median": 1.1},
        }
    }
    # window ×1.4 slowed the first ×1.2 (half its cost scales with length) and the second ×1.1
    got = calibrated_lengths(summary, 1.2, 1.4, {"m": 5000})
    assert got == {"m/openvino/fp32": 7000, "m/x/int8": 9000}
    with pytest.raises(BadInputError, match="no slowdown"):
        calibrated_lengths({"per_key": {"m/a/b": {"slow_ratio_median": 0.99}}}, 1.2, 1.4, {"m": 1})


def test_same_job_analysis_judges_every_method_on_the_same_stored_runs(tmp_path: Path) -> None:
    from helpers_gate import timed_docs

    from ecgbench.studies.gate_power_same_job import analyse, summary_lines

    keys = {"k1": 1.0, "k2": 1.0}
    for i in range(4):
        a, a2, c = timed_docs([keys, keys, {k: 1.3 for k in keys}], {}, seed=10 + i)
        for tag, d in zip("abc", (a, a2, c), strict=True):
            d.write(tmp_path / "runs" / f"{i:03d}-{tag}.json")
    res = analyse(tmp_path, threshold=1.10, target=1.20)
    assert res["runs"] == 4 and res["keys_per_run"] == 2
    for m in ("single", "holm", "confirm"):
        assert res["methods"][m]["aa_regression_runs"] == 0, m
        assert res["methods"][m]["slow_detected_keys"] == 8, m  # ×1.3 in every key of 4 runs
    assert res["methods"]["shift"]["slow_detected_keys"] == 8  # A/A rounds ×1.2: every key
    assert any("confirm" in line for line in summary_lines(res))
