"""Preprocessing a stream can run (data/causal.py, data/fir.py): verified against scipy's own
filters on records the tests write, timed per window in the stream scenario, and scored against
the zero-phase pipeline with ``ecgbench stream-accuracy`` on a shipped model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import AF, NSR, write_challenge_record
from helpers_accuracy_guard import copy_zoo
from helpers_export import TinySession
from scipy import signal as sps
from typer.testing import CliRunner

from ecgbench.bench.runner import RunOptions, run_plan
from ecgbench.bench.scenarios.stream.config import StreamConfig
from ecgbench.bench.suite import Suite
from ecgbench.card import Step
from ecgbench.cli import app
from ecgbench.data.causal import CausalPreprocessor, causal_signal, check_streamable, pp_steps
from ecgbench.data.fir import WAVEFORM_TOLERANCE, design_fir, fir_error, fir_taps
from ecgbench.data.preprocess import Preprocessing, _bandpass_sos, bandpass, zscore
from ecgbench.data.records import read_record
from ecgbench.errors import BadInputError
from ecgbench.zoo import Zoo

PP = Preprocessing()  # the zoo's: 500 Hz, 1-47 Hz order 3, 10 s
STEPS = pp_steps(PP)
# The FIR's stated error (fir_error, 2 s of taps at 500 Hz) bounds how far its output may be from
# the zero-phase one: the test holds it to that, on the signal's own scale.
FIR_PASSBAND_ERROR = 0.02


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("causal_records")
    for i in range(12):
        write_challenge_record(
            d, f"C{i:02d}", fs=500, seconds=10.0, seed=i, dx=[AF if i % 3 else NSR]
        )
    return d


def _signal(records: Path, name: str = "C00") -> np.ndarray:
    return read_record(records / name).signal


@pytest.mark.parametrize("mode", ["iir", "fir"])
def test_a_stream_hop_by_hop_is_one_pass_over_the_signal(records: Path, mode: str) -> None:
    x = _signal(records)
    whole = causal_signal(x, 500, STEPS, 500, 5000, 5000, mode)
    for hop in (1, 7, 250, 1000):
        assert np.array_equal(causal_signal(x, 500, STEPS, 500, 5000, hop, mode), whole), hop


def test_iir_is_scipys_forward_butterworth_then_the_windows_zscore(records: Path) -> None:
    x = _signal(records).astype(np.float64)
    sos = _bandpass_sos(500.0, 1.0, 47.0, 3)
    zi = sps.sosfilt_zi(sos)[:, None, :] * x[None, :, :1]
    want = zscore(sps.sosfilt(sos, x, axis=-1, zi=zi)[0].astype(np.float32))
    got = causal_signal(x, 500, STEPS, 500, 5000, 500, "iir")
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_fir_is_the_zero_phase_filter_delayed_within_its_stated_tolerance(records: Path) -> None:
    h = design_fir(STEPS, 500.0, fir_taps(500.0))
    err = fir_error(h, STEPS, 500.0)
    assert err.taps % 2 == 1 and err.delay_s == pytest.approx(1.0, abs=1e-3)
    assert err.passband <= FIR_PASSBAND_ERROR and err.stopband <= 0.01, err.summary()
    band = STEPS[:1]  # the filter alone: the z-score's window differs by design
    for name in ("C00", "C01", "C02"):
        x = _signal(records, name)
        zero = bandpass(x, 500.0, (1.0, 47.0), 3)  # scipy's sosfiltfilt
        p = CausalPreprocessor(band, 500.0, 5000, mode="fir")
        p.push(x)
        got = p.window()
        d = round(p.delay_s * 500)
        # away from both ends (the start-up, and sosfiltfilt's own edge padding) the waveform
        # is the zero-phase one, d samples late
        a, b = got[:, d + 1000 : -1000], zero[:, 1000 : -1000 - d]
        rel = float(np.sqrt(np.mean((a - b) ** 2)) / np.sqrt(np.mean(b**2)))
        assert rel <= WAVEFORM_TOLERANCE, (name, rel)
        assert min(np.corrcoef(a[i], b[i])[0, 1] for i in range(12)) > 0.995


def test_steps_without_a_causal_form_are_one_line() -> None:
    with pytest.raises(BadInputError, match="has no causal form"):
        check_streamable((Step("median_baseline", (250.0,)), Step("zscore")))
    with pytest.raises(BadInputError, match="a filter after zscore cannot stream"):
        check_streamable((Step("zscore"), Step("highpass", (0.5, 2.0))))
    with pytest.raises(BadInputError, match="must come first"):
        check_streamable((Step("clip", (-5, 5)), Step("highpass", (0.5, 2.0))), mode="fir")
    with pytest.raises(BadInputError, match="unknown causal mode"):
        check_streamable(STEPS, mode="iirr")
    with pytest.raises(BadInputError, match="--stream-preprocess"):
        StreamConfig(preprocess="always").validate()


def test_the_stream_times_its_causal_preprocessing_per_window(
    tiny: TinySession, tmp_path: Path
) -> None:
    plan = Suite(
        models=(str(tiny.ckpt),),
        backends=("openvino",),
        threads=1,
        scenario="stream",
        warmup=0.05,
        stream=StreamConfig(seconds=1.0, hop_s=0.25, preprocess="fir"),
    )
    opts = RunOptions(export=tiny.opts(), use_store=False, show_progress=False)
    logs: list[str] = []
    doc = run_plan(plan, opts, zoo=Zoo(tmp_path / "no_zoo"), log=logs.append)
    (r,) = doc.rows
    s = r.stream
    assert s is not None and s.preprocess == "fir"
    assert len(s.preprocess_ns) == s.processed == len(s.service_ns) > 0
    # the preprocessing is part of each window's service, call by call
    assert all(0 < p < t for p, t in zip(s.preprocess_ns, s.service_ns, strict=True))
    assert s.preprocess_median_ms == pytest.approx(np.median(s.preprocess_ns) / 1e6)
    assert any("fir preprocessing" in m for m in logs), logs


def test_stream_accuracy_scores_both_causal_paths_against_zero_phase(
    records: Path, weights_csv: Path, tmp_path: Path
) -> None:
    root = copy_zoo(tmp_path / "z", "convnext1d_atto")
    out = tmp_path / "sa.json"
    env = {"ECGBENCH_ZOO": str(root / "models"), "ECGBENCH_WEIGHTS": str(weights_csv)}
    args = ["stream-accuracy", "--model", "convnext1d_atto", "--data", str(records)]
    res = CliRunner().invoke(app, [*args, "--bootstrap", "200", "--json", str(out)], env=env)
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "against zero-phase" in said and "fir" in said and "iir" in said
    rows = {r["mode"]: r for r in json.loads(out.read_text())}
    assert set(rows) == {"fir", "iir"}
    for r in rows.values():
        assert r["n_records"] == 12 and 0.0 <= r["agreement"] <= 1.0
        assert r["metric"] == "challenge_score" and r["drop_lo"] <= r["drop"] <= r["drop_hi"]
        assert r["verdict"] in ("tie", "drop", "gain")
    # the FIR keeps the zero-phase waveform (delayed): it moves the outputs less than the IIR
    assert rows["fir"]["max_abs_delta"] < rows["iir"]["max_abs_delta"]
    for bad, says in (
        (["--hop-s", "0"], "--hop-s"),
        (["--mode", "sometimes"], "unknown --mode"),
        (["--backend", "onnxruntime", "--precision", "bf16"], "does not run bf16"),
    ):
        res = CliRunner().invoke(app, [*args, *bad], env=env)
        assert res.exit_code == 2 and says in res.stderr, (bad, res.output)
    res = CliRunner().invoke(app, [*args[:3], "nope", "--data", str(records)], env=env)
    assert res.exit_code == 2 and "nope" in res.stderr


def test_unlabelled_records_score_nothing_but_still_compare_decisions(
    weights_csv: Path, tmp_path: Path
) -> None:
    """Where a labelled metric is asked for (``evaluate``), records without labels are one line;
    where decisions can be compared instead (``stream-accuracy``, the gate's guard), they are."""
    d = tmp_path / "unlabelled"
    for i in range(4):
        write_challenge_record(d, f"U{i}", fs=500, seconds=10.0, seed=i, dx=[])
    root = copy_zoo(tmp_path / "z", "convnext1d_atto")
    env = {"ECGBENCH_ZOO": str(root / "models"), "ECGBENCH_WEIGHTS": str(weights_csv)}
    res = CliRunner().invoke(
        app, ["evaluate", "--model", "convnext1d_atto", "--backend", "openvino", "--data", str(d)],
        env=env,
    )  # fmt: skip
    assert res.exit_code == 2 and "carries a label" in res.stderr, res.output
    out = tmp_path / "sa.json"
    res = CliRunner().invoke(
        app,
        ["stream-accuracy", "--model", "convnext1d_atto", "--data", str(d), "--mode", "fir",
         "--json", str(out)],
        env=env,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    (r,) = json.loads(out.read_text())
    assert r["verdict"] == "unlabelled" and r["drop"] is None and 0 <= r["agreement"] <= 1
