"""Loss, a few optimiser steps, thresholds, config, checkpoints, and train_model end to end."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import TINY, make_checkpoint, write_challenge_record, write_weights_csv

from ecgbench.checkpoint import CHECKPOINT_LIBRARIES, load_checkpoint, save_checkpoint
from ecgbench.data.classes import SCORED_CLASSES, load_weights
from ecgbench.errors import BadInputError
from ecgbench.host import library_versions
from ecgbench.metrics.challenge import compute_challenge_metric
from ecgbench.nets.convnext1d import MODEL_SIZES, ConvNeXt1D
from ecgbench.train.config import resolve_train_config
from ecgbench.train.loop import TrainConfig, train_model
from ecgbench.train.loss import AsymmetricLoss
from ecgbench.train.optim import make_optimizer
from ecgbench.train.thresholds import GRID, tune_thresholds


# --------------------------------------------------------------------------- loss
def test_asymmetric_loss_without_focusing_or_clipping_is_summed_bce() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 26, generator=g)
    targets = (torch.rand(5, 26, generator=g) > 0.8).float()
    asl = AsymmetricLoss(gamma_neg=0, gamma_pos=0, clip=0)(logits, targets)
    bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none").sum(1).mean()
    torch.testing.assert_close(asl, bce)


def test_asymmetric_loss_discounts_easy_negatives() -> None:
    targets = torch.zeros(1, 4)
    easy_negative = torch.full((1, 4), -3.0)  # p ~ 0.047 < clip 0.05
    assert AsymmetricLoss(clip=0.05)(easy_negative, targets).item() == 0.0
    focused = AsymmetricLoss(gamma_neg=4, gamma_pos=0, clip=0)(torch.full((1, 4), -1.0), targets)
    plain = AsymmetricLoss(gamma_neg=0, gamma_pos=0, clip=0)(torch.full((1, 4), -1.0), targets)
    assert 0 < focused.item() < plain.item() / 10
    # positives are not clipped: a missed one costs far more than a caught one
    caught = AsymmetricLoss()(-easy_negative, torch.ones(1, 4)).item()
    assert AsymmetricLoss()(easy_negative, torch.ones(1, 4)).item() > 10 * caught > 0


def test_tiny_model_loss_falls_in_a_few_steps() -> None:
    torch.manual_seed(0)
    model = ConvNeXt1D(TINY)
    x = torch.randn(8, 12, 256)
    y = torch.zeros(8, 26)
    y[:4, 0] = 1  # two classes that the input separates
    y[4:, 14] = 1
    x[:4] += torch.sin(torch.linspace(0, 60, 256))
    opt = make_optimizer("adamw", model.parameters(), lr=3e-3, weight_decay=0.0)
    loss_fn = AsymmetricLoss()
    losses = []
    for _ in range(25):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.5 * losses[0], losses


def test_make_optimizer_rejects_unknown_names() -> None:
    params = [torch.nn.Parameter(torch.zeros(1))]
    assert isinstance(make_optimizer("sgd-momentum", params, 0.1), torch.optim.SGD)
    with pytest.raises(ValueError, match="unknown optimiser"):
        make_optimizer("lion", params, 0.1)


# --------------------------------------------------------------------------- thresholds
def test_tuned_thresholds_beat_one_half_on_underconfident_outputs(weights_csv: Path) -> None:
    w = load_weights(weights_csv)
    rng = np.random.default_rng(0)
    labels = np.zeros((40, 26), bool)
    labels[np.arange(40), rng.integers(0, 26, 40)] = True
    # separable but every positive below 0.5: the default threshold predicts nothing
    probs = np.where(labels, rng.uniform(0.3, 0.4, labels.shape), rng.uniform(0, 0.2, labels.shape))
    thr = tune_thresholds(labels, probs, w)
    assert thr.shape == (26,) and set(np.round(thr, 2)) <= set(GRID) | {0.5}
    at_half = compute_challenge_metric(w.matrix, labels, probs >= 0.5, w.classes)
    tuned = compute_challenge_metric(w.matrix, labels, probs >= thr, w.classes)
    assert tuned == pytest.approx(1.0) and tuned > at_half


# --------------------------------------------------------------------------- config
def _toml(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "cfg.toml"
    p.write_text(text)
    return p


def test_config_named_size_toml_and_overrides(tmp_path: Path) -> None:
    model, cfg = resolve_train_config("convnext1d_atto", None, {})
    assert model == MODEL_SIZES["convnext1d_atto"] and cfg == TrainConfig()
    p = _toml(
        tmp_path,
        '[model]\nname = "convnext1d_femto"\nkernel_size = 9\n'
        '[train]\nepochs = 3\nlr = 0.01\ntrain_folds = "1-3"\nval_folds = [4]\n',
    )
    model, cfg = resolve_train_config(None, p, {"epochs": 5, "test_folds": "6,7", "seed": None})
    assert model == replace(MODEL_SIZES["convnext1d_femto"], kernel_size=9)
    assert (cfg.epochs, cfg.lr, cfg.seed) == (5, 0.01, TrainConfig().seed)
    assert (cfg.train_folds, cfg.val_folds, cfg.test_folds) == ((1, 2, 3), (4,), (6, 7))
    model, _ = resolve_train_config(
        None, _toml(tmp_path, "[model]\ndepths=[1,1]\nwidths=[8,16]\n"), {}
    )
    assert (model.depths, model.widths) == ((1, 1), (8, 16))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[train\nepochs = 1\n", "not valid TOML"),
        ('[model]\nname = "convnext1d_atto"\n[train]\nepoch = 1\n', r"unknown \[train\] keys"),
        ('[model]\nname = "convnext1d_atto"\nwidth = 3\n', "bad model config"),
        ('[model]\nname = "convnext1d_atto"\n[optim]\nlr = 1\n', "unknown tables"),
        ('[model]\nname = "convnext1d_atto"\n[train]\nepochs = "ten"\n', "epochs must be int"),
        ('[model]\nname = "convnext1d_atto"\n[train]\nval_folds = ["a"]\n', "val_folds must be"),
        ('[model]\nname = "convnext1d_atto"\n[train]\noptimizer = "lion"\n', "unknown optimiser"),
        ('[model]\nname = "convnext1d_atto"\n[train]\ncrop_samples = 4\n', "crop >= 16"),
        ('[model]\nname = "convnext1d_huge"\n', "unknown model"),
        ("[train]\nepochs = 1\n", "give --model"),
    ],
)
def test_config_errors_are_bad_input(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        resolve_train_config(None, _toml(tmp_path, text), {})


def test_config_missing_file_and_unknown_model(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="file not found"):
        resolve_train_config("convnext1d_atto", tmp_path / "nope.toml", {})
    with pytest.raises(BadInputError, match="unknown model 'resnet'"):
        resolve_train_config("resnet", None, {})
    with pytest.raises(BadInputError, match="bad fold list"):
        resolve_train_config("convnext1d_atto", None, {"val_folds": "nine"})


# --------------------------------------------------------------------------- checkpoints
def test_checkpoint_round_trip(tmp_path: Path) -> None:
    ckpt = make_checkpoint(
        thresholds=[0.25] * 26,
        metrics={"val": {"challenge_score": 0.5}},
        versions=library_versions(CHECKPOINT_LIBRARIES, absent=None),
        command="ecgbench train ...",
        epoch=3,
        extra={"history": [{"epoch": 0, "loss": 1.0}]},
    )
    p = tmp_path / "c.pt"
    save_checkpoint(ckpt, p)
    assert [f.name for f in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left behind
    back = load_checkpoint(p)
    assert back.config == ckpt.config and back.preprocessing == ckpt.preprocessing
    assert back.classes == SCORED_CLASSES and back.thresholds == [0.25] * 26
    assert (back.metrics, back.command, back.epoch, back.extra) == (
        ckpt.metrics,
        ckpt.command,
        3,
        ckpt.extra,
    )
    assert back.versions["torch"] == torch.__version__
    x = torch.randn(2, 12, 512)
    torch.testing.assert_close(back.build_model()(x), ckpt.build_model()(x))


class _Custom:
    pass


@pytest.mark.parametrize(
    "payload",
    [
        {"format": "ecgbench-checkpoint", "x": os.system},
        {"format": "ecgbench-checkpoint", "x": _Custom()},
    ],
    ids=["callable", "custom-class"],
)
def test_checkpoint_with_pickled_objects_is_refused(tmp_path: Path, payload: dict) -> None:
    p = tmp_path / "evil.pt"
    torch.save(payload, p)
    with pytest.raises(BadInputError, match="refused"):
        load_checkpoint(p)


def test_unusable_checkpoint_files_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "none.pt")
    (tmp_path / "text.pt").write_text("hello")
    (tmp_path / "junk.pt").write_bytes(np.random.default_rng(0).bytes(4096))
    for name in ("text.pt", "junk.pt"):
        with pytest.raises(BadInputError, match="not a checkpoint"):
            load_checkpoint(tmp_path / name)
    good = tmp_path / "good.pt"
    save_checkpoint(make_checkpoint(), good)
    (tmp_path / "cut.pt").write_bytes(good.read_bytes()[:-200])
    with pytest.raises(BadInputError):
        load_checkpoint(tmp_path / "cut.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(BadInputError, match="not an ecgbench checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_checkpoint_whose_weights_do_not_fit_its_config(tmp_path: Path) -> None:
    ckpt = make_checkpoint()
    p = tmp_path / "mismatch.pt"
    save_checkpoint(replace(ckpt, config=replace(TINY, widths=(8, 24))), p)
    with pytest.raises(BadInputError, match="do not fit"):
        load_checkpoint(p).build_model()


# --------------------------------------------------------------------------- train_model
def _cfg(**kw) -> TrainConfig:
    base = dict(epochs=2, batch_size=4, crop_samples=256, max_steps=2, lr=3e-3)
    return TrainConfig(**{**base, **kw})


def test_train_model_writes_a_complete_checkpoint_and_resumes(
    train_folder: Path, weights_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run" / "tiny.pt"
    r = train_model(
        TINY,
        train_folder,
        out,
        _cfg(),
        show_progress=False,
        weights_path=str(weights_csv),
        command="ecgbench train --test",
    )
    assert r.checkpoint == out and len(r.history) == 2 and not r.interrupted
    assert all(np.isfinite(h.loss) for h in r.history)
    ckpt = load_checkpoint(out)
    assert ckpt.config == TINY and ckpt.epoch == r.best_epoch
    assert len(ckpt.thresholds) == 26 and all(0 < t < 1 for t in ckpt.thresholds)
    assert ckpt.preprocessing.crop_samples == 256 and ckpt.preprocessing.fs == 500.0
    assert {"torch", "numpy", "python"} <= set(ckpt.versions)
    assert ckpt.command == "ecgbench train --test"
    for split in ("val", "test"):
        assert set(ckpt.metrics[split]) >= {"challenge_score", "auroc", "f_measure"}
    assert ckpt.metrics["epochs_run"] == 2 and len(ckpt.metrics["history"]) == 2
    assert (ckpt.data["n_train"], ckpt.data["n_val"], ckpt.data["n_test"]) == (16, 2, 2)
    assert ckpt.extra == {}  # optimiser state only in <out>.last.pt
    last = load_checkpoint(out.with_name("tiny.last.pt"))
    assert last.epoch == 1 and "optimizer" in last.extra and "scheduler" in last.extra
    ckpt.build_model()

    r2 = train_model(
        TINY,
        train_folder,
        out,
        _cfg(epochs=3),
        resume=True,
        show_progress=False,
        weights_path=str(weights_csv),
    )
    assert [h.epoch for h in r2.history] == [0, 1, 2]
    assert r2.history[:2] == r.history  # the first two epochs were not run again
    assert load_checkpoint(out.with_name("tiny.last.pt")).epoch == 2
    assert load_checkpoint(out).metrics["epochs_run"] == 3


def test_train_model_needs_folds_and_matching_weights(
    train_folder: Path, weights_csv: Path, tmp_path: Path
) -> None:
    flat = tmp_path / "flat"
    write_challenge_record(flat, "R1")
    with pytest.raises(BadInputError, match=r"no metadata\.csv"):
        train_model(
            TINY,
            flat,
            tmp_path / "a.pt",
            _cfg(),
            show_progress=False,
            weights_path=str(weights_csv),
        )
    shuffled = write_weights_csv(tmp_path / "shuffled.csv", SCORED_CLASSES[::-1])
    with pytest.raises(BadInputError, match="official order"):
        train_model(
            TINY,
            train_folder,
            tmp_path / "b.pt",
            _cfg(),
            show_progress=False,
            weights_path=str(shuffled),
        )
    with pytest.raises(BadInputError, match="need records in train folds"):
        train_model(
            TINY,
            train_folder,
            tmp_path / "c.pt",
            _cfg(val_folds=(11,)),
            show_progress=False,
            weights_path=str(weights_csv),
        )
    assert not (tmp_path / "c.pt").exists()
