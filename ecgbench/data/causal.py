"""Preprocessing a live stream can run: causal filters with carried state, a windowed z-score.

The training pipeline filters zero-phase (``sosfiltfilt``): it runs the filter forwards and then
backwards over the whole record, so each output sample depends on samples that have not arrived
yet. A monitor only has the past. Two causal forms, each carrying its state from hop to hop so
that filtering a stream hop by hop gives exactly what one pass over the whole signal gives:

- ``iir``: the same Butterworth sections run once forwards (``sosfilt``): the least work, but its
  phase is not linear, so the waveform the model sees is distorted, not just delayed;
- ``fir``: a linear-phase FIR matching the zero-phase magnitude (:mod:`ecgbench.data.fir`): the
  zero-phase result delayed by (taps - 1) / 2 samples, for a longer filter.

The normalisation is the z-score of the window the model sees. The accuracy cost of each against
the zero-phase pipeline is measured by ``ecgbench stream-accuracy``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import signal as sps

from ecgbench.data.fir import DEFAULT_FIR_SECONDS, FILTER_STEPS, design_fir, filter_sos, fir_taps
from ecgbench.data.preprocess import Preprocessing, fit_length, resample, zscore
from ecgbench.errors import BadInputError

# Card steps with a causal form, per sample (stateful or elementwise); "zscore" is the window's.
STREAMABLE = ("bandpass", "highpass", "clip", "zscore")
MODES = ("iir", "fir")


def pp_steps(pp: Preprocessing) -> tuple[Any, ...]:
    """A trained checkpoint's preprocessing as card steps (the order it runs them in)."""
    from ecgbench.card import Step

    lo, hi = pp.band_hz
    return (Step("bandpass", (float(lo), float(hi), float(pp.filter_order))), Step("zscore"))


def check_streamable(steps: tuple[Any, ...], where: str = "model", mode: str = "iir") -> None:
    """One line naming the step a stream cannot run (a centred median needs the future too)."""
    if mode not in MODES:
        raise BadInputError(f"unknown causal mode {mode!r}; use {', '.join(MODES)}")
    names = [s.name for s in steps]
    filters = [i for i, n in enumerate(names) if n in FILTER_STEPS]
    if mode == "fir" and filters != list(range(len(filters))):
        raise BadInputError(f"{where}: the fir mode merges the filters, which must come first")
    seen_zscore = False
    for s in steps:
        if s.name not in STREAMABLE:
            raise BadInputError(
                f"{where}: preprocessing step {s} has no causal form (streamable: "
                f"{', '.join(STREAMABLE)})"
            )
        if seen_zscore and s.name in FILTER_STEPS:
            raise BadInputError(f"{where}: a filter after zscore cannot stream ({s})")
        seen_zscore = seen_zscore or s.name == "zscore"


@dataclass
class CausalPreprocessor:
    """Samples in, hop by hop; the model's window out. ``steps`` are the card's, in its order."""

    steps: tuple[Any, ...]
    fs: float
    window_n: int
    leads: int = 12
    mode: str = "iir"
    fir_seconds: float = DEFAULT_FIR_SECONDS
    pushed: int = 0  # samples received so far
    _filters: list[tuple[np.ndarray, np.ndarray | None]] = field(default_factory=list)
    _fir: np.ndarray | None = None
    _history: np.ndarray | None = None  # fir: the last taps - 1 samples received
    _buffer: np.ndarray | None = None

    def __post_init__(self) -> None:
        check_streamable(self.steps, mode=self.mode)
        filters = tuple(s for s in self.steps if s.name in FILTER_STEPS)
        if self.mode == "fir" and filters:
            self._fir = design_fir(filters, self.fs, fir_taps(self.fs, self.fir_seconds))
        else:
            self._filters = [(filter_sos(s, self.fs), None) for s in filters]
        self._buffer = np.zeros((self.leads, 0), dtype=np.float32)

    @property
    def delay_s(self) -> float:
        """How far the filtered waveform lags the newest sample (fir: exactly; iir: no one lag)."""
        return 0.0 if self._fir is None else (len(self._fir) - 1) / 2 / self.fs

    def _fir_step(self, y: np.ndarray) -> np.ndarray:
        h = self._fir
        assert h is not None
        if self._history is None:  # the first sample held before the stream: no step at start
            self._history = np.repeat(y[:, :1], len(h) - 1, axis=1)
        buf = np.concatenate([self._history, y], axis=-1)
        self._history = buf[:, buf.shape[1] - (len(h) - 1) :]
        return sps.oaconvolve(buf, h[None, :], mode="valid", axes=-1)

    def _iir_step(self, y: np.ndarray, k: int) -> np.ndarray:
        sos, zi = self._filters[k]
        if zi is None:  # the first sample as a steady state: no step at the stream's start
            zi = sps.sosfilt_zi(sos)[:, None, :] * y[None, :, :1]
        y, zi = sps.sosfilt(sos, y, axis=-1, zi=zi)
        self._filters[k] = (sos, zi)
        return y

    def push(self, chunk: np.ndarray) -> None:
        """The next samples [leads, n] in the model's units at its rate, in arrival order."""
        y = np.asarray(chunk, dtype=np.float64)
        if y.shape[-1] == 0:
            return
        if self._fir is not None:  # every filter step, merged
            y = self._fir_step(y)
        k = 0
        for s in self.steps:
            if s.name == "zscore":
                break
            if s.name == "clip":
                y = np.clip(y, s.args[0], s.args[1])
            elif self._fir is None:
                y = self._iir_step(y, k)
                k += 1
        assert self._buffer is not None
        kept = np.concatenate([self._buffer, y.astype(np.float32)], axis=-1)
        self._buffer = kept[:, max(0, kept.shape[1] - self.window_n) :]
        self.pushed += chunk.shape[-1]

    def window(self) -> np.ndarray:
        """The last ``window_n`` filtered samples (zero-padded at the end until that many arrived,
        as the offline pipeline pads a short record), normalised on themselves, then the card's
        steps after its zscore."""
        assert self._buffer is not None
        x = fit_length(self._buffer, self.window_n)
        after = False
        for s in self.steps:
            if s.name == "zscore":
                x, after = zscore(x), True
            elif after and s.name == "clip":
                x = np.clip(x, s.args[0], s.args[1]).astype(np.float32)
        return np.ascontiguousarray(x, dtype=np.float32)


def causal_signal(
    x: np.ndarray,
    fs_in: float,
    steps: tuple[Any, ...],
    fs: float,
    window_n: int,
    hop_n: int,
    mode: str = "iir",
) -> np.ndarray:
    """A record's first window as a monitor would have seen it: resampled to ``fs``, pushed
    ``hop_n`` samples at a time, then the window ([leads, window_n]). The same samples as the
    offline pipeline's window (which, zero-phase, also read the samples after it)."""
    y = resample(np.asarray(x, dtype=np.float32), fs_in, fs)[:, :window_n]
    p = CausalPreprocessor(steps, fs, window_n, leads=y.shape[0], mode=mode)
    for s in range(0, y.shape[-1], max(1, hop_n)):
        p.push(y[:, s : s + hop_n])
    return p.window()


@dataclass(frozen=True)
class Streaming:
    """How records are preprocessed when scored as a stream would see them."""

    hop_s: float = 2.0
    mode: str = "fir"

    def hop_n(self, fs: float) -> int:
        return max(1, round(self.hop_s * fs))
