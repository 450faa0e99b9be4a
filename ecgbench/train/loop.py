"""Training one ConvNeXt-1D on Challenge records: the seed study's recipe with flags to change it."""

from __future__ import annotations

import os
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from ecgbench.checkpoint import (
    CHECKPOINT_LIBRARIES,
    Checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from ecgbench.data.classes import SCORED_CLASSES, load_weights
from ecgbench.data.dataset import CropDataset, EcgSet, load_dataset
from ecgbench.data.folds import FoldSplit
from ecgbench.data.preprocess import Preprocessing
from ecgbench.errors import BadInputError
from ecgbench.host import library_versions
from ecgbench.metrics.challenge import score_arrays
from ecgbench.nets.convnext1d import ConvNeXt1D, ConvNeXt1DConfig
from ecgbench.progress import progress_bar
from ecgbench.train.evaluate import predict_proba
from ecgbench.train.loss import AsymmetricLoss
from ecgbench.train.optim import make_optimizer
from ecgbench.train.thresholds import tune_thresholds


@dataclass
class TrainConfig:
    """The seed study's defaults; every field is a CLI flag or a key of a ``--config`` TOML."""

    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adamw"
    weight_decay: float = 0.05
    lr_gamma: float = 0.98  # ExponentialLR
    gamma_neg: float = 4.0
    gamma_pos: float = 1.0
    clip: float = 0.05
    crop_samples: int = 2048
    fs: float = 500.0
    seed: int = 0
    threads: int | None = None
    train_folds: tuple[int, ...] = FoldSplit().train
    val_folds: tuple[int, ...] = FoldSplit().val
    test_folds: tuple[int, ...] = FoldSplit().test
    limit: int | None = None  # cap on records read (quick experiments, tests)
    train_fraction: float = 1.0  # a patient-fold-respecting subset of the training folds (scaling)
    max_steps: int | None = None  # cap on optimiser steps per epoch (tests)


@dataclass
class EpochLog:
    epoch: int
    loss: float
    samples_per_s: float
    val_challenge: float
    val_auroc: float
    seconds: float


@dataclass
class TrainResult:
    checkpoint: Path
    best_epoch: int
    history: list[EpochLog] = field(default_factory=list)
    train_seconds: float = 0.0
    samples_per_s: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False


def _split(data: EcgSet, cfg: TrainConfig) -> tuple[EcgSet, EcgSet, EcgSet | None]:
    present = sorted({int(f) for f in data.folds})
    if present == [0]:
        raise BadInputError(
            "the data folder has no metadata.csv with strat_fold; training needs patient-wise folds "
            "(never a random record split)"
        )
    train = data.subset(cfg.train_folds)
    val = data.subset(cfg.val_folds)
    test = data.subset(cfg.test_folds)
    if len(train) == 0 or len(val) == 0:
        raise BadInputError(
            f"need records in train folds {list(cfg.train_folds)} and validation folds "
            f"{list(cfg.val_folds)}; folds present: {present}"
        )
    return train, val, (test if len(test) else None)


def _fraction(data: EcgSet, frac: float, seed: int) -> EcgSet:
    """A deterministic random subset of the training records (for data-size scaling runs)."""
    rng = np.random.default_rng(seed)
    n = max(1, round(len(data) * frac))
    return data.take(np.sort(rng.choice(len(data), size=n, replace=False)).tolist())


def evaluate_set(
    model: ConvNeXt1D, data: EcgSet, thresholds: np.ndarray, weights
) -> tuple[dict[str, float], np.ndarray]:
    probs = predict_proba(model, data.eval_array())
    labels = data.labels.astype(bool)
    scores = score_arrays(labels, probs >= thresholds, probs, weights)
    return scores.to_json_dict(), probs


def train_model(
    model_cfg: ConvNeXt1DConfig,
    data_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    cfg: TrainConfig,
    resume: bool = False,
    show_progress: bool = True,
    weights_path: str | None = None,
    command: str | None = None,
    dataset: EcgSet | None = None,
) -> TrainResult:
    """Train, validate every epoch, keep the best checkpoint (atomically) at ``out``.

    ``dataset`` lets a sweep read and preprocess the records once for many trials; it must have
    been preprocessed at ``cfg.fs``.
    """
    out = Path(out)
    last_path = out.with_name(out.stem + ".last.pt")
    weights = load_weights(weights_path)
    if weights.classes != SCORED_CLASSES:  # labels are encoded in this order
        raise BadInputError(
            "weights.csv must name the 26 scored Challenge classes in the official order "
            f"(first columns: {', '.join(weights.classes[:3])}, …)"
        )
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    pp = Preprocessing(fs=cfg.fs, crop_samples=cfg.crop_samples)
    folds = set(cfg.train_folds) | set(cfg.val_folds) | set(cfg.test_folds)
    if dataset is None:
        data = load_dataset(data_dir, pp, folds=folds, limit=cfg.limit, show_progress=show_progress)
    else:
        if dataset.pp.fs != cfg.fs:
            raise BadInputError(f"dataset is at {dataset.pp.fs} Hz, the config asks {cfg.fs} Hz")
        data = dataset
        data.pp = pp  # same rate and filter; the crop length is the trial's own
    train, val, test = _split(data, cfg)
    if cfg.train_fraction < 1.0:
        train = _fraction(train, cfg.train_fraction, cfg.seed)

    model = ConvNeXt1D(model_cfg)
    opt = make_optimizer(cfg.optimizer, model.parameters(), cfg.lr, cfg.weight_decay)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=cfg.lr_gamma)
    loss_fn = AsymmetricLoss(cfg.gamma_neg, cfg.gamma_pos, cfg.clip)
    ds = CropDataset(train, cfg.crop_samples, seed=cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    # drop_last keeps batch statistics even, unless the training set is smaller than one batch.
    loader = DataLoader(
        ds,
        batch_size=cfg.batch_size,
        shuffle=True,
        drop_last=len(ds) > cfg.batch_size,
        generator=gen,
    )

    start_epoch, best_score, best_epoch = 0, -np.inf, -1
    history: list[EpochLog] = []
    if resume and not last_path.is_file():
        raise BadInputError(f"--resume: no {last_path.name} beside {out} to resume from")
    if resume:
        last = load_checkpoint(last_path)
        if last.config != model_cfg:
            raise BadInputError(f"--resume: {last_path.name} was trained with another model config")
        model.load_state_dict(last.state_dict)
        opt.load_state_dict(last.extra["optimizer"])
        sched.load_state_dict(last.extra["scheduler"])
        start_epoch = last.epoch + 1
        best_score = float(last.extra.get("best_score", -np.inf))
        best_epoch = int(last.extra.get("best_epoch", -1))
        history = [EpochLog(**h) for h in last.extra.get("history", [])]

    data_summary = {
        "dir": str(Path(data_dir)),
        "train_folds": list(cfg.train_folds),
        "val_folds": list(cfg.val_folds),
        "test_folds": list(cfg.test_folds),
        "n_train": len(train),
        "n_val": len(val),
        "n_test": len(test) if test else 0,
        "skipped": [str(p) for p in data.problems],
    }
    command = command or " ".join(shlex.quote(a) for a in sys.argv)

    def make_ckpt(epoch: int, thresholds: list[float], metrics: dict, extra: dict) -> Checkpoint:
        return Checkpoint(
            config=model_cfg,
            state_dict={k: v.detach().clone() for k, v in model.state_dict().items()},
            preprocessing=pp,
            thresholds=thresholds,
            metrics=metrics,
            data=data_summary,
            versions=library_versions(CHECKPOINT_LIBRARIES, absent=None),
            command=command,
            epoch=epoch,
            extra=extra,
        )

    interrupted = False
    try:
        with progress_bar(show_progress) as bar:
            task = bar.add_task("training", total=cfg.epochs, completed=start_epoch)
            for epoch in range(start_epoch, cfg.epochs):
                model.train()
                ds.epoch = epoch
                t0 = time.perf_counter()
                losses: list[float] = []
                for step, (x, y) in enumerate(loader):
                    if cfg.max_steps is not None and step >= cfg.max_steps:
                        break
                    loss = loss_fn(model(x), y)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    losses.append(loss.item())
                dt = time.perf_counter() - t0
                sched.step()
                sps = len(losses) * cfg.batch_size / max(dt, 1e-9)
                probs = predict_proba(model, val.eval_array())
                thr = tune_thresholds(val.labels.astype(bool), probs, weights)
                vs = score_arrays(val.labels.astype(bool), probs >= thr, probs, weights)
                log = EpochLog(
                    epoch=epoch,
                    loss=float(np.mean(losses)) if losses else float("nan"),
                    samples_per_s=sps,
                    val_challenge=vs.challenge_score,
                    val_auroc=vs.auroc,
                    seconds=dt,
                )
                history.append(log)
                if vs.challenge_score > best_score:
                    best_score, best_epoch = vs.challenge_score, epoch
                    save_checkpoint(
                        make_ckpt(epoch, thr.tolist(), {"val": vs.to_json_dict()}, {}), out
                    )
                extra = {
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(),
                    "best_score": best_score,
                    "best_epoch": best_epoch,
                    "history": [asdict(h) for h in history],
                }
                save_checkpoint(make_ckpt(epoch, thr.tolist(), {}, extra), last_path)
                bar.update(
                    task,
                    advance=1,
                    description=(
                        f"epoch {epoch + 1}/{cfg.epochs} loss {log.loss:.3f} "
                        f"{sps:.0f} samples/s val {vs.challenge_score:.3f} "
                        f"auroc {vs.auroc:.3f} (best {best_score:.3f})"
                    ),
                )
                if not show_progress or not sys.stderr.isatty():
                    print(
                        f"epoch {epoch + 1}/{cfg.epochs} loss {log.loss:.4f} {sps:.0f} samples/s "
                        f"val challenge {vs.challenge_score:.4f} auroc {vs.auroc:.4f}",
                        flush=True,
                    )
    except KeyboardInterrupt:
        interrupted = True

    if best_epoch < 0:
        raise BadInputError("training stopped before the first epoch finished; nothing saved")
    best = load_checkpoint(out)
    model.load_state_dict(best.state_dict)
    thr = np.asarray(best.thresholds)
    metrics: dict[str, Any] = {"val": evaluate_set(model, val, thr, weights)[0]}
    if test is not None:
        metrics["test"] = evaluate_set(model, test, thr, weights)[0]
    # From the history, so that a resumed run reports the whole training.
    t_total = float(sum(h.seconds for h in history))
    metrics["train_seconds"] = t_total
    metrics["train_samples_per_s"] = float(np.mean([h.samples_per_s for h in history]))
    metrics["best_epoch"] = best_epoch
    metrics["epochs_run"] = len(history)
    metrics["history"] = [asdict(h) for h in history]
    save_checkpoint(replace(best, metrics=metrics), out)
    return TrainResult(
        checkpoint=out,
        best_epoch=best_epoch,
        history=history,
        train_seconds=t_total,
        samples_per_s=metrics["train_samples_per_s"],
        metrics=metrics,
        interrupted=interrupted,
    )
