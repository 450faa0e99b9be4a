"""The latency-budget recommendation: candidates, the runtime model, the ``recommend`` command."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_scaling import cli

from ecgbench.scaling.recommend import (
    budget_table,
    candidates,
    fit_runtime_model,
    nice_budgets,
    recommend,
)

B0, B1 = math.log(2e-6), 0.8  # latency_ms = 2e-6 * FLOPs^0.8 on the measured machine


def line_ms(flops: float) -> float:
    return math.exp(B0) * flops**B1


def store_rows() -> pd.DataFrame:
    def r(model, flops, score, created, **kw):
        base = {
            "model": model,
            "backend": "openvino",
            "device": "CPU",
            "precision": "int8",
            "scenario": "latency",
            "batch": 1,
            "median_ms": line_ms(flops),
            "p99_ms": 1.5 * line_ms(flops),
            "flops": flops,
            "challenge_score": score,
            "auroc": 0.9,
            "created": created,
        }
        return {**base, **kw}

    return pd.DataFrame(
        [
            r("medium-twin", 3e7, 0.55, "2026-01-02"),  # ties with medium, slower: listed first
            r("small", 1e6, 0.40, "2026-01-02"),
            r("medium", 1e7, 0.55, "2026-01-02"),
            r("large", 1e8, 0.60, "2026-01-02"),
            r("huge", 1e9, 0.70, "2026-01-02"),
            # an older run of "stale" was fast and scored; its latest run has no score
            r("stale", 3e9, 0.99, "2026-01-01", median_ms=0.05, p99_ms=0.06),
            r("stale", 3e9, np.nan, "2026-01-03", auroc=np.nan),
            # other devices, precisions, scenarios and batch sizes do not count
            r("ghost-gpu", 1e6, 0.99, "2026-01-02", device="GPU", median_ms=0.01),
            r("ghost-fp32", 1e6, 0.99, "2026-01-02", precision="fp32", median_ms=0.01),
            r("ghost-tput", 1e6, 0.99, "2026-01-02", scenario="throughput", median_ms=0.01),
            r("ghost-b8", 1e6, 0.99, "2026-01-02", batch=8, median_ms=0.01),
            # a second backend with one measured size: too little to fit a runtime model on
            r("small", 1e6, 0.40, "2026-01-02", backend="onnxruntime", median_ms=0.2),
        ]
    )


def test_recommend_picks_the_best_model_under_the_budget() -> None:
    c = candidates(store_rows(), "cpu", "int8", backend="openvino")
    assert sorted(c["model"]) == ["huge", "large", "medium", "medium-twin", "small", "stale"]
    assert (c["latency"] == "measured").all() and (c["source"] == "zoo").all()
    stale = c[c["model"] == "stale"].iloc[0]  # the latest run, whole: not mixed with older ones
    assert stale["median_ms"] == pytest.approx(line_ms(3e9)) and pd.isna(stale["challenge_score"])
    assert pd.isna(stale["auroc"])
    assert recommend(c, 0.05) is None  # nothing fits
    assert recommend(c, 0.2).choice["model"] == "small"
    assert recommend(c, 1.0).choice["model"] == "medium"
    assert recommend(c, 2.5).choice["model"] == "medium"  # tie with medium-twin: the faster wins
    assert recommend(c, 10.0).choice["model"] == "large"
    assert recommend(c, 1000.0).choice["model"] == "huge"  # "stale" has no score now
    with pytest.raises(Exception, match="no measured latency for NPU"):
        candidates(store_rows(), "NPU", "int8")


def test_trials_get_a_predicted_latency_from_the_runtime_model() -> None:
    rows = store_rows()
    on_line = rows["model"].isin(["small", "medium", "large", "huge"])
    rm = fit_runtime_model(rows[on_line & (rows["backend"] == "openvino")])
    assert rm is not None and (rm.b0, rm.b1) == pytest.approx((B0, B1))
    assert fit_runtime_model(rows[rows["model"] == "small"]) is None  # one size: no fit
    trials = pd.DataFrame(
        {
            "trial": [0, 1],
            "flops": [2e6, 5e8],
            "score": [0.5, 0.9],
            "test_challenge_score": [0.45, 0.80],
            "test_auroc": [0.7, 0.8],
        }
    )
    c = candidates(rows, "CPU", "int8", trials=trials)
    t = c[c["source"] == "sweep"].set_index("model")
    assert sorted(t.index) == ["trial 0", "trial 1"]
    assert set(t["backend"]) == {"openvino"}  # onnxruntime has one measured size
    assert t["latency"].str.startswith("predicted").all()
    for name, flops in (("trial 0", 2e6), ("trial 1", 5e8)):
        assert t.loc[name, "median_ms"] == pytest.approx(line_ms(flops), rel=1e-6)
    assert t.loc["trial 1", "challenge_score"] == 0.80  # the test score, not the validation one
    assert (c.loc[c["source"] == "zoo", "latency"] == "measured").all()
    best = recommend(c, 20.0).choice
    assert best["model"] == "trial 1" and best["latency"].startswith("predicted")
    assert recommend(c, 10.0).choice["model"] == "large"


def write_store_rows(store: Path) -> None:
    """``store_rows()`` as real runs in a results store: one run per creation date."""
    from ecgbench.bench.results.document import RunDocument
    from ecgbench.bench.results.schema import Accuracy, Footprint, Latency, ResultRow, Throughput
    from ecgbench.bench.store.database import append_to_store

    for created, g in store_rows().groupby("created"):
        rows = []
        for r in g.to_dict("records"):
            ms = r["median_ms"]
            lat = Latency(
                samples_ns=[int(ms * 1e6)],
                n=1,
                median_ms=ms,
                mean_ms=ms,
                p90_ms=ms,
                p99_ms=r["p99_ms"],
                min_ms=ms,
                iqr_ms=0.0,
            )
            acc = Accuracy(
                challenge_score=None if pd.isna(r["challenge_score"]) else r["challenge_score"],
                auroc=None if pd.isna(r["auroc"]) else r["auroc"],
            )
            rows.append(
                ResultRow(
                    model=r["model"],
                    backend=r["backend"],
                    device=r["device"],
                    precision=r["precision"],
                    scenario=r["scenario"],
                    batch=int(r["batch"]),
                    input_shape=[int(r["batch"]), 12, 5000],
                    artifact="-",
                    executed="int8+f32",
                    latency=lat,
                    throughput=Throughput(fps=1e3 / ms),
                    accuracy=acc,
                    footprint=Footprint(compile_ms=1.0, first_infer_ms=1.0, flops=int(r["flops"])),
                )
            )
        doc = RunDocument(
            fingerprint={"machine_id": "m1", "cpu_model": "test"},
            rows=rows,
            run_id=f"run-{created}",
            created=str(created),
            complete=True,
        )
        append_to_store(doc, store)


def test_recommend_command(tmp_path: Path) -> None:
    store = tmp_path / "store"
    write_store_rows(store)
    text = cli(
        "recommend",
        "--store",
        store,
        "--backend",
        "openvino",
        "--budget-ms",
        "0.05",
        "--budget-ms",
        "1",
        "--budget-ms",
        "10",
    )
    lines = [" ".join(ln.replace("│", " ").split()) for ln in text.splitlines()]
    assert any(ln.startswith("0.05 nothing fits") for ln in lines), text
    assert any(ln.startswith("1 medium openvino 0.796 measured 0.550") for ln in lines), text
    assert any(ln.startswith("10 large openvino 5.024 measured 0.600") for ln in lines), text


def test_accuracy_cost_and_budget_table() -> None:
    rows = store_rows()
    # an FP32 run of "medium" on CPU: the INT8 variant's cost is measured against it
    rows = pd.concat(
        [
            rows,
            pd.DataFrame(
                [{**rows.iloc[2].to_dict(), "precision": "fp32", "challenge_score": 0.57}]
            ),
        ],
        ignore_index=True,
    )
    c = candidates(rows, "CPU", "int8", backend="openvino", fp32_scores={"large": 0.66})
    drop = dict(zip(c["model"], c["score_drop"], strict=True))
    assert drop["medium"] == pytest.approx(0.02) and drop["large"] == pytest.approx(0.06)
    assert np.isnan(drop["small"])  # no FP32 score known: no cost claimed
    t = budget_table(rows[rows["backend"] == "openvino"], [0.05, 1.0, 10.0])
    got = {(r.device, r.precision, r.budget_ms): r.model for r in t.itertuples()}
    assert pd.isna(got[("CPU", "int8", 0.05)]) and got[("CPU", "int8", 1.0)] == "medium"
    assert got[("CPU", "int8", 10.0)] == "large" and got[("CPU", "fp32", 10.0)] == "ghost-fp32"
    assert got[("GPU", "int8", 10.0)] == "ghost-gpu"


def test_nice_budgets_span_the_measured_range() -> None:
    assert nice_budgets([1.6, 11.4]) == [2.0, 5.0, 10.0, 20.0]
    assert nice_budgets([0.15, 0.9]) == [0.2, 0.5, 1.0]
    assert nice_budgets([]) == [] and nice_budgets([float("nan")]) == []
