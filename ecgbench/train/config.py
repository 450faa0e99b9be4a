"""Training configuration from a named size, a TOML file and CLI overrides (in that order)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any

from ecgbench.data.folds import FoldSplit, parse_folds
from ecgbench.errors import BadInputError
from ecgbench.nets.families import MODEL_SIZES, ModelConfig, config_for, config_from_dict
from ecgbench.tomlio import read_toml
from ecgbench.train.optim import OPTIMIZERS


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


_FOLD_KEYS = ("train_folds", "val_folds", "test_folds")


# TrainConfig's annotations (strings, as the module uses postponed evaluation) -> accepted types.
_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "int | None": (int, type(None)),
}


def _coerce(key: str, value: Any) -> Any:
    if key in _FOLD_KEYS:
        if isinstance(value, str):
            return parse_folds(value)
        values = value if isinstance(value, list | tuple) else [value]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise BadInputError(f"{key} must be fold numbers like [1, 2] or '1-8', got {value!r}")
        return tuple(values)
    return value


def _check_types(cfg: TrainConfig) -> None:
    for f in fields(cfg):
        v = getattr(cfg, f.name)
        want = _TYPES.get(str(f.type))
        if want is not None and (isinstance(v, bool) or not isinstance(v, want)):
            raise BadInputError(f"{f.name} must be {f.type}, got {v!r}")


def resolve_train_config(
    model: str | None,
    config: str | os.PathLike[str] | None,
    overrides: dict[str, Any],
) -> tuple[ModelConfig, TrainConfig]:
    """``[model]`` may hold ``name = "resnet1d_atto"`` plus any field of that family's config, or
    ``family = "transformer1d"`` plus fields (no name, no family: a ConvNeXt-1D config)."""
    doc: dict[str, Any] = read_toml(config) if config else {}
    unknown_tables = set(doc) - {"model", "train"}
    if unknown_tables:
        raise BadInputError(
            f"{config}: unknown tables {sorted(unknown_tables)}; use [model], [train]"
        )
    mdoc = dict(doc.get("model", {}))
    name = model or mdoc.pop("name", None)
    mdoc.pop("name", None)
    if name is None and not mdoc:
        raise BadInputError("give --model NAME or --config FILE with a [model] table")
    try:
        if name is not None:
            if name not in MODEL_SIZES:
                raise BadInputError(f"unknown model {name!r}; sizes: {', '.join(MODEL_SIZES)}")
            model_cfg = config_for(name, **mdoc)
        else:
            model_cfg = config_from_dict(mdoc)
    except (TypeError, ValueError) as e:
        raise BadInputError(f"bad model config: {e}") from None
    tdoc = dict(doc.get("train", {}))
    known = {f.name for f in fields(TrainConfig)}
    bad = set(tdoc) - known
    if bad:
        raise BadInputError(f"{config}: unknown [train] keys {sorted(bad)}")
    merged = {k: _coerce(k, v) for k, v in tdoc.items()}
    merged.update({k: _coerce(k, v) for k, v in overrides.items() if v is not None})
    cfg = replace(TrainConfig(), **merged)
    _check_types(cfg)
    if cfg.optimizer not in OPTIMIZERS:
        raise BadInputError(f"unknown optimiser {cfg.optimizer!r}; choose {', '.join(OPTIMIZERS)}")
    if cfg.epochs < 1 or cfg.batch_size < 1 or cfg.crop_samples < 16:
        raise BadInputError("epochs and batch must be >= 1 and crop >= 16 samples")
    return model_cfg, cfg
