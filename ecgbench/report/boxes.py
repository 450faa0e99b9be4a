"""Box statistics of one variant's raw latency samples: pure functions over arrays.

The report draws these with ``Axes.bxp`` instead of letting matplotlib compute them, so the box,
whiskers and the median's interval come from *all* samples however long the run, and a test can
check every drawn number against this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ecgbench.statistics import median_ci, slice_levels

MIN_ROUNDS = 3  # fewer round medians make no interval worth drawing
MAX_POINTS = 150  # samples drawn as dots per variant (the box uses all of them)


@dataclass(frozen=True)
class BoxStats:
    """Tukey box of one variant in ms; ``ci_*``: 95 % interval of the median over round medians."""

    n: int
    median: float
    q1: float
    q3: float
    whislo: float  # lowest sample within 1.5 IQR below q1
    whishi: float  # highest sample within 1.5 IQR above q3
    n_rounds: int
    ci_low: float | None = None
    ci_high: float | None = None


def box_stats(samples_ns: Sequence[int], slices: Sequence[Sequence[int]] = ()) -> BoxStats:
    """Box over every sample; the median's interval is a bootstrap over the round medians (rounds
    are what varies between repetitions; single calls are not independent), None below
    :data:`MIN_ROUNDS` rounds."""
    ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    if not len(ms):
        raise ValueError("no samples")
    q1, med, q3 = np.percentile(ms, [25, 50, 75])
    iqr = q3 - q1
    lo = ms[ms >= q1 - 1.5 * iqr].min()
    hi = ms[ms <= q3 + 1.5 * iqr].max()
    rounds = slice_levels(list(samples_ns), [list(s) for s in slices]) if slices else {}
    ci: tuple[float | None, float | None] = (None, None)
    if len(rounds) >= MIN_ROUNDS:
        ci = tuple(v / 1e6 for v in median_ci(np.array(list(rounds.values()))))  # type: ignore[assignment]
    return BoxStats(
        n=len(ms),
        median=float(med),
        q1=float(q1),
        q3=float(q3),
        whislo=float(lo),
        whishi=float(hi),
        n_rounds=len(rounds),
        ci_low=ci[0],
        ci_high=ci[1],
    )


def drawn_points(samples_ns: Sequence[int], n: int = MAX_POINTS, seed: int = 0) -> np.ndarray:
    """At most ``n`` samples in ms, chosen at random (seeded): what is drawn as dots."""
    ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    if len(ms) <= n:
        return ms
    return np.random.default_rng(seed).choice(ms, size=n, replace=False)
