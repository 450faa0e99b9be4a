"""Cost against input length: latency = fixed + slope × seconds, per variant; pure functions.

A ConvNeXt-1D's work grows linearly with its input (every layer is a convolution or a per-position
linear map over time), so a variant's latency over several lengths is a line: its **slope** is the
cost of one more second of ECG (ms per s) and its **intercept** the fixed cost of a call (ms:
dispatch, the classifier head, the runtime's own overhead), which a longer window amortises.

Method. Each length is one row of the same run, timed in the same interleaved rounds. A length's
level is the median of its per-round medians (rounds, not single calls, are what repeats: one call
is not independent of the next), and the line is least squares through those levels. The interval
is a **paired bootstrap over rounds**: the same resampled rounds for every length (a round that
was slow for one length was slow for all of them), the levels and the line recomputed each time,
the central 95 % of the resampled intercepts and slopes. With fewer than :data:`MIN_ROUNDS` rounds
in common (rows without round slices) and at least three lengths, the interval is the regression's
standard error × Student's t over the row medians; with two such lengths, none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ecgbench.statistics import bootstrap_indices, percentile_interval

MIN_ROUNDS = 5  # fewer common rounds make no bootstrap worth reporting
N_BOOT = 2000


@dataclass(frozen=True)
class LengthFit:
    """One variant's line; ``*_ci`` are (low, high) or None where no interval could be had."""

    fixed_ms: float
    slope_ms_per_s: float
    fixed_ci: tuple[float, float] | None
    slope_ci: tuple[float, float] | None
    method: str  # "bootstrap over N rounds", "regression standard error", "none"
    n_lengths: int
    n_rounds: int

    def cell(self, what: str) -> str:
        """``1.23 [1.10, 1.35]``: the estimate and its interval, as the report's table shows it."""
        v, ci = (
            (self.fixed_ms, self.fixed_ci)
            if what == "fixed"
            else (self.slope_ms_per_s, self.slope_ci)
        )
        return f"{v:.4g}" + (f" [{ci[0]:.4g}, {ci[1]:.4g}]" if ci else "")


def line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares (intercept, slope) of ``y`` on ``x``; needs two distinct ``x``."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    xm = x.mean()
    sxx = float(((x - xm) ** 2).sum())
    if len(x) < 2 or sxx == 0.0:
        raise ValueError("a line needs at least two distinct lengths")
    slope = float(((x - xm) * (y - y.mean())).sum() / sxx)
    return float(y.mean() - slope * xm), slope


def _lines(x: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intercepts and slopes of many ``y`` rows ([B, n]) on one ``x`` at once."""
    xc = x - x.mean()
    slopes = (ys - ys.mean(axis=1, keepdims=True)) @ xc / float((xc**2).sum())
    return ys.mean(axis=1) - slopes * x.mean(), slopes


def _se_interval(
    x: np.ndarray, y: np.ndarray, level: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Classical OLS intervals (n - 2 degrees of freedom) of the intercept and the slope."""
    from scipy.stats import t as student_t

    a, b = line(x, y)
    n = len(x)
    resid = y - (a + b * x)
    s2 = float((resid**2).sum()) / (n - 2)
    sxx = float(((x - x.mean()) ** 2).sum())
    se_b = np.sqrt(s2 / sxx)
    se_a = np.sqrt(s2 * (1.0 / n + x.mean() ** 2 / sxx))
    q = float(student_t.ppf(0.5 + level / 2, n - 2))
    return (a - q * se_a, a + q * se_a), (b - q * se_b, b + q * se_b)


def fit_length_cost(
    seconds: Sequence[float],
    medians_ms: Sequence[float],
    round_levels: Sequence[Mapping[int, float]] | None = None,
    *,
    level: float = 0.95,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> LengthFit:
    """The line through one variant's lengths.

    ``seconds``: each length in seconds of ECG; ``medians_ms``: each row's median (used where the
    rounds are too few); ``round_levels``: per length, {round number: that round's median ms}.
    """
    x = np.asarray(seconds, dtype=np.float64)
    if len(x) != len(medians_ms) or (round_levels is not None and len(round_levels) != len(x)):
        raise ValueError("one median (and one set of round levels) per length")
    common = sorted(set.intersection(*(set(r) for r in round_levels))) if round_levels else []
    if len(common) >= MIN_ROUNDS:
        m = np.array([[lv[r] for r in common] for lv in round_levels], dtype=np.float64).T
        a, b = line(x, np.median(m, axis=0))
        idx = bootstrap_indices(len(common), n_boot, seed)
        # [B, rounds, lengths] -> per resample, each length's median over the drawn rounds
        levels = np.median(m[idx], axis=1)
        aa, bb = _lines(x, levels)
        return LengthFit(
            fixed_ms=a,
            slope_ms_per_s=b,
            fixed_ci=percentile_interval(aa, level),
            slope_ci=percentile_interval(bb, level),
            method=f"bootstrap over {len(common)} rounds",
            n_lengths=len(x),
            n_rounds=len(common),
        )
    y = np.asarray(medians_ms, dtype=np.float64)
    a, b = line(x, y)
    if len(np.unique(x)) >= 3:
        fci, sci = _se_interval(x, y, level)
        return LengthFit(a, b, fci, sci, "regression standard error", len(x), len(common))
    return LengthFit(a, b, None, None, "none", len(x), len(common))
