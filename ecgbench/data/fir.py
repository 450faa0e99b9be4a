"""A linear-phase FIR that stands in for the zero-phase Butterworth band-pass.

``sosfiltfilt`` gives the magnitude |H(f)|² of the Butterworth sections with no phase shift. A
symmetric FIR designed (``scipy.signal.firwin2``) to that magnitude has a constant delay of
(taps − 1) / 2 samples and the same shape otherwise: run causally, it gives the zero-phase result
delayed (what a live stream can have); run centred ("same" padding), it is a zero-phase filter
a graph can hold as one depthwise convolution. Its error against |H|² is stated, per band.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import signal as sps

from ecgbench.errors import BadInputError

FILTER_STEPS = ("bandpass", "highpass")
DEFAULT_FIR_SECONDS = 2.0  # taps cover this much signal: the 1 Hz edge needs it (docs/pipeline.md)
GRID = 8193
# What the FIR (2 s of taps) is held to against the zero-phase Butterworth on an ECG: relative
# RMS difference of the filtered waveform away from both ends (its delay taken out). Most of it
# is the 1-2 Hz edge, where a beat train at 60-120 /min has its fundamental (docs/pipeline.md).
WAVEFORM_TOLERANCE = 0.06


def _sos(step: Any, fs: float) -> np.ndarray:
    from ecgbench.data.preprocess import _bandpass_sos

    a = step.args
    if step.name == "bandpass":
        return _bandpass_sos(float(fs), float(a[0]), float(a[1]), int(a[2]))
    return sps.butter(int(a[1]), a[0] / (fs / 2.0), btype="highpass", output="sos")


def zero_phase_magnitude(steps: tuple[Any, ...], fs: float, f: np.ndarray) -> np.ndarray:
    """|H(f)|² of every filter step, multiplied (the steps run one after another)."""
    g = np.ones_like(f)
    for s in steps:
        if s.name in FILTER_STEPS:
            _, h = sps.sosfreqz(_sos(s, fs), worN=f, fs=fs)
            g = g * np.abs(h) ** 2
    return g


def fir_taps(fs: float, seconds: float = DEFAULT_FIR_SECONDS) -> int:
    """An odd tap count covering ``seconds`` at ``fs`` (odd: a whole-sample delay)."""
    n = max(3, round(seconds * fs))
    return n if n % 2 else n + 1


def design_fir(steps: tuple[Any, ...], fs: float, taps: int) -> np.ndarray:
    """The symmetric FIR (``taps`` odd) whose magnitude is the zero-phase response of ``steps``."""
    if taps < 3 or taps % 2 == 0:
        raise BadInputError(f"FIR taps must be odd and >= 3, not {taps}")
    f = np.linspace(0.0, fs / 2.0, GRID)
    g = zero_phase_magnitude(steps, fs, f)
    return sps.firwin2(taps, f, g, fs=fs, window="hamming").astype(np.float64)


@dataclass(frozen=True)
class FirError:
    """Largest |(|H_fir| − |H|²)| per band; ``passband``: from 2× the low edge to the high edge
    (the low edge itself is the FIR's hardest part, reported apart)."""

    taps: int
    delay_s: float
    passband: float
    low_edge: float  # from the low cut-off to twice it
    stopband: float  # above the high edge
    passband_hz: tuple[float, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        lo, hi = self.passband_hz
        return (
            f"{self.taps} taps ({self.delay_s:g} s delay): |error| ≤ {self.passband:.4f} in "
            f"{lo:g}–{hi:g} Hz, {self.low_edge:.3f} at the low edge, {self.stopband:.4f} above"
        )


def fir_error(h: np.ndarray, steps: tuple[Any, ...], fs: float) -> FirError:
    f = np.linspace(0.0, fs / 2.0, GRID)
    g = zero_phase_magnitude(steps, fs, f)
    _, H = sps.freqz(h, worN=f, fs=fs)
    err = np.abs(np.abs(H) - g)
    lows = [s.args[0] for s in steps if s.name in FILTER_STEPS]
    highs = [s.args[1] for s in steps if s.name == "bandpass"]
    lo = float(max(lows)) if lows else 0.0
    hi = float(min(min(highs), 0.9 * fs / 2)) if highs else fs / 2

    def worst(a: float, b: float) -> float:
        m = (f >= a) & (f <= b)
        return float(err[m].max()) if m.any() else 0.0

    return FirError(
        taps=len(h),
        delay_s=(len(h) - 1) / 2 / fs,
        passband=worst(2 * lo, hi),
        low_edge=worst(lo, 2 * lo),
        stopband=worst(hi * 1.2, fs / 2) if highs else 0.0,
        passband_hz=(2 * lo, hi),
    )
