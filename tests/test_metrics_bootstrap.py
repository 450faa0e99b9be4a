"""Bootstrap intervals over records: the fast path against the official scoring of every resample,
the cases whose interval is known, paired drops, and ``ecgbench evaluate`` with its intervals."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import AF, NSR, synthetic_uv, write_challenge_record
from helpers_export import TinySession
from typer.testing import CliRunner

from ecgbench.accuracy.replicates import load_replicates
from ecgbench.cli import app
from ecgbench.data.classes import SCORED_CLASSES, Weights
from ecgbench.errors import BadInputError
from ecgbench.metrics.bootstrap import (
    bootstrap_scores,
    paired_drop,
    resample_indices,
    resampled_scores,
)
from ecgbench.metrics.challenge import compute_auc, compute_challenge_metric
from ecgbench.metrics.ties import paired_difference
from ecgbench.scaling.recommend import zoo_fp32_scores
from ecgbench.zoo import Zoo

C = len(SCORED_CLASSES)
NORMAL = SCORED_CLASSES.index(NSR)


def weights(nan_entry: bool = False) -> Weights:
    m = np.full((C, C), 0.1) + 0.9 * np.eye(C)
    if nan_entry:
        m[2, 3] = np.nan  # the official nansum skips it
    return Weights(tuple(SCORED_CLASSES), m)


def outputs(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels with the awkward classes (one positive, none, all positive) and tied probabilities."""
    rng = np.random.default_rng(seed)
    y = rng.random((n, C)) < 0.15
    y[:, NORMAL] = rng.random(n) < 0.5
    y[:, 1] = False
    y[0, 1] = True  # one positive: absent from about a third of the resamples
    y[:, 2] = False  # no positive: never defined
    y[:, 3] = True  # no negative: never defined
    probs = np.round(np.clip(0.35 * y + 0.65 * rng.random((n, C)), 0, 1), 1)  # many ties
    return y, probs >= 0.5, probs


def official_resamples(
    y: np.ndarray, b: np.ndarray, p: np.ndarray, w: Weights, idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The slow reference: the official scoring called on every resample's records."""
    cs = [compute_challenge_metric(w.matrix, y[i], b[i], w.classes) for i in idx]
    auroc = [compute_auc(y[i], p[i])[0] for i in idx]
    return np.array(cs), np.array(auroc)


def interval(values: np.ndarray) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    return tuple(np.percentile(v, [2.5, 97.5]))  # type: ignore[return-value]


# --------------------------------------------------------------------------- against the official
@pytest.mark.parametrize("nan_entry", [False, True])
def test_every_resample_scores_as_the_official_code(nan_entry: bool) -> None:
    y, b, p = outputs()
    w = weights(nan_entry)
    idx = resample_indices(len(y), 300, seed=3)
    cs, auroc = resampled_scores(y, b, p, w, idx)
    ref_cs, ref_auroc = official_resamples(y, b, p, w, idx)
    np.testing.assert_allclose(cs, ref_cs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(auroc, ref_auroc, rtol=0, atol=1e-12)


def test_interval_is_the_percentile_range_of_the_official_resample_scores() -> None:
    y, b, p = outputs(seed=1)
    w = weights()
    got = bootstrap_scores(y, b, p, w, n_boot=200, seed=5)
    ref_cs, ref_auroc = official_resamples(y, b, p, w, resample_indices(len(y), 200, seed=5))
    assert got.challenge_score.point == compute_challenge_metric(w.matrix, y, b, w.classes)
    assert got.auroc.point == compute_auc(y, p)[0]
    assert (got.challenge_score.lo, got.challenge_score.hi) == pytest.approx(interval(ref_cs))
    assert (got.auroc.lo, got.auroc.hi) == pytest.approx(interval(ref_auroc))
    for iv in (got.challenge_score, got.auroc):
        assert iv.lo < iv.point < iv.hi


def test_nan_probabilities_score_as_the_official_quirk() -> None:
    y, b, p = outputs(seed=2)
    p[4, 0] = np.nan  # the official sweep counts no record: AUROC 0 where the class is defined
    idx = resample_indices(len(y), 50, seed=0)
    _, auroc = resampled_scores(y, b, p, weights(), idx)
    np.testing.assert_allclose(auroc, official_resamples(y, b, p, weights(), idx)[1], atol=1e-12)


# --------------------------------------------------------------------------- known intervals
def test_a_perfect_classifier_has_a_zero_width_interval_at_one() -> None:
    y, _, _ = outputs(seed=4)
    got = bootstrap_scores(y, y, y.astype(float), weights())
    for iv in (got.challenge_score, got.auroc):
        assert (iv.point, iv.lo, iv.hi) == (1.0, 1.0, 1.0)


def test_tied_probabilities_give_auroc_one_half_in_every_resample() -> None:
    y, b, _ = outputs(seed=5)
    got = bootstrap_scores(y, b, np.full(y.shape, 0.3), weights())
    assert (got.auroc.point, got.auroc.lo, got.auroc.hi) == pytest.approx((0.5, 0.5, 0.5))


def test_undefined_scores_give_undefined_intervals_without_warnings() -> None:
    # Every record normal only: no class has both a positive and a negative (AUROC undefined), and
    # perfect and always-normal earn the same reward (the official Challenge score is then 0).
    y = np.zeros((12, C), dtype=bool)
    y[:, NORMAL] = True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = bootstrap_scores(y, y, np.full(y.shape, 0.6), weights(), n_boot=100)
    assert (got.challenge_score.point, got.challenge_score.lo, got.challenge_score.hi) == (0, 0, 0)
    assert np.isnan(got.auroc.point) and np.isnan(got.auroc.lo) and np.isnan(got.auroc.hi)
    assert got.auroc.bounds() is None and got.challenge_score.bounds() == [0.0, 0.0]


def test_a_seed_fixes_the_interval() -> None:
    y, b, p = outputs(seed=6)
    first = bootstrap_scores(y, b, p, weights(), n_boot=200, seed=11)
    assert bootstrap_scores(y, b, p, weights(), n_boot=200, seed=11) == first
    assert bootstrap_scores(y, b, p, weights(), n_boot=200, seed=12) != first


def test_bad_settings_and_shapes_are_bad_input() -> None:
    y, b, p = outputs(n=10)
    with pytest.raises(BadInputError):
        bootstrap_scores(y, b, p, weights(), n_boot=0)
    with pytest.raises(BadInputError):
        bootstrap_scores(y, b, p, weights(), level=1.0)
    with pytest.raises(BadInputError):
        bootstrap_scores(y, b[:5], p, weights())
    with pytest.raises(BadInputError):
        resampled_scores(y, b, p[:, :3], weights(), resample_indices(10, 5, 0))


# --------------------------------------------------------------------------- paired drops
def test_identical_variants_tie_with_a_zero_width_interval() -> None:
    y, b, p = outputs(seed=7)
    for d in paired_drop(y, b, p, b.copy(), p.copy(), weights()):
        assert (d.point, d.lo, d.hi) == (0.0, 0.0, 0.0)
        assert not d.distinguishable and d.verdict == "tie"


def test_a_variant_that_flips_many_decisions_drops_distinguishably() -> None:
    y, b, p = outputs(n=120, seed=8)
    rng = np.random.default_rng(0)
    flip = rng.random(y.shape) < 0.3
    worse_b, worse_p = b ^ flip, np.where(flip, 1.0 - p, p)
    cs, auroc = paired_drop(y, b, p, worse_b, worse_p, weights())
    assert cs.metric == "challenge_score" and auroc.metric == "auroc"
    for d in (cs, auroc):
        assert d.distinguishable and d.verdict == "drop" and 0 < d.lo <= d.point <= d.hi
    gain = paired_drop(y, worse_b, worse_p, b, p, weights())[0]
    assert gain.verdict == "gain" and gain.hi < 0


def test_paired_interval_resamples_both_variants_on_the_same_records() -> None:
    y, b, p = outputs(seed=9)
    rng = np.random.default_rng(1)
    flip = rng.random(y.shape) < 0.05
    b2, p2 = b ^ flip, np.clip(p + 0.05 * rng.standard_normal(p.shape), 0, 1)
    w = weights()
    cs, auroc = paired_drop(y, b, p, b2, p2, w, n_boot=200, seed=4)
    idx = resample_indices(len(y), 200, seed=4)
    ref_a, ref_b = official_resamples(y, b, p, w, idx), official_resamples(y, b2, p2, w, idx)
    assert (cs.lo, cs.hi) == pytest.approx(interval(ref_a[0] - ref_b[0]))
    assert (auroc.lo, auroc.hi) == pytest.approx(interval(ref_a[1] - ref_b[1]))
    assert cs.point == pytest.approx(
        compute_challenge_metric(w.matrix, y, b, w.classes)
        - compute_challenge_metric(w.matrix, y, b2, w.classes)
    )


# --------------------------------------------------------------------------- ecgbench evaluate
DX = ([NSR], [AF], [NSR, "59118001"], ["164890007"], [AF, "164934002"], ["164889003"])


def write_labelled_records(d: Path, n: int = 30) -> None:
    """10 s records at 100 Hz (the tiny model's input) with a mix of scored diagnoses."""
    for i in range(n):
        sig = synthetic_uv(fs=100, seconds=10.0, rate_hz=0.8 + 0.07 * i, seed=200 + i)
        write_challenge_record(d, f"L{i:03d}", sig, fs=100, dx=DX[i % len(DX)])


def evaluate(*args: object) -> str:
    result = CliRunner().invoke(app, ["evaluate", *map(str, args)])
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == 0 and result.exception is None, result.output
    return " ".join(result.output.replace("│", " ").split())


def check_intervals(doc: dict) -> None:
    for metric in ("challenge_score", "auroc"):
        lo, hi = doc[f"{metric}_ci95"]
        assert lo <= doc[metric] <= hi, (metric, doc)
    assert doc["bootstrap"] == {"resamples": 200, "seed": 3}


def test_evaluate_reports_intervals_and_the_paired_drop_against_fp32(
    tiny: TinySession,
    weights_csv: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "records"
    write_labelled_records(data)
    zoo_dir = tmp_path / "zoo"
    Zoo(zoo_dir).add(tiny.ckpt)  # same checkpoint: the session's exports are cache hits
    monkeypatch.setenv("ECGBENCH_ZOO", str(zoo_dir))
    monkeypatch.setenv("ECGBENCH_QUIET", "1")
    monkeypatch.setenv("COLUMNS", "240")
    out = tmp_path / "scores.json"
    text = evaluate(
        "--model",
        tiny.ckpt.stem,
        "--data",
        data,
        "--backend",
        "openvino",
        "--precision",
        "fp16,fp32",  # FP32 last: the FP16 variant waits for it
        "--weights",
        weights_csv,
        "--cache-dir",
        tiny.cache,
        "--bootstrap",
        200,
        "--seed",
        3,
        "--json",
        out,
        "--zoo",
    )
    assert "challenge [95% CI]" in text and "drop against FP32 (paired bootstrap)" in text
    fp16, fp32 = json.loads(out.read_text())
    assert (fp16["precision"], fp32["precision"]) == ("fp16", "fp32")
    for doc in (fp16, fp32):
        assert doc["n_records"] == 30
        check_intervals(doc)
    assert "drop_vs_fp32" not in fp32
    drops = fp16["drop_vs_fp32"]
    assert set(drops) == {"challenge_score", "auroc"}
    for metric, d in drops.items():
        lo, hi = d["ci95"]
        assert lo <= d["point"] <= hi and d["distinguishable"] == (lo > 0 or hi < 0)
        assert d["point"] == pytest.approx(fp32[metric] - fp16[metric], abs=1e-12)

    # the manifest keeps the intervals and the drop, and its readers still read it
    entry = Zoo(zoo_dir).get(tiny.ckpt.stem)
    stored = entry.scores_for("openvino", "fp16", fp16["executed"])
    assert stored["challenge_score_ci95"] == fp16["challenge_score_ci95"]
    assert stored["drop_vs_fp32"] == drops
    assert zoo_fp32_scores(Zoo(zoo_dir)) == {tiny.ckpt.stem: fp32["challenge_score"]}
    listing = CliRunner().invoke(app, ["zoo", "list", "--zoo-dir", str(zoo_dir)])
    assert listing.exit_code == 0, listing.output

    # the sidecar keeps each variant's replicates: the FP16 drop is recomputable without records
    reps = load_replicates(Zoo(zoo_dir))
    key16 = (tiny.ckpt.stem, f"openvino-fp16@{fp16['executed']}")
    key32 = (tiny.ckpt.stem, f"openvino-fp32@{fp32['executed']}")
    assert set(reps) == {key16, key32}
    r16, r32 = reps[key16], reps[key32]
    assert (r16.seed, r16.n_records, r16.n_boot, r16.point) == (3, 30, 200, fp16["challenge_score"])
    assert r16.records_sha256 == r32.records_sha256
    d = paired_difference(r32, r16)
    want = drops["challenge_score"]
    assert [d.lo, d.hi] == pytest.approx(want["ci95"], abs=1e-6)
    assert d.point == pytest.approx(want["point"]) and d.tie == (not want["distinguishable"])
    assert r16.interval() == pytest.approx(fp16["challenge_score_ci95"], abs=1e-6)


def test_evaluate_without_bootstrap_has_no_intervals(
    tiny: TinySession, weights_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "records"
    write_labelled_records(data, n=8)
    monkeypatch.setenv("ECGBENCH_ZOO", str(tmp_path / "no_zoo"))
    monkeypatch.setenv("ECGBENCH_QUIET", "1")
    out = tmp_path / "scores.json"
    text = evaluate(
        "--model",
        tiny.ckpt,
        "--data",
        data,
        "--weights",
        weights_csv,
        "--bootstrap",
        0,
        "--json",
        out,
    )
    doc = json.loads(out.read_text())
    assert "95% CI" not in text and "drop against FP32" not in text
    assert not {"challenge_score_ci95", "auroc_ci95", "bootstrap", "drop_vs_fp32"} & set(doc)


def test_a_drop_is_read_against_an_accuracy_target_with_its_interval() -> None:
    from ecgbench.metrics.bootstrap import PairedDrop

    inside = PairedDrop("challenge_score", 0.004, -0.002, 0.009, distinguishable=False)
    assert inside.verdict == "tie" and inside.against(0.01) == "within"
    straddle = PairedDrop("challenge_score", 0.009, 0.002, 0.016, distinguishable=True)
    assert straddle.verdict == "drop" and straddle.against(0.01) == "undecided"
    assert PairedDrop("challenge_score", 0.03, 0.02, 0.04, True).against(0.01) == "over"
