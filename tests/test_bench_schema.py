"""Schema 2: nested rows and typed references; committed schema-1 documents still load."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ecgbench.bench.results.document import SCHEMA, read_run, read_run_dict, tidy_rows
from ecgbench.bench.results.schema import FLAT_FIELDS, Latency, ResultRow
from ecgbench.bench.results.schema_v1 import upgrade_v1
from ecgbench.cli import app
from ecgbench.statistics import latency_summary

BASELINES = Path(__file__).resolve().parents[1] / "runners" / "baselines"
COMMITTED = sorted(BASELINES.glob("*.json"))


def test_baselines_are_committed() -> None:
    assert COMMITTED and all(json.loads(p.read_text())["schema"] == 1 for p in COMMITTED)


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_a_committed_schema_1_baseline_loads_with_every_value(path: Path) -> None:
    raw = json.loads(path.read_text())
    doc = read_run(path)
    assert len(doc.rows) == len(raw["rows"])
    for old, row in zip(raw["rows"], doc.rows, strict=True):
        flat = row.flat(skip=())
        assert {k: flat[k] for k in old} == old  # every flat value, under its new name
        assert row.latency.median_ms == old["median_ms"]
        assert row.throughput.fps == old["throughput_fps"]
        assert row.accuracy.challenge_score == old["challenge_score"]
        assert row.accuracy.note == old["accuracy_note"]
        assert row.execution.devices == old["execution_devices"]
        assert row.execution.as_planned == old["precision_as_planned"]
        assert row.execution.note == old["precision_note"]
        assert row.footprint.compile_ms == old["compile_ms"]
        assert row.latency.max_ms is None and row.latency.std_ms is None  # schema 1 kept neither
    ref = raw["reference"]
    gemm = {k: v for k, v in ref.items() if k not in ("ceilings", "model")}
    assert {k: getattr(doc.reference.gemm, k) for k in gemm} == gemm
    assert {k: getattr(doc.reference.model, k) for k in ref["model"]} == ref["model"]
    assert set(doc.reference.ceilings) == set(ref.get("ceilings", {}))
    for a, c in ref.get("ceilings", {}).items():
        assert {k: getattr(doc.reference.ceilings[a], k) for k in c} == c
    # the flat table (store, report, recommend) has exactly the schema-1 columns
    names = [n for n, _, _ in FLAT_FIELDS if n not in ("samples_ns", "slices", "extra")]
    assert list(tidy_rows(doc)[0])[: len(names)] == names


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_a_converted_document_round_trips_as_schema_2(path: Path) -> None:
    doc = read_run(path)
    d = json.loads(json.dumps(doc.to_dict()))
    assert d["schema"] == SCHEMA == 2
    assert set(d["reference"]) == {"gemm", "ceilings", "model"}
    assert {"latency", "throughput", "accuracy", "execution", "footprint"} <= set(d["rows"][0])
    assert read_run_dict(d, "again").to_dict() == d


def test_upgrade_v1_is_pure_and_keeps_old_rows_without_executed() -> None:
    raw = json.loads(COMMITTED[0].read_text())
    raw["rows"][0].pop("executed")
    raw["rows"][0]["backend"] = "onnxruntime"
    raw["rows"][0]["inference_precision"] = None
    before = copy.deepcopy(raw)
    up = upgrade_v1(raw)
    assert raw == before  # the input is left as it was
    assert up["schema"] == 2 and up["rows"][0]["executed"] == "f32"  # ORT ran f32


def test_latency_from_samples_is_the_latency_summary() -> None:
    s = [3_000_000, 1_000_000, 2_000_000, 5_000_000, 4_000_000]
    st = latency_summary(s)
    lat = Latency.from_samples(s, [[0, 0], [1, 3]], runtime_ns=[900_000, 800_000])
    for k in ("n", "median_ms", "mean_ms", "p90_ms", "p99_ms", "min_ms", "max_ms", "iqr_ms"):
        assert getattr(lat, k) == st[k], k
    assert st["median_ms"] == 3.0 and st["min_ms"] == 1.0 and st["max_ms"] == 5.0
    assert lat.std_ms == st["std_ms"] and lat.fps(4) == pytest.approx(4 * 1e3 / 3.0)
    assert lat.runtime_median_ms == pytest.approx(0.85)
    assert lat.call_overhead_ms == pytest.approx(float(np.median([2.1, 0.2])))
    assert lat.slices == [[0, 0], [1, 3]] and lat.samples_ns == s
    assert Latency.from_samples(s).runtime_median_ms is None


def test_a_row_reads_its_groups_and_ignores_unknown_keys() -> None:
    d = json.loads(json.dumps(read_run(COMMITTED[0]).to_dict()))["rows"][0]
    d["later"] = 1
    d["latency"]["later"] = 2
    row = ResultRow.from_dict(d)
    assert row.key()[:4] == (d["model"], d["backend"], d["device"], d["precision"])


def test_compare_a_schema_2_run_against_the_committed_schema_1_baselines(tmp_path: Path) -> None:
    cur = tmp_path / "cur.json"
    read_run(COMMITTED[0]).write(cur)  # the same run, written as schema 2
    assert json.loads(cur.read_text())["schema"] == 2
    r = CliRunner().invoke(app, ["compare", "--baseline-dir", str(BASELINES), str(cur)])
    # a run against itself is never a regression; a stored run's noisier keys are inconclusive
    assert r.exit_code in (0, 4), r.output
    assert "regression" not in r.output.replace("no regression", "")
    assert COMMITTED[0].name in r.output


def test_a_rows_accuracy_reads_the_manifests_intervals_and_paired_drop() -> None:
    """What ``evaluate --zoo`` writes is what a run row carries; anything malformed is no interval."""
    from ecgbench.bench.results.rows import _drop_verdict, _interval, _paired_drop

    entry = {
        "challenge_score_ci95": [0.38, 0.51],
        "drop_vs_fp32": {"challenge_score": {"point": -0.002, "ci95": [-0.006, -0.0003]}},
    }
    assert _interval(entry["challenge_score_ci95"]) == [0.38, 0.51]
    assert _interval("0.3-0.5") is None and _interval([0.3]) is None
    assert _drop_verdict(_paired_drop(entry)) == "gain"
    entry["drop_vs_fp32"]["challenge_score"]["ci95"] = [-0.003, 0.004]
    assert _drop_verdict(_paired_drop(entry)) == "tie"
    entry["drop_vs_fp32"]["challenge_score"]["ci95"] = [0.001, 0.004]
    assert _drop_verdict(_paired_drop(entry)) == "drop"
    assert _drop_verdict(_paired_drop({})) is None
    assert _drop_verdict(_paired_drop({"drop_vs_fp32": "garbage"})) is None
