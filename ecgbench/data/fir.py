"""A linear-phase FIR that stands in for the zero-phase Butterworth band-pass.

``sosfiltfilt`` gives the magnitude |H(f)|² of the Butterworth sections with no phase shift. A
symmetric FIR designed (``scipy.signal.firwin2``) to that magnitude has a constant delay of
(taps − 1) / 2 samples and the same shape otherwise: run causally, it gives the zero-phase result
delayed (what a live stream can have); run centred ("same" padding), it is a zero-phase filter
a graph can hold as one depthwise convolution. Its error against |H|² is stated, per band.
"""

from __future__ import annotations

from collections.abc import Callable
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
# The in-graph two-stage design against the scipy pipeline (band-pass and z-score), relative RMS
# over the whole window, edges included (their extension is scipy's, the edge filter is not).
IN_GRAPH_TOLERANCE = 0.10


def filter_sos(step: Any, fs: float) -> np.ndarray:
    """The Butterworth sections of a card's bandpass or highpass step at ``fs``."""
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
            _, h = sps.sosfreqz(filter_sos(s, fs), worN=f, fs=fs)
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
        lag = f"{self.delay_s:g} s delay" if self.delay_s else "centred, no delay"
        return (
            f"{self.taps} taps ({lag}): |error| ≤ {self.passband:.4f} in "
            f"{lo:g}–{hi:g} Hz, {self.low_edge:.3f} at the low edge, {self.stopband:.4f} above"
        )


def banded_error(
    magnitude: Callable[[np.ndarray], np.ndarray],
    steps: tuple[Any, ...],
    fs: float,
    taps: int,
    delay_s: float,
) -> FirError:
    """A design's |H(f)| (``magnitude`` of the frequency grid) against the zero-phase |H|² of
    ``steps``: the largest |error| per band."""
    f = np.linspace(0.0, fs / 2.0, GRID)
    err = np.abs(magnitude(f) - zero_phase_magnitude(steps, fs, f))
    lows = [s.args[0] for s in steps if s.name in FILTER_STEPS]
    highs = [s.args[1] for s in steps if s.name == "bandpass"]
    lo = float(max(lows)) if lows else 0.0
    hi = float(min(min(highs), 0.9 * fs / 2)) if highs else fs / 2

    def worst(a: float, b: float) -> float:
        m = (f >= a) & (f <= b)
        return float(err[m].max()) if m.any() else 0.0

    return FirError(
        taps=taps,
        delay_s=delay_s,
        passband=worst(2 * lo, hi),
        low_edge=worst(lo, 2 * lo),
        stopband=worst(hi * 1.2, fs / 2) if highs else 0.0,
        passband_hz=(2 * lo, hi),
    )


def fir_error(h: np.ndarray, steps: tuple[Any, ...], fs: float) -> FirError:
    """The causal FIR's error; its delay is (taps - 1) / 2 samples."""

    def magnitude(f: np.ndarray) -> np.ndarray:
        return np.abs(sps.freqz(h, worN=f, fs=fs)[1])

    return banded_error(magnitude, steps, fs, len(h), (len(h) - 1) / 2 / fs)


# --------------------------------------------------------------------------- in the graph
@dataclass(frozen=True)
class TwoStageFir:
    """The band-pass as a graph holds it cheaply (``export --preprocess-in-graph``).

    A Butterworth band-pass's zero-phase magnitude is close to the product of its low-pass and
    high-pass halves, and a Butterworth high-pass's |H|² is 1 − the low-pass's at the same edge.
    So: a short FIR low-pass at the model's rate (the high edge), minus the low-edge low-pass of
    that output computed at 1/``decimation`` of the rate (average-pool down, FIR, linear
    interpolation up). Each 1 Hz-sharp FIR at the full rate would need ~1,000 taps; this is ~200.
    """

    fs: float
    decimation: int
    lowpass: np.ndarray  # at fs, |H|² of the Butterworth low-pass at the high edge
    baseline: np.ndarray  # at fs / decimation, |H|² of the Butterworth low-pass at the low edge
    order: int
    band_hz: tuple[float, float]

    def response(self, f: np.ndarray) -> np.ndarray:
        """|H(f)| of the design (the pooling and interpolation, ~1 below the low edge's band,
        left out)."""
        _, hl = sps.freqz(self.lowpass, worN=f, fs=self.fs)
        low = f <= self.fs / self.decimation / 2
        hb = np.zeros_like(f, dtype=np.complex128)
        _, hb[low] = sps.freqz(self.baseline, worN=f[low], fs=self.fs / self.decimation)
        return np.abs(hl) * np.abs(1.0 - np.abs(hb))


def bandpass_step(steps: tuple[Any, ...], where: str = "model") -> Any:
    """The one band-pass an in-graph design replaces; one line when the steps are otherwise."""
    names = [s.name for s in steps]
    if names.count("bandpass") != 1 or any(n not in ("bandpass", "zscore") for n in names):
        raise BadInputError(
            f"{where}: the graph can hold one bandpass and a zscore, not {', '.join(map(str, steps))}"
        )
    return next(s for s in steps if s.name == "bandpass")


def design_two_stage(
    steps: tuple[Any, ...],
    fs: float,
    taps: int = 101,
    decimation: int = 10,
    baseline_taps: int = 101,
) -> TwoStageFir:
    bp = bandpass_step(steps)
    lo, hi, order = float(bp.args[0]), float(bp.args[1]), int(bp.args[2])
    hi = min(hi, 0.9 * fs / 2)
    f = np.linspace(0.0, fs / 2.0, GRID)
    low = np.abs(sps.sosfreqz(sps.butter(order, hi / (fs / 2), output="sos"), worN=f, fs=fs)[1])
    h_low = sps.firwin2(taps, f, low**2, fs=fs, window="hamming")
    fd = fs / decimation
    f2 = np.linspace(0.0, fd / 2.0, GRID)
    base = np.abs(sps.sosfreqz(sps.butter(order, lo / (fd / 2), output="sos"), worN=f2, fs=fd)[1])
    h_base = sps.firwin2(baseline_taps, f2, base**2, fs=fd, window="hamming")
    return TwoStageFir(fs, decimation, h_low, h_base, order, (lo, hi))


def two_stage_error(d: TwoStageFir, steps: tuple[Any, ...]) -> FirError:
    """The design's |H| against the zero-phase Butterworth's |H|², per band (centred: no delay)."""
    return banded_error(d.response, steps, d.fs, len(d.lowpass) + len(d.baseline), 0.0)
