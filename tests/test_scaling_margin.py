"""The answer rule cannot pick absurdities: a gain smaller than one record's worth of score never
buys a variant 35x slower, with or without paired replicates; overlapping unpaired intervals tie;
a faster variant distinguishably worse still loses; zoo models never timed are named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers_scaling import cli
from test_metrics_ties import reps, zoo_with

from ecgbench.accuracy.replicates import put_replicates
from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.schema import Accuracy, Footprint, Latency, ResultRow, Throughput
from ecgbench.bench.store.database import append_to_store

MODEL = "convnext1d_femto"
N_RECORDS = 230
NOISE = np.random.default_rng(3).normal(0.0, 0.03, 1000)


def _row(backend: str, ms: float, score: float) -> ResultRow:
    lat = Latency(
        samples_ns=[int(ms * 1e6)], n=1, median_ms=ms, mean_ms=ms, p90_ms=ms, p99_ms=ms,
        min_ms=ms, iqr_ms=0.0,
    )  # fmt: skip
    return ResultRow(
        model=MODEL,
        backend=backend,
        device="CPU",
        precision="bf16",
        executed="bf16",
        scenario="latency",
        batch=1,
        input_shape=[1, 12, 5000],
        artifact="-",
        latency=lat,
        throughput=Throughput(fps=1e3 / ms),
        accuracy=Accuracy(challenge_score=score, auroc=0.85),
        footprint=Footprint(compile_ms=1.0, first_infer_ms=1.0, flops=10**8),
    )


def setup(tmp_path: Path, ov: float, ov_ci: tuple[float, float], replicates: bool) -> Path:
    """A store with femto on OpenVINO (2.224 ms) and torch (78.166 ms, score 0.4501), a zoo
    whose manifest holds both scores and intervals (and, with ``replicates``, tight pairs)."""
    torch_score = 0.4501
    store = tmp_path / "store"
    doc = RunDocument(
        fingerprint={"machine_id": "m1", "cpu_model": "test"},
        rows=[_row("openvino", 2.224, ov), _row("torch", 78.166, torch_score)],
        complete=True,
    )
    append_to_store(doc, store)
    zoo_dir = tmp_path / "zoo"
    z = zoo_with(zoo_dir, MODEL, "convnext1d_atto")
    z.entries[MODEL].variants = {
        f"{b}-bf16@bf16": {
            "backend": b,
            "precision": "bf16",
            "executed": "bf16",
            "n_records": N_RECORDS,
            "challenge_score": s,
            "challenge_score_ci95": list(ci),
        }
        for b, s, ci in (("openvino", ov, ov_ci), ("torch", torch_score, (0.39, 0.51)))
    }
    z.save()
    if replicates:  # the two agree on almost every record: their difference is tight, not 0
        for b, s in (("openvino", ov), ("torch", torch_score)):
            put_replicates(z, MODEL, f"{b}-bf16@bf16", reps(s + NOISE, s))
    return store


def answers(tmp_path: Path, store: Path, *extra: str) -> tuple[list[dict], str]:
    out = tmp_path / "a.json"
    text = cli(
        "recommend", "--store", store, "--precision", "bf16", "--budget-ms", "5",
        "--budget-ms", "100", "--json", out, *extra,
    )  # fmt: skip
    return json.loads(out.read_text())["answers"], " ".join(text.split())


@pytest.mark.parametrize("replicates", [True, False])
def test_a_tiny_gain_never_buys_a_variant_35x_slower(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replicates: bool
) -> None:
    monkeypatch.setenv("ECGBENCH_ZOO", str(tmp_path / "zoo"))
    monkeypatch.setenv("COLUMNS", "250")
    store = setup(tmp_path, 0.4500, (0.39, 0.51), replicates)
    got, text = answers(tmp_path, store)
    assert [(a["model"], a["backend"]) for a in got] == [(MODEL, "openvino")] * 2, text
    assert got[1]["best"]["backend"] == "torch" and got[1]["ties"] == "known"
    assert f"--min-score-gain {1 / N_RECORDS:.4f} (one record's worth of score on 230" in text
    assert "convnext1d_atto" in text and "not timed in" in text  # never timed in this store
    if replicates:  # the paired interval calls the 0.0001 significant: only the margin ties it
        (basis,) = {t["basis"] for t in got[1]["tied"]}
        assert basis == "below the margin"
        lo, hi = got[1]["tied"][0]["best_minus_this"]["ci"]
        assert 0 < lo <= hi < 1 / N_RECORDS
        strict, _ = answers(tmp_path, store, "--min-score-gain", "0")
        assert strict[1]["backend"] == "torch"  # without a margin: the absurd answer
    else:  # no replicates: the overlapping 95 % intervals tie them
        strict, _ = answers(tmp_path, store, "--min-score-gain", "0")
        assert strict[1]["backend"] == "openvino"
        assert {t["basis"] for t in strict[1]["tied"]} == {"intervals overlap"}


def test_a_faster_variant_distinguishably_worse_still_loses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECGBENCH_ZOO", str(tmp_path / "zoo"))
    store = setup(tmp_path, 0.30, (0.25, 0.35), replicates=False)
    got, _ = answers(tmp_path, store)
    assert [a["backend"] for a in got] == ["openvino", "torch"]
