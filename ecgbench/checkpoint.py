"""Checkpoints: plain tensors and primitives only, loaded with ``torch.load(weights_only=True)``.

A checkpoint that carries anything else (a pickled callable, a custom class) is refused: loading it
would execute code from a file the user did not write.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ecgbench.data.classes import SCORED_CLASSES
from ecgbench.data.preprocess import Preprocessing
from ecgbench.errors import BadInputError
from ecgbench.fileio import atomic_path
from ecgbench.nets.families import ModelConfig, build_model, config_from_dict, config_to_dict
from ecgbench.numbers import Range, check_number

FORMAT = "ecgbench-checkpoint"
FORMAT_VERSION = 1
# what a checkpoint records it was trained with (``host.library_versions``; missing ones left out)
CHECKPOINT_LIBRARIES = (
    "python",
    "ecgbench",
    "torch",
    "numpy",
    "openvino",
    "nncf",
    "onnx",
    "onnxruntime",
)


@dataclass
class Checkpoint:
    config: ModelConfig  # any family; the payload records which
    state_dict: dict[str, torch.Tensor]
    preprocessing: Preprocessing
    classes: tuple[str, ...] = SCORED_CLASSES
    thresholds: list[float] = field(default_factory=lambda: [0.5] * len(SCORED_CLASSES))
    metrics: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    command: str = ""
    epoch: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # optimiser/scheduler state for --resume

    def build_model(self) -> torch.nn.Module:
        model = build_model(self.config)
        try:
            model.load_state_dict(self.state_dict)
        except (RuntimeError, TypeError, AttributeError) as e:
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise BadInputError(
                f"checkpoint weights do not fit its model config ({first})"
            ) from None
        return model.eval()

    def to_payload(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "config": config_to_dict(self.config),
            "state_dict": self.state_dict,
            "preprocessing": self.preprocessing.to_dict(),
            "classes": list(self.classes),
            "thresholds": [float(t) for t in self.thresholds],
            "metrics": self.metrics,
            "data": self.data,
            "versions": self.versions,
            "command": self.command,
            "epoch": self.epoch,
            "extra": self.extra,
        }


def save_checkpoint(ckpt: Checkpoint, path: str | os.PathLike[str]) -> None:
    with atomic_path(path, suffix=".tmp") as tmp:
        torch.save(ckpt.to_payload(), tmp)


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    p = Path(path)
    if not p.is_file():
        raise BadInputError(f"checkpoint not found: {p}")
    if not zipfile.is_zipfile(p):
        raise BadInputError(f"{p}: not a checkpoint (not the zip archive torch.save writes)")
    try:
        payload = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"GLOBAL ([\w.]+)", str(e))
        raise BadInputError(
            f"{p}: refused, the checkpoint holds objects other than tensors and plain data"
            + (f" ({found.group(1)})" if found else "")
        ) from None
    except Exception as e:  # torch raises many types for a damaged archive
        raise BadInputError(f"{p}: not a readable checkpoint ({type(e).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise BadInputError(f"{p}: not an ecgbench checkpoint")
    try:
        ckpt = Checkpoint(
            config=config_from_dict(payload["config"]),
            state_dict=payload["state_dict"],
            preprocessing=Preprocessing.from_dict(payload["preprocessing"]),
            classes=tuple(payload["classes"]),
            thresholds=list(payload["thresholds"]),
            metrics=payload.get("metrics", {}),
            data=payload.get("data", {}),
            versions=payload.get("versions", {}),
            command=payload.get("command", ""),
            epoch=int(payload.get("epoch", 0)),
            extra=payload.get("extra", {}),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise BadInputError(f"{p}: malformed ecgbench checkpoint ({e})") from None
    try:
        _check_sizes(ckpt)
    except BadInputError as e:
        raise BadInputError(f"{p}: refused, {e}") from None
    return ckpt


# What a model of any family for ECG can be: far above any model the design space samples, far below
# what would allocate terabytes or run for days (a checkpoint is a user file: bounded before use).
_LIMITS = {
    "width": Range(lo=1, hi=8192),
    "depth": Range(lo=1, hi=64),
    "kernel_size": Range(lo=1, hi=255),
    "stem_stride": Range(lo=1, hi=64),
    "in_channels": Range(lo=1, hi=64),
    "num_classes": Range(lo=1, hi=1000),
    "expansion": Range(lo=1, hi=16),
    "stem_width": Range(lo=1, hi=8192),
    "stem_kernel": Range(lo=1, hi=255),
    "patch": Range(lo=1, hi=10_000),
    "dim": Range(lo=1, hi=8192),
    "heads": Range(lo=1, hi=256),
    "mlp_ratio": Range(lo=1, hi=16),
    "fs (Hz)": Range(lo=1, hi=20_000),
    "eval_seconds": Range(lo=0, hi=600, lo_open=True),
    "crop_samples": Range(lo=1, hi=1_000_000),
}


def _check_sizes(ckpt: Checkpoint) -> None:
    c, pp = ckpt.config, ckpt.preprocessing
    for w in getattr(c, "widths", ()):
        check_number("width", w, _LIMITS["width"])
    for d in (*getattr(c, "depths", ()), *([c.depth] if hasattr(c, "depth") else [])):
        check_number("depth", d, _LIMITS["depth"])
    for k, bounds in _LIMITS.items():  # each size field the family's config has
        if k not in ("width", "depth") and hasattr(c, k):
            check_number(k, getattr(c, k), bounds)
    check_number("fs (Hz)", pp.fs, _LIMITS["fs (Hz)"])
    check_number("eval_seconds", pp.eval_seconds, _LIMITS["eval_seconds"])
    check_number("crop_samples", pp.crop_samples, _LIMITS["crop_samples"])
