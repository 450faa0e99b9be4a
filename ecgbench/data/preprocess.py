"""Signal preprocessing as in the seed study: resample, zero-phase band-pass, per-lead z-score."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import signal as sps


@dataclass(frozen=True)
class Preprocessing:
    """Stored in every checkpoint so that export, evaluation and benchmarks feed the same input."""

    fs: float = 500.0  # the model's sampling rate
    eval_seconds: float = 10.0  # evaluation window (the full 10 s record)
    crop_samples: int = 2048  # random training crop at ``fs``
    band_hz: tuple[float, float] = (1.0, 47.0)
    filter_order: int = 3

    @property
    def eval_samples(self) -> int:
        return round(self.eval_seconds * self.fs)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["band_hz"] = list(self.band_hz)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Preprocessing:
        d = dict(d)
        if "band_hz" in d:
            d["band_hz"] = tuple(d["band_hz"])
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


MAX_RATE_TERMS = 1000  # up/down factors the polyphase resampler is given at most


def rate_ratio(fs_in: float, fs_out: float) -> Fraction:
    """fs_out / fs_in as the up/down factors :func:`resample` uses (nearest, terms <= 1000)."""
    return Fraction(fs_out / fs_in).limit_denominator(MAX_RATE_TERMS)


def resample(x: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Polyphase resampling along the last axis (exact for rational rate ratios)."""
    if abs(fs_in - fs_out) < 1e-9:
        return x
    ratio = rate_ratio(fs_in, fs_out)
    return sps.resample_poly(x, ratio.numerator, ratio.denominator, axis=-1).astype(np.float32)


@lru_cache(maxsize=16)
def _bandpass_sos(fs: float, low: float, high: float, order: int) -> np.ndarray:
    nyq = fs / 2.0
    high = min(high, 0.9 * nyq)
    return sps.butter(order, [low / nyq, high / nyq], btype="bandpass", output="sos")


def bandpass(x: np.ndarray, fs: float, band: tuple[float, float], order: int) -> np.ndarray:
    sos = _bandpass_sos(float(fs), float(band[0]), float(band[1]), int(order))
    return sps.sosfiltfilt(sos, x, axis=-1).astype(np.float32)


def zscore(x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Per-lead normalisation; a flat lead becomes zeros rather than NaN."""
    mu = x.mean(axis=-1, keepdims=True)
    sd = x.std(axis=-1, keepdims=True)
    return ((x - mu) / np.maximum(sd, eps)).astype(np.float32)


def preprocess_signal(x: np.ndarray, fs_in: float, pp: Preprocessing) -> np.ndarray:
    """[leads, samples] at ``fs_in`` -> float32 [leads, samples'] at ``pp.fs``, filtered, normalised."""
    x = resample(np.asarray(x, dtype=np.float32), fs_in, pp.fs)
    x = bandpass(x, pp.fs, pp.band_hz, pp.filter_order)
    return zscore(x)


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` samples, zero-padded at the end if the signal is shorter."""
    if x.shape[-1] >= n:
        return x[..., :n]
    pad = np.zeros((*x.shape[:-1], n - x.shape[-1]), dtype=x.dtype)
    return np.concatenate([x, pad], axis=-1)


def random_crop(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    if x.shape[-1] <= n:
        return fit_length(x, n)
    start = int(rng.integers(0, x.shape[-1] - n + 1))
    return x[..., start : start + n]
