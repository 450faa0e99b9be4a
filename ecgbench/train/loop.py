"""Training one ConvNeXt-1D on Challenge records: the seed study's recipe with flags to change it."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecgbench.data.dataset import EcgSet
from ecgbench.data.preprocess import Preprocessing
from ecgbench.host import portable_command
from ecgbench.nets.families import ModelConfig
from ecgbench.train.config import TrainConfig
from ecgbench.train.steps import (
    Checkpoints,
    EpochLog,
    Trainer,
    TrainState,
    evaluate_best,
    read_records,
    run_epochs,
    scored_weights,
    seed_everything,
    split_folds,
)


@dataclass
class TrainResult:
    checkpoint: Path
    best_epoch: int
    history: list[EpochLog] = field(default_factory=list)
    train_seconds: float = 0.0
    samples_per_s: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False


def train_model(
    model_cfg: ModelConfig,
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
    been preprocessed at ``cfg.fs``. Ctrl-C stops after the last finished epoch, keeping its best.
    """
    out = Path(out)
    weights = scored_weights(weights_path)
    seed_everything(cfg)
    pp = Preprocessing(fs=cfg.fs, crop_samples=cfg.crop_samples)
    data = read_records(data_dir, pp, cfg, dataset, show_progress)
    folds = split_folds(data, data_dir, cfg)
    trainer = Trainer.build(model_cfg, cfg, folds.train)
    command = command or portable_command(sys.argv)
    ckpts = Checkpoints(out, model_cfg, pp, folds.summary, command)
    state = ckpts.resume(trainer) if resume else TrainState()
    finished = run_epochs(trainer, folds.val, weights, cfg, state, ckpts, show_progress)
    metrics = evaluate_best(trainer.model, out, folds, weights, state)
    return TrainResult(
        checkpoint=out,
        best_epoch=state.best_epoch,
        history=state.history,
        train_seconds=metrics["train_seconds"],
        samples_per_s=metrics["train_samples_per_s"],
        metrics=metrics,
        interrupted=not finished,
    )
