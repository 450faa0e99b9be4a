"""A deterministic, ECG-shaped 12-lead signal: the bundled benchmark input when no records exist.

Latency of these convolutional models does not depend on the values fed to them, so timing on a
synthetic beat train is honest; accuracy is never computed on it, and calibration never uses it.
"""

from __future__ import annotations

import numpy as np

from ecgbench.data.preprocess import Preprocessing, preprocess_signal

# Per-lead amplitude scale of the P, QRS and T waves (a plausible normal axis; not a clinical model).
_LEAD_GAIN = np.array([1.0, 1.4, 0.5, -1.1, 0.3, 0.9, -0.6, 0.4, 0.9, 1.3, 1.2, 0.9])


def synthetic_ecg(
    seconds: float = 10.0, fs: float = 500.0, heart_rate: float = 72.0, seed: int = 0
) -> np.ndarray:
    """[12, seconds*fs] float32 in mV: Gaussian P-QRS-T beats, baseline wander and noise."""
    rng = np.random.default_rng(seed)
    n = round(seconds * fs)
    t = np.arange(n) / fs
    rr = 60.0 / heart_rate
    beat = np.zeros(n)
    for onset in np.arange(0.2, seconds, rr):
        onset = onset + rng.normal(0, 0.01)
        for offset, width, amp in (
            (0.0, 0.025, 0.12),
            (0.16, 0.01, -0.1),
            (0.18, 0.012, 1.0),
            (0.2, 0.01, -0.25),
            (0.42, 0.04, 0.3),
        ):
            beat += amp * np.exp(-0.5 * ((t - onset - offset) / width) ** 2)
    wander = 0.05 * np.sin(2 * np.pi * 0.3 * t)
    leads = _LEAD_GAIN[:, None] * beat[None, :] + wander[None, :]
    leads += rng.normal(0, 0.01, size=leads.shape)
    return leads.astype(np.float32)


def synthetic_input(
    pp: Preprocessing, batch: int = 1, seed: int = 0, samples: int | None = None
) -> np.ndarray:
    """[batch, 12, samples] (default: the model's 10 s window), preprocessed like a real record."""
    n = samples or pp.eval_samples
    x = [
        preprocess_signal(synthetic_ecg(n / pp.fs, pp.fs, seed=seed + i), pp.fs, pp)[..., :n]
        for i in range(batch)
    ]
    return np.stack(x).astype(np.float32)
