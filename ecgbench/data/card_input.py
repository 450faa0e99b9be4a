"""Records as a model card asks for them: its leads by name, units, rate, steps, window, layout.

The order is fixed: pick and reorder the card's leads by the header's lead names (a record lacking
one is skipped, named), convert units, resample to the card's rate, apply the card's steps in
order, take the first ``seconds`` (zero-padded), then lay out as ``NCL`` or ``NLC``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage
from scipy import signal as sps

from ecgbench.data.folds import load_folds
from ecgbench.data.leads import lead_order
from ecgbench.data.preprocess import bandpass, fit_length, resample, zscore
from ecgbench.data.records import Record, RecordError, iter_records
from ecgbench.errors import BadInputError

if TYPE_CHECKING:
    from ecgbench.data.causal import Streaming


def apply_step(x: np.ndarray, fs: float, step: Any) -> np.ndarray:
    """One card step on [leads, samples] at ``fs``."""
    a = step.args
    if step.name == "bandpass":
        return bandpass(x, fs, (a[0], a[1]), int(a[2]))
    if step.name == "highpass":
        sos = sps.butter(int(a[1]), a[0] / (fs / 2.0), btype="highpass", output="sos")
        return sps.sosfiltfilt(sos, x, axis=-1).astype(np.float32)
    if step.name == "median_baseline":
        w = max(1, int(a[0]))
        return (x - ndimage.median_filter(x, size=(1, w), mode="nearest")).astype(np.float32)
    if step.name == "mean_baseline":
        w = max(1, int(a[0]))
        return (x - ndimage.uniform_filter1d(x, w, axis=-1, mode="nearest")).astype(np.float32)
    if step.name == "zscore":
        return zscore(x)
    if step.name == "clip":
        return np.clip(x, a[0], a[1]).astype(np.float32)
    raise BadInputError(f"unknown preprocess step {step.name!r}")  # the card parser refuses first


def card_leads(signal_mv: np.ndarray, leads: list[str], card: Any) -> np.ndarray:
    """[record leads, samples] in mV -> the card's leads, in its order and units (float32)."""
    order = lead_order(leads, card.leads)
    if isinstance(order, str):
        raise BadInputError(order)
    x = np.asarray(signal_mv, dtype=np.float32)[order]
    return x * np.float32(1000.0) if card.units == "uV" else x


def card_signal(
    signal_mv: np.ndarray, fs_in: float, leads: list[str], card: Any, samples: int | None = None
) -> np.ndarray:
    """[record leads, samples] in mV -> [card leads, ``samples``] float32, as the card says."""
    x = resample(card_leads(signal_mv, leads, card), fs_in, card.fs)
    for step in card.steps:
        x = apply_step(x, card.fs, step)
    return fit_length(x, card.samples if samples is None else samples).astype(np.float32)


def to_layout(x: np.ndarray, layout: str) -> np.ndarray:
    """[N, leads, samples] -> the model's layout."""
    return np.ascontiguousarray(x if layout == "NCL" else np.swapaxes(x, 1, 2), dtype=np.float32)


@dataclass
class CardSet:
    """Records of one folder prepared for one card: ``x`` is the model's input, in its layout."""

    names: list[str]
    x: np.ndarray
    labels: np.ndarray  # [N, classes] multi-hot per the card's labels
    folds: np.ndarray
    problems: list[RecordError] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)


def _prepare(item: Record, card: Any, causal: Streaming | None = None) -> np.ndarray | str:
    order = lead_order(item.leads, card.leads)
    if isinstance(order, str):
        return order
    if causal is None:
        return card_signal(item.signal, item.fs, item.leads, card)
    from ecgbench.data.causal import causal_signal

    x = card_leads(item.signal, item.leads, card)
    hop = causal.hop_n(card.fs)
    return causal_signal(x, item.fs, card.steps, card.fs, card.samples, hop, causal.mode)


def load_card_set(
    data_dir: str | os.PathLike[str],
    card: Any,
    folds: tuple[int, ...] | None = None,
    limit: int | None = None,
    spread: bool = False,
    labelled: bool = True,
    min_duration_s: float = 1.0,
    causal: Streaming | None = None,
) -> CardSet:
    """Read and prepare the records of ``data_dir``; unusable ones are kept in ``problems``.

    ``labelled``: read each record's truth per ``card.labels`` (a record without one is skipped);
    calibration and verification need none.
    """
    from ecgbench.data.dataset import select_paths
    from ecgbench.labels import Truth

    d = Path(data_dir)
    paths = select_paths(d, folds, limit, spread)
    fold_of = load_folds(d) or {}
    truth = Truth(card, d) if labelled else None
    names, xs, ys, fl, problems = [], [], [], [], []
    for item in iter_records(paths, n_leads=None, min_duration_s=min_duration_s):
        if isinstance(item, RecordError):
            problems.append(item)
            continue
        y = truth.of(item.name, item.dx) if truth else np.zeros(len(card.classes), np.float32)
        x = _prepare(item, card, causal) if not isinstance(y, str) else y
        if isinstance(x, str):
            problems.append(RecordError(item.name, x))
            continue
        names.append(item.name)
        xs.append(x)
        ys.append(y)
        fl.append(int(fold_of.get(item.name, 0)))
    if not names:
        first = f", e.g. {problems[0]}" if problems else ""
        raise BadInputError(f"no usable record in {d} for this model{first}")
    return CardSet(
        names=names,
        x=to_layout(np.stack(xs), card.layout),
        labels=np.stack(ys),
        folds=np.asarray(fl, dtype=np.int64),
        problems=problems,
    )


def synthetic_raw(card: Any, seconds: float) -> tuple[np.ndarray, list[str]]:
    """The bundled synthetic beat train at the card's rate, in mV, with a lead for every card lead
    (a lead the 12-lead signal lacks is lead II under its name), and the leads' names."""
    from ecgbench.data.records import STANDARD_LEADS
    from ecgbench.data.synthetic import synthetic_ecg

    raw = synthetic_ecg(seconds=seconds, fs=card.fs)
    leads = list(STANDARD_LEADS)
    extra = [c for c in card.leads if c.lower() not in {s.lower() for s in leads}]
    if extra:
        raw = np.concatenate([raw, np.repeat(raw[1:2], len(extra), axis=0)])
        leads += extra
    return raw, leads


def synthetic_card_input(card: Any, batch: int = 1, samples: int | None = None) -> np.ndarray:
    """The bundled synthetic beat train prepared for ``card`` (timing only, never accuracy)."""
    n = card.samples if samples is None else samples
    raw, leads = synthetic_raw(card, max(card.seconds, n / card.fs))
    x = card_signal(raw, card.fs, leads, card, samples=n)
    return to_layout(np.repeat(x[None], batch, axis=0), card.layout)
