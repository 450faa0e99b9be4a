"""The steps of one training run, in the order ``train_model`` takes them."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from ecgbench.checkpoint import CHECKPOINT_LIBRARIES, Checkpoint, load_checkpoint, save_checkpoint
from ecgbench.data.classes import SCORED_CLASSES, Weights, load_weights
from ecgbench.data.dataset import CropDataset, EcgSet, load_dataset
from ecgbench.data.preprocess import Preprocessing
from ecgbench.errors import BadInputError
from ecgbench.host import library_versions
from ecgbench.metrics.challenge import ChallengeScores, score_arrays
from ecgbench.nets.families import ModelConfig, build_model
from ecgbench.progress import progress_bar
from ecgbench.train.evaluate import predict_proba
from ecgbench.train.loss import AsymmetricLoss
from ecgbench.train.optim import make_optimizer
from ecgbench.train.thresholds import tune_thresholds

if TYPE_CHECKING:
    from ecgbench.train.config import TrainConfig


@dataclass
class EpochLog:
    epoch: int
    loss: float
    samples_per_s: float
    val_challenge: float
    val_auroc: float
    seconds: float


# --------------------------------------------------------------------------- setup
def scored_weights(path: str | None) -> Weights:
    """The reward matrix; labels are encoded in the official class order, so its columns must be."""
    weights = load_weights(path)
    if weights.classes != SCORED_CLASSES:
        raise BadInputError(
            "weights.csv must name the 26 scored Challenge classes in the official order "
            f"(first columns: {', '.join(weights.classes[:3])}, …)"
        )
    return weights


def seed_everything(cfg: TrainConfig) -> None:
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)


def read_records(
    data_dir: str | os.PathLike[str],
    pp: Preprocessing,
    cfg: TrainConfig,
    dataset: EcgSet | None,
    show_progress: bool,
) -> EcgSet:
    """The records of every fold the config names; ``dataset``: read once by a sweep, at ``cfg.fs``."""
    if dataset is None:
        folds = set(cfg.train_folds) | set(cfg.val_folds) | set(cfg.test_folds)
        return load_dataset(data_dir, pp, folds=folds, limit=cfg.limit, show_progress=show_progress)
    if dataset.pp.fs != cfg.fs:
        raise BadInputError(f"dataset is at {dataset.pp.fs} Hz, the config asks {cfg.fs} Hz")
    dataset.pp = pp  # same rate and filter; the crop length is the trial's own
    return dataset


@dataclass
class Folds:
    """The patient-wise splits, and what the checkpoint says about them."""

    train: EcgSet
    val: EcgSet
    test: EcgSet | None
    summary: dict[str, Any]


def split_folds(data: EcgSet, data_dir: str | os.PathLike[str], cfg: TrainConfig) -> Folds:
    train, val, test = _split(data, cfg)
    if cfg.train_fraction < 1.0:
        train = _fraction(train, cfg.train_fraction, cfg.seed)
    summary = {
        "dir": str(Path(data_dir)),
        "train_folds": list(cfg.train_folds),
        "val_folds": list(cfg.val_folds),
        "test_folds": list(cfg.test_folds),
        "n_train": len(train),
        "n_val": len(val),
        "n_test": len(test) if test else 0,
        "skipped": [str(p) for p in data.problems],
    }
    return Folds(train, val, test, summary)


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


# --------------------------------------------------------------------------- model and optimiser
@dataclass
class Trainer:
    """The model and what steps it; the optimiser and scheduler states go into ``.last.pt``."""

    model: torch.nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.ExponentialLR
    loss_fn: AsymmetricLoss
    crops: CropDataset
    loader: DataLoader

    @classmethod
    def build(cls, model_cfg: ModelConfig, cfg: TrainConfig, train: EcgSet) -> Trainer:
        model = build_model(model_cfg)
        opt = make_optimizer(cfg.optimizer, model.parameters(), cfg.lr, cfg.weight_decay)
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=cfg.lr_gamma)
        loss_fn = AsymmetricLoss(cfg.gamma_neg, cfg.gamma_pos, cfg.clip)
        crops = CropDataset(train, cfg.crop_samples, seed=cfg.seed)
        gen = torch.Generator().manual_seed(cfg.seed)
        # drop_last keeps batch statistics even, unless the training set is smaller than one batch.
        loader = DataLoader(
            crops,
            batch_size=cfg.batch_size,
            shuffle=True,
            drop_last=len(crops) > cfg.batch_size,
            generator=gen,
        )
        return cls(model, opt, sched, loss_fn, crops, loader)

    def train_epoch(self, epoch: int, cfg: TrainConfig) -> tuple[float, float, float]:
        """One pass over fresh crops (at most ``cfg.max_steps``): mean loss, samples/s, seconds."""
        self.model.train()
        self.crops.epoch = epoch
        t0 = time.perf_counter()
        losses: list[float] = []
        for step, (x, y) in enumerate(self.loader):
            if cfg.max_steps is not None and step >= cfg.max_steps:
                break
            loss = self.loss_fn(self.model(x), y)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            losses.append(loss.item())
        dt = time.perf_counter() - t0
        self.sched.step()
        sps = len(losses) * cfg.batch_size / max(dt, 1e-9)
        return (float(np.mean(losses)) if losses else float("nan")), sps, dt


# --------------------------------------------------------------------------- where training stands
@dataclass
class TrainState:
    """The next epoch, the best validation score so far and its epoch, and every epoch's log."""

    start_epoch: int = 0
    best_score: float = -np.inf
    best_epoch: int = -1
    history: list[EpochLog] = field(default_factory=list)

    def record(self, log: EpochLog) -> bool:
        """Add an epoch's log; True when its validation score is the best so far."""
        self.history.append(log)
        if log.val_challenge > self.best_score:
            self.best_score, self.best_epoch = log.val_challenge, log.epoch
            return True
        return False


@dataclass
class Checkpoints:
    """The best checkpoint at ``out`` and, beside it, the last one with what resuming needs."""

    out: Path
    model_cfg: ModelConfig
    pp: Preprocessing
    data: dict[str, Any]
    command: str

    @property
    def last_path(self) -> Path:
        return self.out.with_name(self.out.stem + ".last.pt")

    def save_best(
        self, model: torch.nn.Module, epoch: int, thr: np.ndarray, val: ChallengeScores
    ) -> None:
        ckpt = self._checkpoint(model, epoch, thr, {"val": val.to_json_dict()}, {})
        save_checkpoint(ckpt, self.out)

    def save_last(self, t: Trainer, epoch: int, thr: np.ndarray, state: TrainState) -> None:
        extra = {
            "optimizer": t.opt.state_dict(),
            "scheduler": t.sched.state_dict(),
            "best_score": state.best_score,
            "best_epoch": state.best_epoch,
            "history": [asdict(h) for h in state.history],
        }
        save_checkpoint(self._checkpoint(t.model, epoch, thr, {}, extra), self.last_path)

    def resume(self, t: Trainer) -> TrainState:
        """Model, optimiser and scheduler as the last epoch left them, and where training stood."""
        last_path = self.last_path
        if not last_path.is_file():
            raise BadInputError(f"--resume: no {last_path.name} beside {self.out} to resume from")
        last = load_checkpoint(last_path)
        if last.config != self.model_cfg:
            raise BadInputError(f"--resume: {last_path.name} was trained with another model config")
        t.model.load_state_dict(last.state_dict)
        t.opt.load_state_dict(last.extra["optimizer"])
        t.sched.load_state_dict(last.extra["scheduler"])
        return TrainState(
            start_epoch=last.epoch + 1,
            best_score=float(last.extra.get("best_score", -np.inf)),
            best_epoch=int(last.extra.get("best_epoch", -1)),
            history=[EpochLog(**h) for h in last.extra.get("history", [])],
        )

    def _checkpoint(
        self, model: torch.nn.Module, epoch: int, thr: np.ndarray, metrics: dict, extra: dict
    ) -> Checkpoint:
        return Checkpoint(
            config=self.model_cfg,
            state_dict={k: v.detach().clone() for k, v in model.state_dict().items()},
            preprocessing=self.pp,
            thresholds=thr.tolist(),
            metrics=metrics,
            data=self.data,
            versions=library_versions(CHECKPOINT_LIBRARIES, absent=None),
            command=self.command,
            epoch=epoch,
            extra=extra,
        )


# --------------------------------------------------------------------------- the epochs
def run_epochs(
    t: Trainer,
    val: EcgSet,
    weights: Weights,
    cfg: TrainConfig,
    state: TrainState,
    ckpts: Checkpoints,
    show_progress: bool,
) -> bool:
    """Epochs from ``state.start_epoch``; False when Ctrl-C stopped them (the best stays on disk)."""
    try:
        with progress_bar(show_progress) as bar:
            task = bar.add_task("training", total=cfg.epochs, completed=state.start_epoch)
            for epoch in range(state.start_epoch, cfg.epochs):
                loss, sps, dt = t.train_epoch(epoch, cfg)
                thr, vs = validate(t.model, val, weights)
                log = EpochLog(
                    epoch=epoch,
                    loss=loss,
                    samples_per_s=sps,
                    val_challenge=vs.challenge_score,
                    val_auroc=vs.auroc,
                    seconds=dt,
                )
                if state.record(log):
                    ckpts.save_best(t.model, epoch, thr, vs)
                ckpts.save_last(t, epoch, thr, state)
                _report(bar, task, log, state.best_score, cfg.epochs, show_progress)
    except KeyboardInterrupt:
        return False
    return True


def validate(
    model: torch.nn.Module, val: EcgSet, weights: Weights
) -> tuple[np.ndarray, ChallengeScores]:
    """Thresholds tuned on the validation folds, and the scores they give there."""
    probs = predict_proba(model, val.eval_array())
    labels = val.labels.astype(bool)
    thr = tune_thresholds(labels, probs, weights)
    return thr, score_arrays(labels, probs >= thr, probs, weights)


def _report(bar, task, log: EpochLog, best_score: float, epochs: int, show_progress: bool) -> None:
    """The bar's line, and a printed one where no bar shows (a log file, CI)."""
    bar.update(
        task,
        advance=1,
        description=(
            f"epoch {log.epoch + 1}/{epochs} loss {log.loss:.3f} "
            f"{log.samples_per_s:.0f} samples/s val {log.val_challenge:.3f} "
            f"auroc {log.val_auroc:.3f} (best {best_score:.3f})"
        ),
    )
    if not show_progress or not sys.stderr.isatty():
        print(
            f"epoch {log.epoch + 1}/{epochs} loss {log.loss:.4f} {log.samples_per_s:.0f} samples/s "
            f"val challenge {log.val_challenge:.4f} auroc {log.val_auroc:.4f}",
            flush=True,
        )


# --------------------------------------------------------------------------- final evaluation
def evaluate_set(
    model: torch.nn.Module, data: EcgSet, thresholds: np.ndarray, weights: Weights
) -> tuple[dict[str, float], np.ndarray]:
    probs = predict_proba(model, data.eval_array())
    labels = data.labels.astype(bool)
    scores = score_arrays(labels, probs >= thresholds, probs, weights)
    return scores.to_json_dict(), probs


def evaluate_best(
    model: torch.nn.Module, out: Path, folds: Folds, weights: Weights, state: TrainState
) -> dict[str, Any]:
    """The best checkpoint's validation and test scores and the training totals, saved into it."""
    if state.best_epoch < 0:
        raise BadInputError("training stopped before the first epoch finished; nothing saved")
    best = load_checkpoint(out)
    model.load_state_dict(best.state_dict)
    thr = np.asarray(best.thresholds)
    metrics: dict[str, Any] = {"val": evaluate_set(model, folds.val, thr, weights)[0]}
    if folds.test is not None:
        metrics["test"] = evaluate_set(model, folds.test, thr, weights)[0]
    history = state.history  # the whole training's, a resumed run's too
    metrics["train_seconds"] = float(sum(h.seconds for h in history))
    metrics["train_samples_per_s"] = float(np.mean([h.samples_per_s for h in history]))
    metrics["best_epoch"] = state.best_epoch
    metrics["epochs_run"] = len(history)
    metrics["history"] = [asdict(h) for h in history]
    save_checkpoint(replace(best, metrics=metrics), out)
    return metrics
