"""``ecgbench sweep``: sample the design space, train each trial on a fixed budget, store in optuna.

The study lives in an optuna storage: a SQLite file by default (several worker processes on one
machine may share it), or any RDB URL (``postgresql://…``, ``mysql://…``) so that workers on many
machines fill one study. Each trial stores params, FLOPs, wall time, samples/s and validation/test
metrics as user attributes; a failed trial is recorded as FAIL and the sweep goes on; Ctrl-C marks
the running trial failed and leaves the study intact.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ecgbench.data.dataset import EcgSet, load_dataset
from ecgbench.data.folds import FoldSplit
from ecgbench.data.preprocess import Preprocessing
from ecgbench.errors import BadInputError, EcgbenchError
from ecgbench.nets.design_space import SPACE, DesignPoint, to_config
from ecgbench.nets.families import ModelConfig, config_for, family_of
from ecgbench.nets.flops import measure_complexity
from ecgbench.nets.transformer1d import Transformer1DConfig
from ecgbench.train.config import TrainConfig
from ecgbench.train.loop import train_model
from ecgbench.train.optim import OPTIMIZERS
from ecgbench.train.steps import scored_weights

DEFAULT_STORAGE = "sqlite:///sweep.db"
DEFAULT_STUDY = "convnext1d-ecg"


@dataclass(frozen=True)
class SweepConfig:
    data_dir: Path
    storage: str = DEFAULT_STORAGE
    study: str = DEFAULT_STUDY
    trials: int = 10
    timeout: float | None = None
    epochs: int = 3
    fs: float = 100.0  # the sweep trains at 100 Hz: 10 s = 1,000 samples
    crop_samples: int = 512
    batch_size: int = 32
    train_fraction: float = 1.0
    threads: int | None = None
    seed: int | None = None
    limit: int | None = None  # records read (tests)
    max_steps: int | None = None  # steps per epoch (tests)
    weights_path: str | None = None
    # replay: the completed trials of this study, same params and seed, at this config's epochs
    # (does a short trial rank as its longer run does?)
    replay: str | None = None
    # one named size (e.g. resnet1d_atto) with the zoo's optimiser: the data-scaling axis
    model: str | None = None


# The zoo's recipe (`ecgbench train`'s defaults), for --model trials.
FIXED_OPTIMIZER, FIXED_LR = TrainConfig.optimizer, TrainConfig.lr


def open_study(storage: str, study: str, create: bool = True):
    """The optuna study (created if absent); a bad storage URL is one clear line."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = _with_driver(storage)
    for attempt in range(_OPEN_ATTEMPTS):
        try:
            return _open_study(url, study, create)
        except KeyError:
            raise BadInputError(f"no study named {study!r} in {storage}") from None
        except (ImportError, ModuleNotFoundError) as e:
            cause = e.__cause__ or e
            raise BadInputError(
                f"storage {storage!r} needs a driver that is not installed ({cause})"
            ) from None
        except Exception as e:  # sqlalchemy raises many types for bad URLs / unreachable servers
            if _creation_race(e) and attempt + 1 < _OPEN_ATTEMPTS:
                time.sleep(0.2 * (attempt + 1) + 0.3 * random.random())
                continue
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise BadInputError(f"cannot open optuna storage {storage!r}: {first[:200]}") from None
    raise AssertionError("unreachable")  # pragma: no cover


_OPEN_ATTEMPTS = 6


def _open_study(url: str, study: str, create: bool):
    import optuna

    if url.startswith("sqlite:///"):
        rdb = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    else:
        import warnings

        with warnings.catch_warnings():  # heartbeats are "experimental" in optuna's words
            warnings.simplefilter("ignore")
            rdb = optuna.storages.RDBStorage(url, heartbeat_interval=60, grace_period=180)
    if create:
        return optuna.create_study(
            study_name=study,
            storage=rdb,
            direction="maximize",
            sampler=optuna.samplers.RandomSampler(),
            load_if_exists=True,
        )
    return optuna.load_study(study_name=study, storage=rdb)


def _creation_race(e: Exception) -> bool:
    """Workers started together on a fresh storage all create optuna's tables; the losers see
    "table … already exists" (SQLite) or a duplicate key in ``pg_type`` (PostgreSQL) and retry."""
    import sqlalchemy.exc

    text = str(e).lower()
    return isinstance(e, sqlalchemy.exc.IntegrityError) or (
        isinstance(e, sqlalchemy.exc.DBAPIError)
        and ("already exists" in text or "duplicate" in text)
    )


def _with_driver(storage: str) -> str:
    """``postgresql://`` means psycopg 3 to SQLAlchemy >= 2.1 but psycopg2 before (the driver the
    ``postgres`` extra installs): name whichever driver is installed."""
    import importlib.util

    if not storage.startswith("postgresql://"):
        return storage
    for module in ("psycopg", "psycopg2"):
        if importlib.util.find_spec(module) is not None:
            return f"postgresql+{module}://" + storage[len("postgresql://") :]
    return storage


def suggest(trial) -> tuple[DesignPoint, str, float]:
    p = DesignPoint(
        depth=trial.suggest_int("depth", *SPACE["depth"]),
        w0=trial.suggest_int("w0", SPACE["w0"][0], SPACE["w0"][1], step=8),
        wa=trial.suggest_float("wa", *SPACE["wa"]),
        wm=trial.suggest_float("wm", *SPACE["wm"]),
        expansion=trial.suggest_categorical("expansion", list(SPACE["expansion"])),
        kernel_size=trial.suggest_categorical("kernel_size", list(SPACE["kernel_size"])),
        family=trial.suggest_categorical("family", list(SPACE["family"])),
    )
    optimizer = trial.suggest_categorical("optimizer", list(OPTIMIZERS))
    # SGD needs larger steps than AdamW; one log-uniform range covers both.
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    return p, optimizer, lr


def named_size_at(name: str, fs: float) -> ModelConfig:
    """A named size (defined at 500 Hz) at the sweep's rate: the transformer keeps 0.1 s tokens."""
    try:
        model_cfg = config_for(name)
    except KeyError as e:
        raise BadInputError(str(e).strip("'\"")) from None
    if isinstance(model_cfg, Transformer1DConfig):
        model_cfg = replace(model_cfg, patch=max(2, round(model_cfg.patch * fs / 500.0)))
    return model_cfg


def enqueue_replay(study, source, n: int) -> int:
    """Queue the first ``n`` completed trials of ``source`` (by number); workers that queue the
    same trials together do not duplicate them."""
    done = sorted((t for t in source.trials if t.state.name == "COMPLETE"), key=lambda t: t.number)
    if not done:
        raise BadInputError(f"study {source.study_name!r} has no completed trial to replay")
    for t in done[:n]:
        study.enqueue_trial(t.params, user_attrs={"replay_of": t.number}, skip_if_exists=True)
    return min(n, len(done))


def _trial_setup(trial, cfg: SweepConfig) -> tuple[ModelConfig, str, str, float]:
    """What one trial trains: (model config, family, optimiser, learning rate)."""
    if cfg.model is not None:
        model_cfg = named_size_at(cfg.model, cfg.fs)
        for k, v in (("model", cfg.model), ("optimizer", FIXED_OPTIMIZER), ("lr", FIXED_LR)):
            trial.set_user_attr(k, v)
        return model_cfg, family_of(model_cfg), FIXED_OPTIMIZER, FIXED_LR
    point, optimizer, lr = suggest(trial)
    return to_config(point, fs=cfg.fs), point.family, optimizer, lr


def run_sweep(cfg: SweepConfig, log=print) -> dict[str, Any]:
    study = _open_sweep(cfg, log)
    pp = Preprocessing(fs=cfg.fs, crop_samples=cfg.crop_samples)
    split = FoldSplit()
    folds = set(split.train) | set(split.val) | set(split.test)
    data: EcgSet = load_dataset(cfg.data_dir, pp, folds=folds, limit=cfg.limit, show_progress=False)
    if data.problems:
        log(f"{len(data.problems)} records skipped (e.g. {data.problems[0]})")
    workdir = Path(tempfile.mkdtemp(prefix="ecgbench-sweep-"))
    t0 = time.perf_counter()
    try:
        study.optimize(
            _Objective(cfg, data, pp, workdir, log),
            n_trials=cfg.trials,
            timeout=cfg.timeout,
            catch=(EcgbenchError, RuntimeError, ValueError, FloatingPointError),
            gc_after_trial=True,
        )
    except KeyboardInterrupt:
        log("interrupted: the running trial is recorded as failed; the study is intact")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    states = [t.state.name for t in study.trials]
    return {
        "study": cfg.study,
        "storage": cfg.storage,
        "trials": len(states),
        "complete": states.count("COMPLETE"),
        "failed": states.count("FAIL"),
        "seconds": time.perf_counter() - t0,
    }


def _open_sweep(cfg: SweepConfig, log):  # -> optuna.Study
    """Every check that would fail each trial alike, before any record is read; the replay queued."""
    scored_weights(cfg.weights_path)  # a missing weights.csv is one line, not one failure per trial
    if cfg.model is not None:
        named_size_at(cfg.model, cfg.fs)  # an unknown name fails before any record is read
    if cfg.replay is not None and cfg.model is not None:
        raise BadInputError("--replay and --model do not go together")
    study = open_study(cfg.storage, cfg.study)
    if cfg.replay is not None:
        if cfg.replay == cfg.study:
            raise BadInputError("--replay needs another study than --study")
        queued = enqueue_replay(
            study, open_study(cfg.storage, cfg.replay, create=False), cfg.trials
        )
        log(f"replaying {queued} trials of {cfg.replay} at {cfg.epochs} epochs")
    return study


@dataclass
class _Objective:
    """One trial: its model, trained on the sweep's records, its score and facts as attributes."""

    cfg: SweepConfig
    data: EcgSet
    pp: Preprocessing
    workdir: Path
    log: Any

    def __call__(self, trial) -> float:
        import optuna

        cfg = self.cfg
        replay_of = trial.user_attrs.get("replay_of")
        if cfg.replay is not None and replay_of is None:  # the queue ran dry: no random trials
            trial.study.stop()
            raise optuna.TrialPruned("nothing left to replay")
        model_cfg, family, optimizer, lr = _trial_setup(trial, cfg)
        shape = (1, 12, self.pp.eval_samples)
        cx = measure_complexity(model_cfg, shape)
        attrs = {
            "params": cx.params,
            "flops": cx.flops,
            "input_shape": list(shape),
            "family": family,
            "stages": model_cfg.stages,
            "depths": list(model_cfg.depths),
            "widths": list(model_cfg.widths),
            "train_fraction": cfg.train_fraction,
            "epochs": cfg.epochs,
            "fs": cfg.fs,
            "crop_samples": cfg.crop_samples,
            "host": os.uname().nodename,
            "pid": os.getpid(),
        }
        for k, v in attrs.items():
            trial.set_user_attr(k, v)
        t0 = time.perf_counter()
        res = self._train(
            trial, model_cfg, _train_config(cfg, trial.number, replay_of, optimizer, lr)
        )
        wall = time.perf_counter() - t0
        val, test = res.metrics["val"], res.metrics.get("test", {})
        trial.set_user_attr("wall_seconds", wall)
        trial.set_user_attr("train_seconds", res.train_seconds)
        trial.set_user_attr("samples_per_s", res.samples_per_s)
        trial.set_user_attr("n_train", _n_train(self.data, cfg))
        for split_name, m in (("val", val), ("test", test)):
            for k, v in m.items():
                trial.set_user_attr(f"{split_name}_{k}", v)
        score = val.get("challenge_score")
        if score is None or not np.isfinite(score):
            raise optuna.TrialPruned("validation score undefined")
        self.log(
            f"trial {trial.number}: {cfg.model or family}, {model_cfg.stages} stages {list(model_cfg.widths)}, "
            f"{cx.params / 1e6:.2f} M params, {cx.flops / 1e6:.0f} MFLOPs, {optimizer} lr {lr:.1e}"
            f" -> val {score:.3f} test {test.get('challenge_score', float('nan')):.3f} "
            f"({wall:.0f} s)"
        )
        return float(score)

    def _train(self, trial, model_cfg, tcfg: TrainConfig):
        trial_dir = Path(tempfile.mkdtemp(dir=self.workdir))  # its checkpoints are not kept
        try:
            return train_model(
                model_cfg,
                self.cfg.data_dir,
                trial_dir / f"trial{trial.number}.pt",
                tcfg,
                show_progress=False,
                weights_path=self.cfg.weights_path,
                command=f"ecgbench sweep (trial {trial.number})",
                dataset=self.data,
            )
        finally:
            shutil.rmtree(trial_dir, ignore_errors=True)


def _train_config(
    cfg: SweepConfig, number: int, replay_of: Any, optimizer: str, lr: float
) -> TrainConfig:
    return TrainConfig(
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        lr=lr,
        optimizer=optimizer,
        crop_samples=cfg.crop_samples,
        fs=cfg.fs,
        seed=_trial_seed(cfg, number, replay_of),
        threads=cfg.threads,
        train_fraction=cfg.train_fraction,
        max_steps=cfg.max_steps,
    )


def _trial_seed(cfg: SweepConfig, number: int, replay_of: int | None) -> int:
    """A replayed trial keeps its source's seed, so the two runs differ only in epochs."""
    if cfg.seed is not None:
        return cfg.seed
    return int(replay_of) if replay_of is not None else number


def _n_train(data: EcgSet, cfg: SweepConfig) -> int:
    n = int(np.isin(data.folds, FoldSplit().train).sum())
    return max(1, round(n * cfg.train_fraction))


def trials_frame(storage: str, study: str):
    """Completed trials as a tidy DataFrame: hyper-parameters, attributes and the score."""
    import pandas as pd

    st = open_study(storage, study, create=False)
    rows = []
    for t in st.trials:
        if t.state.name != "COMPLETE":
            continue
        rows.append({"trial": t.number, "score": t.value, **t.params, **t.user_attrs})
    if not rows:
        raise BadInputError(f"study {study!r} has no completed trial")
    return pd.DataFrame(rows)


__all__ = ["SweepConfig", "open_study", "replace", "run_sweep", "trials_frame"]
