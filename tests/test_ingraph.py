"""``export --preprocess-in-graph``: the band-pass and z-score as graph layers, checked against the
scipy pipeline on records the tests write, registered, and run end to end like any zoo model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import AF, NSR, write_challenge_record
from helpers_accuracy_guard import copy_zoo
from helpers_export import link_real_subset, needs_real_data
from typer.testing import CliRunner

from ecgbench.bench.results.document import read_run
from ecgbench.cli import app
from ecgbench.data.causal import pp_steps
from ecgbench.data.fir import IN_GRAPH_TOLERANCE, design_two_stage, two_stage_error
from ecgbench.data.preprocess import Preprocessing, preprocess_signal, resample
from ecgbench.data.records import read_record
from ecgbench.export.ingraph import NotAccepted, build_in_graph, check_in_graph, export_in_graph
from ecgbench.gate.accuracy import AccuracySettings
from ecgbench.nets.ingraph import LeadZScore, TwoStageBandpass
from ecgbench.zoo import Zoo
from ecgbench.zoo_brought import add_brought

MODEL = "convnext1d_atto"


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("ingraph_records")
    for i in range(10):
        write_challenge_record(
            d, f"G{i:02d}", fs=500, seconds=10.0, seed=i, dx=[AF if i % 2 else NSR]
        )
    return d


@pytest.mark.parametrize("fs", [500.0, 100.0])
def test_the_layers_are_the_scipy_pipeline_within_the_stated_tolerance(
    records: Path, fs: float
) -> None:
    pp = Preprocessing(fs=fs)
    design = design_two_stage(pp_steps(pp), fs)
    err = two_stage_error(design, pp_steps(pp))
    assert err.delay_s == 0 and err.passband < 0.05 and err.stopband < 0.05, err.summary()
    layers = torch.nn.Sequential(TwoStageBandpass(design, 12), LeadZScore()).eval()
    for name in ("G00", "G01", "G02"):
        rec = read_record(records / name)
        want = preprocess_signal(rec.signal, rec.fs, pp)  # resample, sosfiltfilt, z-score
        x = resample(rec.signal, rec.fs, fs)
        with torch.no_grad():
            got = layers(torch.tensor(x[None])).numpy()[0]
        rel = float(np.sqrt(np.mean((got - want) ** 2)) / np.sqrt(np.mean(want**2)))
        assert rel <= IN_GRAPH_TOLERANCE, (name, fs, rel)


@needs_real_data()
def test_export_in_graph_registers_a_checked_model_that_runs_end_to_end(tmp_path: Path) -> None:
    """On real records (the model's own domain: synthetic beats sit near its thresholds, where a
    tenth of a probability flips decisions)."""
    records = link_real_subset(tmp_path / "real", n=40)
    root = copy_zoo(tmp_path / "z", MODEL) / "models"
    env = {"ECGBENCH_ZOO": str(root), "ECGBENCH_DATA": ""}
    res = CliRunner().invoke(
        app, ["export", "--model", MODEL, "--preprocess-in-graph", "--data", str(records)], env=env
    )
    assert res.exit_code == 0, res.output
    name = f"{MODEL}_ingraph"
    e = Zoo(root).get(name)
    assert e.brought and e.card["preprocess"]["steps"] == []  # the graph takes the raw window
    g = e.metrics["in_graph"]
    assert g["source"] == MODEL and g["records"] == 40 and g["agreement"] >= 0.99
    assert g["metric"] == "challenge_score" and g["drop_ci95"][0] <= g["drop"] <= g["drop_ci95"][1]
    assert g["design"]["passband"] < 0.05
    out = tmp_path / "run.json"
    res = CliRunner().invoke(
        app,
        ["run", "--model", f"{MODEL},{name}", "--backend", "openvino", "--precision", "fp32",
         "--duration", "0.2", "--min-iters", "20", "--warmup", "0", "--threads", "1",
         "--pipeline", "--data", str(records), "--no-store", "--output", str(out)],
        env=env,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = {r.model: r for r in read_run(out).rows}
    assert set(rows) == {MODEL, name} and all(r.pipeline for r in rows.values())
    assert rows[name].input_shape == [1, 12, 5000]  # the raw window
    # its own preprocessing in Python is only the window's cut: the filter runs in the graph
    assert rows[name].pipeline.source == rows[MODEL].pipeline.source == "records"


def test_a_variant_whose_decisions_disagree_is_refused_and_taken_out(
    records: Path, weights_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECGBENCH_WEIGHTS", str(weights_csv))
    root = copy_zoo(tmp_path / "z", MODEL) / "models"
    onnx, card, _ = build_in_graph(Zoo(root), MODEL, tmp_path)
    add_brought(Zoo(root), onnx, card, "probe_ingraph")
    s = AccuracySettings(records=None, bootstrap=200)
    a = check_in_graph(Zoo(root), MODEL, "probe_ingraph", records, s, "openvino", "fp32").agreement
    again = check_in_graph(Zoo(root), MODEL, "probe_ingraph", records, s, "openvino", "fp32")
    assert a is not None and again.agreement == a  # deterministic: same records, same answer
    if a == 1.0:
        pytest.skip("every decision agreed on these records: no agreement to ask more than")
    strict = AccuracySettings(records=None, bootstrap=200, min_agreement=min(1.0, a + 1e-6))
    with pytest.raises(NotAccepted, match="not accepted"):
        export_in_graph(Zoo(root), MODEL, records, strict, name="strict_ingraph")
    assert "strict_ingraph" not in Zoo(root).entries
    assert not (root / "brought" / "strict_ingraph").exists()
    assert "probe_ingraph" in Zoo(root).entries  # the refusal took out only its own entry


def test_in_graph_bad_input_is_one_line(tmp_path: Path, records: Path) -> None:
    root = copy_zoo(tmp_path / "z", MODEL) / "models"
    env = {"ECGBENCH_ZOO": str(root), "ECGBENCH_DATA": ""}
    for args, says in (
        (["--model", MODEL], "give --data DIR"),
        (["--model", MODEL, "--data", str(tmp_path / "none")], "no such folder"),
        (["--model", "nope", "--data", str(records)], "nope"),
    ):
        res = CliRunner().invoke(app, ["export", "--preprocess-in-graph", *args], env=env)
        assert res.exit_code == 2 and says in res.stderr, (args, res.output)
