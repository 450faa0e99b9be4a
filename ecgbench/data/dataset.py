"""Record folders -> preprocessed arrays and torch datasets, skipping (and reporting) bad ones."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import Dataset

from ecgbench.data.classes import SCORED_CLASSES, encode_labels
from ecgbench.data.folds import load_folds
from ecgbench.data.leads import lead_order
from ecgbench.data.preprocess import Preprocessing, fit_length, preprocess_signal, random_crop
from ecgbench.data.records import STANDARD_LEADS, RecordError, iter_records, list_records
from ecgbench.errors import BadInputError
from ecgbench.progress import progress_bar

if TYPE_CHECKING:
    from ecgbench.data.causal import Streaming


@dataclass
class EcgSet:
    """Preprocessed records of one folder (or a fold subset of it)."""

    names: list[str]
    signals: list[np.ndarray]  # each [12, T] float32 at pp.fs
    labels: np.ndarray  # [N, C] multi-hot over the scored classes
    folds: np.ndarray  # [N] int, 0 where the folder has no metadata
    pp: Preprocessing
    problems: list[RecordError] = field(default_factory=list)
    classes: tuple[str, ...] = SCORED_CLASSES

    def __len__(self) -> int:
        return len(self.names)

    def take(self, idx: Sequence[int]) -> EcgSet:
        """The records at positions ``idx`` (problems are not carried over)."""
        idx = list(idx)
        return EcgSet(
            names=[self.names[i] for i in idx],
            signals=[self.signals[i] for i in idx],
            labels=self.labels[idx],
            folds=self.folds[idx],
            pp=self.pp,
            problems=[],
            classes=self.classes,
        )

    def subset(self, folds: Iterable[int]) -> EcgSet:
        keep = set(folds)
        return self.take([i for i, f in enumerate(self.folds) if int(f) in keep])

    def eval_array(self) -> np.ndarray:
        """[N, 12, eval_samples]: the first 10 s of each record, zero-padded if shorter."""
        n = self.pp.eval_samples
        if not self.signals:
            return np.zeros((0, 12, n), dtype=np.float32)
        return np.stack([fit_length(s, n) for s in self.signals]).astype(np.float32)

    def summary(self) -> dict[str, object]:
        counts = self.labels.sum(axis=0).astype(int).tolist()
        return {
            "records": len(self),
            "skipped": len(self.problems),
            "folds": sorted({int(f) for f in self.folds}),
            "class_counts": dict(zip(self.classes, counts, strict=True)),
        }


def load_dataset(
    data_dir: str | os.PathLike[str],
    pp: Preprocessing,
    folds: Iterable[int] | None = None,
    limit: int | None = None,
    min_duration_s: float | None = None,
    show_progress: bool = True,
    spread: bool = False,
    causal: Streaming | None = None,
) -> EcgSet:
    """Read, check and preprocess every record under ``data_dir`` (only ``folds`` if given).

    Records that cannot be used are collected in ``problems`` with their reason; only a folder with
    no usable record at all is an error. ``causal``: preprocess each record's window as a
    live stream would (:mod:`ecgbench.data.causal`), not zero-phase.
    """
    d = Path(data_dir)
    paths = select_paths(d, folds, limit, spread)
    fold_of = load_folds(d)
    if min_duration_s is None:
        min_duration_s = pp.crop_samples / pp.fs
    names: list[str] = []
    signals: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    fold_list: list[int] = []
    problems: list[RecordError] = []
    with progress_bar(show_progress) as bar:
        task = bar.add_task(f"reading {d.name}", total=len(paths))
        for item in iter_records(paths, min_duration_s=min_duration_s):
            bar.advance(task)
            if isinstance(item, RecordError):
                problems.append(item)
                continue
            order = lead_order(item.leads, STANDARD_LEADS)
            if isinstance(order, str):  # reordered by name: a permuted header is read as such
                problems.append(RecordError(item.name, order))
                continue
            names.append(item.name)
            if causal is None:
                signals.append(preprocess_signal(item.signal[order], item.fs, pp))
            else:
                signals.append(_causal(item.signal[order], item.fs, pp, causal))
            labels.append(encode_labels(item.dx))
            fold_list.append(int(fold_of.get(item.name, 0)) if fold_of else 0)
    if not names:
        raise BadInputError(
            f"no usable record in {d}: all {len(problems)} skipped, e.g. {problems[0]}"
        )
    return EcgSet(
        names=names,
        signals=signals,
        labels=np.stack(labels),
        folds=np.asarray(fold_list, dtype=np.int64),
        pp=pp,
        problems=problems,
    )


def _causal(x: np.ndarray, fs_in: float, pp: Preprocessing, how: Streaming) -> np.ndarray:
    from ecgbench.data.causal import causal_signal, pp_steps

    steps = pp_steps(pp)
    return causal_signal(x, fs_in, steps, pp.fs, pp.eval_samples, how.hop_n(pp.fs), how.mode)


def select_paths(
    data_dir: Path,
    folds: Iterable[int] | None = None,
    limit: int | None = None,
    spread: bool = False,
) -> list[Path]:
    """The record paths :func:`load_dataset` would read, without reading them."""
    d = Path(data_dir)
    if not d.is_dir():
        raise BadInputError(f"data folder not found: {d}")
    paths = list_records(d)
    fold_of = load_folds(d)
    if folds is not None:
        if fold_of is None:
            raise BadInputError(f"{d} has no metadata.csv, so folds cannot be selected")
        wanted = set(folds)
        paths = [p for p in paths if fold_of.get(p.name) in wanted]
    if limit is not None and limit < len(paths):
        if spread:  # evenly spaced over the folder: a deterministic, representative subset
            idx = np.linspace(0, len(paths) - 1, limit).round().astype(int)
            paths = [paths[i] for i in idx]
        else:
            paths = paths[:limit]
    if not paths:
        where = " for those folds" if folds is not None else ""
        raise BadInputError(f"no records (*.hea) found in {d}{where}")
    return paths


class CropDataset(Dataset):
    """Random crops for training (a new crop every epoch)."""

    def __init__(self, data: EcgSet, crop: int, seed: int = 0) -> None:
        self.data = data
        self.crop = crop
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.epoch, i))
        x = random_crop(self.data.signals[i], self.crop, rng)
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(self.data.labels[i])
