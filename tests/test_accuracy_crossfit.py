"""Cross-fitted thresholds: no record is decided by thresholds tuned on itself, the real tuner finds a
known optimum, the CLI refuses combinations that cannot be honest, and a real evaluation of the tiny
checkpoint (OpenVINO FP32) on folds 9+10 decides fold 10 with the shipped thresholds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import AF, NSR, synthetic_uv, write_dat_record, write_metadata
from helpers_export import TinySession
from typer.testing import CliRunner

from ecgbench.accuracy.crossfit import (
    apply_crossfit,
    check_crossfit_folds,
    crossfit_thresholds,
    fold_gap,
    parts_of,
)
from ecgbench.accuracy.evaluate import evaluate_variant
from ecgbench.checkpoint import load_checkpoint
from ecgbench.cli import app
from ecgbench.data.classes import SCORED_CLASSES, Weights, load_weights
from ecgbench.errors import BadInputError
from ecgbench.train.thresholds import tune_thresholds
from ecgbench.zoo import Zoo

C = len(SCORED_CLASSES)
EYE = Weights(tuple(SCORED_CLASSES), np.eye(C))


def test_parts_are_seeded_near_equal_and_cover_every_record() -> None:
    p = parts_of(23, 5, seed=3)
    assert sorted(np.bincount(p)) == [4, 4, 5, 5, 5]
    assert np.array_equal(p, parts_of(23, 5, seed=3))
    assert not np.array_equal(p, parts_of(23, 5, seed=4))
    with pytest.raises(BadInputError, match="fewer than the 5 parts"):
        parts_of(4, 5)


def test_no_record_is_decided_by_thresholds_tuned_on_itself() -> None:
    n = 37
    rng = np.random.default_rng(0)
    labels = rng.random((n, C)) < 0.3
    probs = rng.random((n, C))
    probs[:, 0] = np.arange(n) / n  # column 0 names the record, so the stub knows whom it saw
    seen: list[set[int]] = []

    def stub(lab: np.ndarray, pr: np.ndarray, w: Weights) -> np.ndarray:
        seen.append({round(v * n) for v in pr[:, 0]})
        return np.full(C, float(len(seen)))  # call number j+1 marks the thresholds it made

    thr, part = crossfit_thresholds(labels, probs, EYE, stub, k=5, seed=1)
    assert len(seen) == 5
    for i in range(n):
        call = int(thr[i, 0]) - 1
        assert i not in seen[call], f"record {i} was tuned on itself"
        assert sum(i in s for s in seen) == 4  # and on every other part's tuning
        assert call == part[i]  # call j tuned for held-out part j


def test_real_tuner_finds_the_known_threshold_on_held_out_parts() -> None:
    """Every class separates at 0.6 (negatives ≤ 0.57, many at 0.55; positives ≥ 0.61): the only
    grid point that decides every record right, whatever 4/5 of the records it is tuned on."""
    rng = np.random.default_rng(2)
    n = 60
    labels = rng.random((n, C)) < 0.4
    labels[np.arange(n), np.arange(n) % C] = True  # a false positive costs only where labels are
    probs = np.where(labels, rng.uniform(0.61, 0.95, (n, C)), rng.uniform(0.1, 0.57, (n, C)))
    probs[~labels & (rng.random((n, C)) < 0.3)] = 0.55  # what the start (0.5) gets wrong
    thr, _ = crossfit_thresholds(labels, probs, EYE, tune_thresholds, k=5, seed=0)
    assert np.allclose(thr, 0.6)
    shipped = np.full(C, 0.5)
    rows = np.arange(n) < 40  # the last 20 records play fold 10
    done = apply_crossfit(labels, probs, EYE, shipped, rows, tune_thresholds, k=5, seed=0)
    assert np.array_equal(done.binary[:40], labels[:40])
    assert np.array_equal(done.binary[40:], probs[40:] >= 0.5)
    assert np.all(done.part[40:] == -1) and set(done.part[:40]) == set(range(5))


def test_fold_gap_separates_a_flattered_fold_from_noise() -> None:
    """Both halves from one distribution: a tie; one half decided perfectly: a gap above 0."""
    rng = np.random.default_rng(5)
    n = 200
    labels = rng.random((n, C)) < 0.3
    labels[np.arange(n), np.arange(n) % C] = True
    probs = rng.random((n, C))
    noisy = probs >= 0.5
    is_val = np.arange(n) < 100
    same = fold_gap(labels, noisy, probs, EYE, is_val, 300, 0, 0.95)["challenge_score"]
    assert not same["distinguishable"] and same["ci95"][0] < 0 < same["ci95"][1]
    flattered = np.where(is_val[:, None], labels, noisy)
    gap = fold_gap(labels, flattered, probs, EYE, is_val, 300, 0, 0.95)["challenge_score"]
    assert gap["distinguishable"] and gap["ci95"][0] > 0 and gap["point"] > 0.3


@pytest.mark.parametrize(
    ("folds", "msg"),
    [(None, "needs --folds"), ((10,), "must include it"), ((8, 9, 10), r"folds \[8\] trained")],
)
def test_folds_that_cannot_be_cross_fitted_honestly(folds, msg) -> None:
    with pytest.raises(BadInputError, match=msg):
        check_crossfit_folds(folds, (9,), tuple(range(1, 9)))
    check_crossfit_folds((9, 10), (9,), tuple(range(1, 9)))


def _cli_error(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_cli_refuses_crossfit_without_the_validation_fold(
    tiny: TinySession, weights_csv: Path
) -> None:
    base = ["evaluate", "--model", str(tiny.ckpt), "--backend", "openvino"]
    base += ["--data", str(tiny.records), "--weights", str(weights_csv)]
    assert "must include it" in _cli_error([*base, "--folds", "10", "--thresholds", "crossfit"])
    assert "needs --folds" in _cli_error([*base, "--thresholds", "crossfit"])
    assert "use one of checkpoint, crossfit" in _cli_error([*base, "--thresholds", "cv"])


@pytest.fixture(scope="module")
def folds_9_10(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 fold-9 and 4 fold-10 records at 100 Hz, sinus and AF alternating."""
    d = tmp_path_factory.mktemp("folds_9_10")
    folds = {}
    for i in range(16):
        af = i % 2 == 1
        sig = synthetic_uv(fs=100, seconds=10.0, rate_hz=2.5 if af else 1.0, seed=70 + i)
        write_dat_record(d, f"F{i:03d}", sig.T / 1000.0, fs=100, dx=[AF] if af else [NSR])
        folds[f"F{i:03d}"] = 9 if i < 12 else 10
    write_metadata(d, folds)
    return d


def test_crossfit_evaluation_end_to_end(
    tiny: TinySession, folds_9_10: Path, weights_csv: Path, tmp_path: Path
) -> None:
    common = {
        "opts": tiny.opts(),
        "weights_path": str(weights_csv),
        "zoo": Zoo(tmp_path / "no_zoo"),
        "show_progress": False,
        "bootstrap": 200,
    }
    args = (str(tiny.ckpt), "openvino", "fp32", folds_9_10, (9, 10))
    cf = evaluate_variant(*args, thresholds="crossfit", **common)
    plain = evaluate_variant(*args, **common)
    a, b = cf.outputs, plain.outputs
    assert a is not None and b is not None and a.names == b.names
    assert np.array_equal(a.probs, b.probs) and cf.scores.auroc == plain.scores.auroc
    fold = np.array([9 if int(nm[1:]) < 12 else 10 for nm in a.names])
    shipped = np.asarray(load_checkpoint(tiny.ckpt).thresholds)
    assert np.array_equal(a.binary[fold == 10], a.probs[fold == 10] >= shipped)
    thr, _ = crossfit_thresholds(
        a.labels[fold == 9], a.probs[fold == 9], load_weights(str(weights_csv)), tune_thresholds
    )
    assert np.array_equal(a.binary[fold == 9], a.probs[fold == 9] >= thr)
    d = json.loads(json.dumps(cf.to_dict()))
    assert d["evaluated_on"] == "folds 9+10 (fold 9: 5-fold cross-fitted thresholds)"
    assert d["n_records"] == 16 and d["records_by_fold"] == {"9": 12, "10": 4}
    assert d["thresholds"]["parts"] == 5 and set(d["by_fold"]) == {"9", "10"}
    assert set(d["validation_minus_test"]) == {"challenge_score", "auroc"}
    assert cf.key.endswith("#folds9+10-crossfit") and "#" not in plain.key
    assert "evaluated_on" not in plain.to_dict()
