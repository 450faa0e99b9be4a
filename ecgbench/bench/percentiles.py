"""When a tail percentile means something: the samples it needs, and its distribution-free interval.

A p99 from 100 samples is an interpolation between the two largest samples: one unlucky call moves
it anywhere. These pure functions say how many samples a percentile needs before the data can bound
it at all, and what the samples say about it (an interval of order statistics, no assumption on the
shape of the latency distribution). Samples are treated as independent draws; timing samples are
autocorrelated (drift, frequency states), so the counts here are a floor, not a guarantee.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy.stats import binom

CONFIDENCE = 0.99  # MLPerf LoadGen's early-stopping confidence
REPORTED = {"p90": 90.0, "p99": 99.0}  # the percentiles a row reports (Latency.p90_ms, p99_ms)
_NAME = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")


def parse_percentile(name: str) -> float:
    """``"p99"`` -> 99.0 (also ``"p99.9"``, ``"p90"``); ValueError for anything else."""
    m = _NAME.match(name.strip().lower())
    q = float(m.group(1)) if m else math.nan
    if not 0 < q < 100:
        raise ValueError(f"{name!r} is not a percentile; use p90, p99, p99.9, ...")
    return q


@lru_cache(maxsize=64)
def min_samples(percentile: float, confidence: float = CONFIDENCE, beyond: int = 1) -> int:
    """The fewest samples from which the percentile can be bounded: MLPerf LoadGen's rule.

    With ``p = percentile / 100`` and ``K ~ Binomial(n, 1 - p)`` the number of samples above the
    true p-quantile, this is the smallest ``n`` with ``P(K <= beyond) < 1 - confidence``: if the
    true tail beyond the quantile were exactly ``1 - p``, a run of ``n`` samples would show at most
    ``beyond`` samples above it less often than ``1 - confidence`` (1 %). Equivalently, the ``(beyond + 1)``-th
    largest sample is a one-sided ``confidence`` upper bound of the true percentile; with fewer
    samples not even the second-largest sample bounds it: the reported value is no estimate.

    LoadGen's early stopping (``loadgen/early_stopping.cc``, ``results.cc``: ``t = 1``,
    ``c = 0.99``, tolerance 0) reports this as "processed at least h_min + 1 queries": 64 for p90,
    662 for p99. A normal bound on the tail count, ``z^2 p / (1 - p)`` (z = 2.58, a margin as wide
    as the tail itself), comes close (60 and 659) but is not the rule; the exact binomial is used.
    """
    p = percentile / 100.0
    if not 0 < p < 1 or not 0 < confidence < 1 or beyond < 0:
        raise ValueError("percentile in (0, 100), confidence in (0, 1), beyond >= 0")

    def fails(n: int) -> bool:
        return float(binom.cdf(beyond, n, 1 - p)) >= 1 - confidence

    lo = max(beyond + 1, math.ceil(math.log(1 - confidence) / math.log(p)))  # a lower bound
    hi = lo
    while fails(hi):  # P(K <= beyond) falls as n grows: double, then bisect
        lo, hi = hi + 1, hi * 2
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if fails(mid) else (lo, mid)
    return hi


def validity(n: int, percentiles: dict[str, float] = REPORTED) -> dict[str, bool]:
    """Per named percentile: were ``n`` samples enough (:func:`min_samples`)?"""
    return {name: n >= min_samples(q) for name, q in percentiles.items()}


def quantile_interval(
    samples: Sequence[float] | np.ndarray, percentile: float, confidence: float = 0.95
) -> tuple[float, float] | None:
    """Distribution-free two-sided interval of the true percentile: two order statistics.

    ``K ~ Binomial(n, p)`` samples fall at or below the true p-quantile, so the order statistics
    ``X_(l) <= q < X_(u)`` cover it with probability ``P(l <= K <= u - 1) >= confidence``.
    None where ``n`` is too small for any such pair (the interval would need a sample beyond the
    largest).
    """
    x = np.sort(np.asarray(samples, dtype=np.float64))
    n, p, a = x.size, percentile / 100.0, (1 - confidence) / 2
    if n == 0:
        return None
    lo = int(binom.ppf(a, n, p))  # P(K <= lo - 1) < a
    hi = int(binom.ppf(1 - a, n, p)) + 1  # P(K <= hi - 1) >= 1 - a
    if lo < 1 or hi > n:
        return None
    return float(x[lo - 1]), float(x[hi - 1])
