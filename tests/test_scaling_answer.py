"""The answer that knows ties: among variants tied with the best score, the faster (then smaller)
one; unknown ties said, never ranked silently; the ``recommend`` command and its JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_scaling import cli
from test_metrics_ties import reps, zoo_with
from test_scaling_recommend import store_rows, write_store_rows

from ecgbench.accuracy.replicates import put_replicates
from ecgbench.scaling.answer import UNKNOWN
from ecgbench.scaling.recommend import budget_table, recommend

NOISE = np.random.default_rng(0).normal(0.0, 0.02, 1000)  # what all variants share: the records
KEY = "openvino-int8@int8+f32"


def cand(model: str, score: float, ms: float, flops: float, source: str = "zoo") -> dict:
    return {
        "model": model,
        "backend": "openvino",
        "device": "CPU",
        "precision": "int8",
        "executed": "int8+f32" if source == "zoo" else None,
        "median_ms": ms,
        "flops": flops,
        "params": flops / 100,
        "challenge_score": score,
        "auroc": 0.9,
        "latency": "measured",
        "source": source,
        "score_drop": np.nan,
    }


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            cand("best", 0.60, 4.0, 1e8),
            cand("fast", 0.59, 1.0, 1e7),  # tied with best, faster
            cand("fast-small", 0.59, 1.0, 5e6),  # as fast, smaller: the answer
            cand("poor", 0.40, 0.5, 1e6),  # distinguishably worse
            cand("trial 3", 0.58, 0.8, 2e6, source="sweep"),  # no replicates
        ]
    )


def replicate_set() -> dict:
    rng = np.random.default_rng(1)
    own = {"best": 0.60, "fast": 0.59, "fast-small": 0.59, "poor": 0.40}
    return {
        (m, KEY): reps(s + NOISE + rng.normal(0.0, 0.005, NOISE.size), s) for m, s in own.items()
    }


def test_the_fastest_then_smallest_of_the_tied_set_is_the_answer() -> None:
    a = recommend(frame(), 5.0, replicate_set())
    assert a is not None and a.ties_known
    assert a.best["model"] == "best" and a.choice["model"] == "fast-small"
    tied = {t.label: t.difference for t in a.tied}
    assert set(tied) == {"fast openvino int8+f32", "fast-small openvino int8+f32"}
    for d in tied.values():
        assert d.lo <= 0.0 <= d.hi and d.point == pytest.approx(0.01)
    assert a.unpaired == ["trial 3 openvino"]  # a sweep trial: never ranked silently
    lo, hi = a.score_ci  # the answer's own interval, from its replicates
    assert lo < 0.59 < hi and hi - lo == pytest.approx(4 * 0.02 * 0.98, rel=0.15)
    text = a.tie_text()
    assert text.startswith("best openvino int8+f32 (best 0.600, best − answer +0.010 [")
    assert "; fast openvino int8+f32 0.590, best − it +0.010 [" in text
    assert "unknown for trial 3 openvino (no paired replicates)" in text
    doc = json.loads(json.dumps(a.to_dict()))  # JSON as it stands
    assert doc["model"] == "fast-small" and doc["best"]["model"] == "best"
    assert doc["ties"] == "known" and len(doc["tied"]) == 2
    assert doc["challenge_score_ci"] == pytest.approx(list(a.score_ci))


def test_without_replicates_ties_are_unknown_and_the_best_score_answers() -> None:
    for replicates in (None, {}):
        a = recommend(frame(), 5.0, replicates)
        assert a is not None and not a.ties_known and a.choice["model"] == "best"
        assert a.tie_text() == UNKNOWN and a.score_ci is None and a.score_text() == "0.600"
    a = recommend(frame(), 0.9, replicate_set())  # the best under 0.9 ms is the sweep trial
    assert a.choice["model"] == "trial 3" and a.tie_text() == UNKNOWN


def test_stale_or_unpaired_replicates_are_not_compared() -> None:
    r = replicate_set()
    r[("fast", KEY)] = reps(r[("fast", KEY)].values, 0.55)  # made for another score: stale
    r[("fast-small", KEY)] = reps(r[("fast-small", KEY)].values, 0.59, seed=9)  # other draws
    a = recommend(frame(), 5.0, r)
    assert a.choice["model"] == "best" and a.tied == []
    assert set(a.unpaired) == {
        "fast openvino int8+f32",
        "fast-small openvino int8+f32",
        "trial 3 openvino",
    }
    assert a.tie_text().startswith("none; unknown for")


def test_a_worse_variant_is_not_tied_even_when_faster() -> None:
    a = recommend(frame()[lambda d: d["model"].isin(["best", "poor"])], 5.0, replicate_set())
    assert a.choice["model"] == "best" and a.tied == [] and a.tie_text() == "none"


def tied_zoo(tmp_path: Path) -> Path:
    """A zoo whose sidecar ties 'large' (best under 10 ms) with 'medium' and 'medium-twin'."""
    zoo_dir = tmp_path / "zoo"
    z = zoo_with(zoo_dir, "medium", "medium-twin", "large")
    rng = np.random.default_rng(2)
    for m, s in (("medium", 0.55), ("medium-twin", 0.55), ("large", 0.60)):
        own = rng.normal(0.0, 0.05, NOISE.size)  # disagreements of ±0.05: 0.05 apart is a tie
        put_replicates(z, m, KEY, reps(s + NOISE + own, s))
    return zoo_dir


def test_budget_table_names_the_tie_set(tmp_path: Path) -> None:
    from ecgbench.accuracy.replicates import load_replicates
    from ecgbench.zoo import Zoo

    rows = store_rows()
    rows = rows[rows["backend"] == "openvino"].assign(executed="int8+f32")
    t = budget_table(rows, [1.0, 10.0], replicates=load_replicates(Zoo(tied_zoo(tmp_path))))
    r = t[(t["precision"] == "int8") & (t["budget_ms"] == 10.0)].iloc[0]
    assert r["model"] == "medium" and r["score_ci"].startswith("0.550 [")
    assert r["tied_with"].startswith("large openvino int8+f32 (best 0.600, best − answer +0.050 [")
    assert "]); medium-twin openvino int8+f32 0.550, best − it +0.050 [" in r["tied_with"]
    assert "unknown for small openvino int8+f32" in r["tied_with"]
    fp32 = t[(t["precision"] == "fp32")].iloc[0]
    assert fp32["model"] == "ghost-fp32" and fp32["tied_with"] == UNKNOWN


def test_recommend_command_prints_and_writes_the_tie_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECGBENCH_ZOO", str(tied_zoo(tmp_path)))
    monkeypatch.setenv("COLUMNS", "250")
    store, out = tmp_path / "store", tmp_path / "answer.json"
    write_store_rows(store)
    args = ("recommend", "--store", store, "--backend", "openvino", "--json", out)
    text = cli(*args, "--budget-ms", "0.05", "--budget-ms", "0.5", "--budget-ms", "10")
    lines = [" ".join(ln.replace("│", " ").split()) for ln in text.splitlines()]
    assert any(ln.startswith("10 medium openvino 0.796 measured 0.550 [") for ln in lines), text
    assert any(ln.startswith("0.5 small openvino") and UNKNOWN in ln for ln in lines), text
    assert "large openvino int8+f32 (best 0.600, best − answer +0.050" in text
    doc = json.loads(out.read_text())
    assert (doc["device"], doc["precision"]) == ("CPU", "int8")
    nothing, small, ten = doc["answers"]
    assert nothing == {"budget_ms": 0.05, "model": None}
    assert small["model"] == "small" and small["ties"] == "unknown"
    assert ten["model"] == "medium" and ten["best"]["model"] == "large" and ten["ties"] == "known"
    assert {t["variant"] for t in ten["tied"]} == {
        "medium openvino int8+f32",
        "medium-twin openvino int8+f32",
    }
    for t in ten["tied"]:
        lo, hi = t["best_minus_this"]["ci"]
        assert lo <= 0 <= hi and t["best_minus_this"]["point"] == pytest.approx(0.05)


def test_a_broken_replicates_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zoo_dir = tied_zoo(tmp_path)
    (zoo_dir / "score-replicates.npz").write_text("truncated")
    monkeypatch.setenv("ECGBENCH_ZOO", str(zoo_dir))
    write_store_rows(tmp_path / "store")
    text = cli("recommend", "--store", tmp_path / "store", code=2)
    assert "not a readable replicates file" in text
