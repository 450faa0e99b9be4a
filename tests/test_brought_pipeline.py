"""Brought models through export, verification, evaluate and run, on records the tests write and
on the real records where present; ecgbench's FP32 scores against a plain ONNX Runtime script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import AF, NSR, PTBXL, needs_shared, synthetic_uv, write_challenge_record
from helpers_brought import TinyCNN, export_ir, export_onnx, write_card
from typer.testing import CliRunner

from ecgbench.accuracy.brought import evaluate_brought, pair_with_fp32
from ecgbench.bench.options import RunOptions
from ecgbench.bench.runner import run_plan
from ecgbench.bench.suite import Suite
from ecgbench.card import read_card
from ecgbench.cli import app
from ecgbench.data.card_input import load_card_set
from ecgbench.data.dataset import load_dataset
from ecgbench.data.preprocess import Preprocessing
from ecgbench.data.records import STANDARD_LEADS
from ecgbench.export.build import ExportOptions
from ecgbench.export.pipeline import export_models
from ecgbench.export.quantize import QuantSettings
from ecgbench.zoo import Zoo
from ecgbench.zoo_brought import add_brought

ROOT = Path(__file__).resolve().parents[1]
SUPER = ("MI", "STTC", "HYP", "CD", "NORM")
SCP = {0: "{'NORM': 100.0, 'SR': 0.0}", 1: "{'IMI': 80.0, 'ASMI': 50.0}", 2: "{'LVH': 100.0}"}


def _reverse_leads(d: Path, name: str) -> None:
    """Rewrite a record with its rows and lead names both reversed: the same ECG, other order."""
    hea = d / f"{name}.hea"
    lines = hea.read_text().splitlines()
    sig = lines[1:13]
    import scipy.io

    val = scipy.io.loadmat(d / f"{name}.mat")["val"][::-1]
    scipy.io.savemat(d / f"{name}.mat", {"val": np.ascontiguousarray(val)}, format="4")
    rows = [ln.rsplit(" ", 1)[0] for ln in sig]
    firsts = [ln.split()[5] for ln in sig][::-1]
    checks = [ln.split()[6] for ln in sig][::-1]
    new = []
    for i, lead in enumerate(reversed(STANDARD_LEADS)):
        parts = rows[i].split()
        parts[5], parts[6] = firsts[i], checks[i]
        new.append(" ".join(parts) + f" {lead}")
    hea.write_text("\n".join([lines[0], *new, *lines[13:]]) + "\n")


def write_folder(d: Path, fs: float, n: int = 30) -> Path:
    """``n`` 10 s records over folds 1-10 with #Dx and PTB-XL scp_codes; the last has its leads
    reversed in the header (and rows)."""
    meta = ["record,ecg_id,strat_fold,scp_codes"]
    for i in range(n):
        kind = i % 3
        val = synthetic_uv(fs=fs, seconds=10.0, rate_hz=(1.0, 2.5, 1.6)[kind], seed=7 + i)
        write_challenge_record(d, f"R{i:03d}", val, fs=fs, dx=[AF] if kind == 1 else [NSR])
        meta.append(f'R{i:03d},{i},{i % 10 + 1},"{SCP[kind]}"')
    (d / "metadata.csv").write_text("\n".join(meta) + "\n")
    write_challenge_record(d, "REV", synthetic_uv(fs=fs, seconds=10.0, rate_hz=1.0, seed=7), fs=fs)
    _reverse_leads(d, "REV")
    return d


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two brought models in one zoo: an NLC softmax over PTB-XL superclasses at 100 Hz with a
    median baseline (ONNX), and a 500 Hz SNOMED sigmoid CNN (IR); records at each rate."""
    t = tmp_path_factory.mktemp("pipeline")
    data100 = write_folder(t / "data100", 100)
    data500 = write_folder(t / "data500", 500)
    export_onnx(TinyCNN(classes=5, nlc=True, seed=3), (1, 1000, 12), t / "nlc.onnx")
    c_nlc = write_card(
        t / "nlc.toml",
        fs=100,
        layout="NLC",
        steps=("median_baseline(51)", "zscore"),
        classes=SUPER,
        labels="ptbxl-superclass",
        activation="softmax",
        threshold="0.2",
    )
    export_onnx(TinyCNN(classes=2, seed=4), (1, 12, 5000), t / "cnn.onnx")
    export_ir(t / "cnn.onnx", t / "cnn.xml")
    c_cnn = write_card(t / "cnn.toml", classes=(AF, NSR), threshold="[0.5, 0.4]")
    zoo = Zoo(t / "zoo")
    add_brought(zoo, t / "nlc.onnx", c_nlc)
    add_brought(zoo, t / "cnn.xml", c_cnn)
    return {
        "t": t,
        "zoo": t / "zoo",
        "data100": data100,
        "data500": data500,
        "cnn_onnx": t / "cnn.onnx",
    }


def opts_for(world: dict[str, Path], data: Path) -> ExportOptions:
    return ExportOptions(
        cache_dir=world["t"] / "cache",
        calibration_dir=data,
        quant=QuantSettings(subset_size=16, model_type=None),
        verify_records=8,
        show_progress=False,
    )


def test_leads_are_reordered_by_their_header_names(world):
    card = read_card(world["t"] / "nlc.toml")
    s = load_card_set(world["data100"], card, labelled=False)
    i, j = s.names.index("R000"), s.names.index("REV")
    np.testing.assert_array_equal(s.x[i], s.x[j])
    pp = Preprocessing(fs=100)  # the ConvNeXt path reorders the same way
    ds = load_dataset(world["data100"], pp, min_duration_s=1.0, show_progress=False)
    np.testing.assert_array_equal(
        ds.signals[ds.names.index("R000")], ds.signals[ds.names.index("REV")]
    )


def test_a_record_missing_a_card_lead_is_skipped_and_named(world, tmp_path):
    card = read_card(world["t"] / "cnn.toml")
    write_challenge_record(tmp_path, "SIX", synthetic_uv(n_leads=6, seconds=10.0))
    write_challenge_record(tmp_path, "OK", synthetic_uv(seconds=10.0))
    s = load_card_set(tmp_path, card)
    assert s.names == ["OK"]
    assert "SIX: lacks lead(s) I, II" in str(s.problems[0])


def test_every_variant_is_verified_against_the_file(world):
    zoo = Zoo(world["zoo"])
    vs = export_models(
        ["nlc"],
        ["openvino", "onnx"],
        ["fp32", "fp16", "int8"],
        opts_for(world, world["data100"]),
        zoo,
    )
    got = {(v.format, v.precision): v for v in vs}
    assert set(got) == {("openvino", p) for p in ("fp32", "fp16", "int8")} | {
        ("onnx", "fp32"),
        ("onnx", "int8"),
    }
    assert got[("onnx", "fp32")].path == world["zoo"] / "brought/nlc/nlc.onnx"  # the file itself
    for v in vs:
        assert v.verification is not None and v.verification.real_records, v
        assert v.verification.passed, (v.format, v.precision, v.verification.summary())
    ir = export_models(
        ["cnn"], ["openvino", "onnx"], ["fp32"], opts_for(world, world["data500"]), zoo
    )
    assert [(v.format, v.source) for v in ir] == [("openvino", "zoo")]  # an IR has no ONNX form


def test_evaluate_scores_superclasses_with_intervals_and_drops(world):
    zoo = Zoo(world["zoo"])
    o = opts_for(world, world["data100"])
    scored = [
        evaluate_brought("nlc", b, p, world["data100"], None, o, zoo, bootstrap=200)
        for b, p in (("onnxruntime", "fp32"), ("onnxruntime", "int8"), ("openvino", "fp16"))
    ]
    pair_with_fp32(scored, 200)
    fp32, int8, _ = scored
    assert fp32.challenge_score is None and fp32.to_dict()["challenge"] == "n/a"
    # REV has no metadata row, so no PTB-XL truth: skipped and named
    assert fp32.n_records == 30 and fp32.labels.sum(axis=0).tolist() == [10, 0, 10, 0, 10]
    assert any(p.startswith("REV: no scp_codes") for p in fp32.skipped)
    d = fp32.to_dict()
    for m in ("auroc", "auprc", "f_measure"):
        lo, hi = d[f"{m}_ci95"]
        assert lo <= d[m] <= hi
    assert set(d["per_class"]["auroc"]) == set(SUPER)
    assert [x.metric for x in int8.drop_vs_fp32] == ["auroc", "auprc", "f_measure"]
    assert all(x.lo <= x.point <= x.hi for x in int8.drop_vs_fp32)


def test_run_times_brought_models_on_both_runtimes(world):
    zoo = Zoo(world["zoo"])
    plan = Suite(
        models=("nlc", "cnn"),
        backends=("openvino", "onnxruntime"),
        precisions=("fp32", "int8"),
        duration=0.05,
        min_iters=5,
        warmup=0.01,
        round_s=0.02,
    )
    logs: list[str] = []
    opts = RunOptions(
        export=opts_for(world, world["data100"]), use_store=False, show_progress=False
    )
    # the cnn calibrates on 100 Hz records too: the card resamples them to its 500 Hz
    doc = run_plan(plan, opts, zoo=zoo, log=logs.append)
    rows = {(r.model, r.backend, r.precision): r for r in doc.rows}
    assert set(rows) == {
        ("nlc", "openvino", "fp32"),
        ("nlc", "openvino", "int8"),
        ("nlc", "onnxruntime", "fp32"),
        ("nlc", "onnxruntime", "int8"),
        ("cnn", "openvino", "fp32"),
        ("cnn", "openvino", "int8"),
    }
    assert any("cnn onnxruntime" in m and "no ONNX form" in m for m in logs)
    assert rows[("nlc", "openvino", "fp32")].input_shape == [1, 12, 1000]
    assert rows[("cnn", "openvino", "fp32")].throughput.gflops > 0


def test_a_folder_without_the_cards_classes_is_refused(world, tmp_path):
    for i in range(3):
        write_challenge_record(
            tmp_path, f"N{i}", synthetic_uv(seconds=10.0, seed=i), dx=["59118001"]
        )
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--model",
            "cnn",
            "--backend",
            "openvino",
            "--data",
            str(tmp_path),
            "--bootstrap",
            "0",
        ],
        env={"ECGBENCH_ZOO": str(world["zoo"])},
    )
    assert result.exit_code == 2, result.output
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "carries any of cnn's classes" in errors[0]


def _reference(model: Path, card: Path, data: Path, fold: int | None = None) -> dict:
    args = [
        sys.executable,
        str(ROOT / "docs/brought_reference.py"),
        str(model),
        str(card),
        str(data),
    ]
    out = subprocess.run(
        args + (["--fold", str(fold)] if fold else []), capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_fp32_equals_a_plain_onnxruntime_script(world):
    zoo = Zoo(world["zoo"])
    s = evaluate_brought(
        "nlc",
        "onnxruntime",
        "fp32",
        world["data100"],
        None,
        opts_for(world, world["data100"]),
        zoo,
        bootstrap=0,
    )
    ref = _reference(
        world["zoo"] / "brought/nlc/nlc.onnx", world["t"] / "nlc.toml", world["data100"]
    )
    assert set(ref) - set(s.names) == {"REV"}  # ecgbench skips it: no PTB-XL truth
    want = np.array([ref[n] for n in s.names])
    np.testing.assert_allclose(s.probs, want, rtol=0, atol=1e-6)


@needs_shared(PTBXL)
def test_fp32_equals_the_script_on_real_records(world, tmp_path):
    zoo = Zoo(tmp_path / "zoo")
    card = write_card(tmp_path / "c.toml", classes=(AF, NSR), threshold="0.5")
    add_brought(zoo, world["cnn_onnx"], card, "real")
    o = ExportOptions(cache_dir=tmp_path / "cache", show_progress=False)
    s = evaluate_brought("real", "onnxruntime", "fp32", PTBXL, (10,), o, zoo, bootstrap=0)
    ref = _reference(world["cnn_onnx"], card, PTBXL, fold=10)
    assert s.n_records > 100 and set(s.names) <= set(ref)
    np.testing.assert_allclose(s.probs, np.array([ref[n] for n in s.names]), rtol=0, atol=1e-6)


class Overflowing(TinyCNN):
    """Squared activations ×1e5 inside (not foldable into a weight), scaled back at the end: fine
    in f32, far above FP16's 65504 (inf) in f16."""

    def forward(self, x):
        f = self.body[1](self.body[0](x))
        h = self.body[4](self.body[3](self.body[2](f * f * 1e5)))
        return self.head(h.flatten(1)) / 1e5


def test_a_variant_that_overflows_in_fp16_is_flagged(world, tmp_path):
    from ecgbench.backends import plan_execution
    from ecgbench.host import device_arithmetic

    if plan_execution("openvino", "fp16", device_arithmetic("CPU")).hint != "f16":
        pytest.skip(
            "this CPU does not execute f16: an FP16 IR runs in f32 here and cannot overflow"
        )
    export_onnx(Overflowing(classes=2, seed=5), (1, 12, 5000), tmp_path / "big.onnx")
    card = write_card(tmp_path / "c.toml", classes=(AF, NSR))
    zoo = Zoo(tmp_path / "zoo")
    add_brought(zoo, tmp_path / "big.onnx", card)
    o = opts_for(world, world["data500"])
    (fp32, fp16) = export_models(["big"], ["openvino"], ["fp32", "fp16"], o, zoo)
    assert fp32.verification.passed
    assert not fp16.verification.passed and fp16.verification.summary().startswith("FAILED (f16)")
    logs: list[str] = []
    plan = Suite(models=("big",), precisions=("fp16",), duration=0.05, min_iters=5, warmup=0.01)
    doc = run_plan(
        plan, RunOptions(export=o, use_store=False, show_progress=False), zoo, logs.append
    )
    assert any("VERIFICATION FAILED" in m and "big openvino fp16" in m for m in logs)
    assert doc.rows[0].accuracy.verification.startswith("FAILED")


def test_the_challenge_score_when_the_classes_are_the_challenges(world, tmp_path, weights_csv):
    from ecgbench.accuracy.brought import store_brought_scores
    from ecgbench.accuracy.replicates import load_replicates

    export_onnx(TinyCNN(seed=6), (1, 12, 5000), tmp_path / "c26.onnx")
    zoo = Zoo(tmp_path / "zoo")
    add_brought(zoo, tmp_path / "c26.onnx", write_card(tmp_path / "c.toml"))
    o = opts_for(world, world["data500"])
    w = str(weights_csv)
    scored = [
        evaluate_brought(
            "c26", "onnxruntime", p, world["data500"], None, o, zoo, bootstrap=100, weights_path=w
        )
        for p in ("fp32", "int8")
    ]
    pair_with_fp32(scored, 100, weights_path=w)
    fp32, int8 = scored
    assert fp32.challenge_score is not None and len(fp32.challenge_ci95) == 2
    assert [d.metric for d in int8.drop_vs_fp32] == [
        "challenge_score",
        "auroc",
        "auprc",
        "f_measure",
    ]
    for s in scored:
        store_brought_scores(zoo, s, "test")
    reps = load_replicates(zoo)
    assert {k for m, k in reps if m == "c26"} == {
        "onnxruntime-fp32@f32",
        "onnxruntime-int8@int8+f32",
    }
    assert (
        Zoo(zoo.root)
        .get("c26")
        .variants["onnxruntime-int8@int8+f32"]["drop_vs_fp32"]["challenge_score"]
    )


EXAMPLES = ROOT / "docs" / "examples" / "byom"


@needs_shared(PTBXL)
@pytest.mark.parametrize("name", ["resnet1d", "convgru"])
def test_the_example_models_fp32_scores_equal_the_script(name, tmp_path):
    """The README's two brought models (a 1-D ResNet; conv + GRU, NLC at 100 Hz): ecgbench's
    ONNX Runtime FP32 probabilities and scores on fold 10 equal the plain script's to 1e-6."""
    from ecgbench.metrics.card_scores import card_scores

    zoo = Zoo(tmp_path / "zoo")
    add_brought(zoo, EXAMPLES / f"{name}.onnx", EXAMPLES / f"{name}.toml")
    o = ExportOptions(cache_dir=tmp_path / "cache", show_progress=False)
    s = evaluate_brought(name, "onnxruntime", "fp32", PTBXL, (10,), o, zoo, bootstrap=0)
    ref = _reference(EXAMPLES / f"{name}.onnx", EXAMPLES / f"{name}.toml", PTBXL, fold=10)
    assert s.n_records == len(ref) > 200
    probs = np.array([ref[n] for n in s.names])
    np.testing.assert_allclose(s.probs, probs, rtol=0, atol=1e-6)
    card = read_card(EXAMPLES / f"{name}.toml")
    theirs = card_scores(s.labels, probs >= np.asarray(card.thresholds), probs, 0)
    for m in ("auroc", "auprc", "f_measure"):
        assert abs(getattr(theirs, m) - getattr(s.scores, m)) < 1e-6, m


def test_an_int8_nncf_cannot_make_says_why_in_one_line(world, tmp_path):
    import torch

    from ecgbench.export.brought import Int8Unavailable

    m = TinyCNN(classes=2, seed=8)
    with pytest.warns(Warning):  # an old opset, as an old exporter would write it
        torch.onnx.export(
            m,
            (torch.zeros(1, 12, 5000),),
            str(tmp_path / "op9.onnx"),
            dynamo=False,
            opset_version=9,
        )
    zoo = Zoo(tmp_path / "zoo")
    add_brought(zoo, tmp_path / "op9.onnx", write_card(tmp_path / "c.toml", classes=(AF, NSR)))
    o = opts_for(world, world["data500"])
    with pytest.raises(
        Int8Unavailable, match=r"NNCF cannot make an INT8 ONNX of op9: .*opset"
    ) as e:
        export_models(["op9"], ["onnx"], ["int8"], o, zoo)
    assert "\n" not in str(e.value)
    logs: list[str] = []
    plan = Suite(
        models=("op9",),
        backends=("onnxruntime",),
        precisions=("fp32", "int8"),
        duration=0.05,
        min_iters=5,
        warmup=0.01,
    )
    doc = run_plan(
        plan, RunOptions(export=o, use_store=False, show_progress=False), zoo, logs.append
    )
    assert [r.precision for r in doc.rows] == ["fp32"]  # the run goes on without it, and says why
    assert any("skipped[/] op9 onnxruntime int8: NNCF cannot make" in m for m in logs)
