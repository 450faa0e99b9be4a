"""Every interval, test and tie rule of ecgbench, on plain arrays: levels, intervals, verdicts.

Like airspeed velocity's ``statistics.py``: no run documents, rows or files here, so every number
the gates, the scores and the tables state can be checked on arrays by hand. Which samples are
compared is the caller's business; what an interval says about them is decided here, once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from statistics import NormalDist
from typing import Protocol

import numpy as np
from scipy.stats import binom

# --------------------------------------------------------------------------- intervals and ties
TIE, ABOVE, BELOW = "tie", "above", "below"


def interval_verdict(lo: float, hi: float, null: float = 0.0) -> str:
    """The one tie rule: ``above`` (all of the interval past ``null``), ``below``, else ``tie``.

    An interval that holds ``null`` cannot rank the two sides; neither can an undefined (NaN) one.
    """
    if lo > null:
        return ABOVE
    if hi < null:
        return BELOW
    return TIE


def percentile_interval(
    values: Sequence[float] | np.ndarray,
    level: float = 0.95,
    *,
    percentiles: tuple[float, float] | None = None,
) -> tuple[float, float]:
    """The central ``level`` range of resamples, over those where the statistic is finite.

    (NaN, NaN) when none is. ``percentiles`` states the two percentiles outright, for intervals
    that have always been the 2.5th and 97.5th (``50 * (1 - 0.95)`` is 2.500000000000002)."""
    v = np.asarray(values)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan
    if percentiles is None:
        tail = 50.0 * (1.0 - level)
        percentiles = (tail, 100.0 - tail)
    lo, hi = np.percentile(v, percentiles)
    return float(lo), float(hi)


def bootstrap_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """``[n_boot, n]`` indices drawn with replacement; one seed, the same draws everywhere."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def bootstrap_interval(
    x: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    percentiles: tuple[float, float] | None = (2.5, 97.5),
) -> tuple[float, float]:
    """Percentile bootstrap of ``statistic`` over the elements of ``x``.

    ``statistic`` maps the ``[n_boot, len(x)]`` resamples to one value per resample."""
    resamples = x[bootstrap_indices(len(x), n_boot, seed)]
    return percentile_interval(statistic(resamples), level, percentiles=percentiles)


# --------------------------------------------------------------------------- the gate's rule
class Verdict(str, Enum):
    """What the gate says of one key; the values are what JSON and Markdown have always shown."""

    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    UNCHANGED = "unchanged"
    # neither: this run's own noise would hide a slowdown of the threshold's size
    INCONCLUSIVE = "inconclusive"
    NOT_COMPARABLE = "not comparable"

    def __str__(self) -> str:  # f-strings show the value on every Python version
        return self.value


class Rule(Protocol):
    """What the verdict rule needs of the gate's settings."""

    @property
    def threshold(self) -> float: ...

    @property
    def alpha(self) -> float: ...

    @property
    def power(self) -> float: ...


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    min_detectable: float | None = None  # smallest slowdown caught with the rule's power


def latency_summary(samples_ns: Sequence[int]) -> dict[str, float | int]:
    """The summary of raw per-call times (ns) in ms: n, median, mean, p90, p99, min, max, IQR,
    std. One function: a row's latency and a reference's median are both made from it."""
    a = np.asarray(samples_ns, dtype=np.float64) / 1e6
    if a.size == 0:
        raise ValueError("no samples")
    q25, q50, q75, q90, q99 = np.percentile(a, [25, 50, 75, 90, 99])
    return {
        "n": int(a.size),
        "median_ms": float(q50),
        "mean_ms": float(a.mean()),
        "p90_ms": float(q90),
        "p99_ms": float(q99),
        "min_ms": float(a.min()),
        "max_ms": float(a.max()),
        "iqr_ms": float(q75 - q25),
        "std_ms": float(a.std()),
    }


def level_of(a: np.ndarray, q: float = 50.0, axis: int | None = None) -> np.ndarray | float:
    """The median (``q=50``) or a lower quantile, which ignores more of interference's tail."""
    return np.median(a, axis=axis) if q == 50.0 else np.percentile(a, q, axis=axis)


def slice_levels(
    samples_ns: list[int], slices: list[list[int]], q: float = 50.0
) -> dict[int, float]:
    """Level of each time slice, by round number (``slices``: [round, first sample index])."""
    out: dict[int, float] = {}
    a = np.asarray(samples_ns, dtype=np.float64)
    starts = [int(s[1]) for s in slices] + [len(a)]
    for (rnd, _), lo, hi in zip(slices, starts[:-1], starts[1:], strict=True):
        if hi > lo:
            out[int(rnd)] = float(level_of(a[lo:hi], q))
    return out


def paired_ratios(numerator: dict[int, float], denominator: dict[int, float]) -> np.ndarray:
    """Per round both sides were timed in, in round order: numerator's level over denominator's."""
    common = sorted(set(numerator) & set(denominator))
    return np.array([numerator[r] / denominator[r] for r in common])


def round_ratios(
    num_ns: list[int], num_slices: list[list[int]], den_ns: list[int], den_slices: list[list[int]]
) -> np.ndarray:
    """Per round both were timed in: the numerator's slice median over the denominator's."""
    return paired_ratios(slice_levels(num_ns, num_slices), slice_levels(den_ns, den_slices))


def subsample(a: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``n`` elements: the bootstrap of a long run costs the same, and says as much."""
    return a if len(a) <= n else rng.choice(a, size=n, replace=False)


def bootstrap_ratio_ci(
    base: np.ndarray,
    cur: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
    level: float = 0.95,
    q: float = 50.0,
) -> tuple[float, float]:
    """Percentile bootstrap CI of level(cur)/level(base), resampling each side independently."""
    bi = rng.integers(0, len(base), size=(n_boot, len(base)))
    ci = rng.integers(0, len(cur), size=(n_boot, len(cur)))
    ratios = level_of(cur[ci], q, axis=1) / level_of(base[bi], q, axis=1)
    return percentile_interval(ratios, level)


def median_ci(x: np.ndarray, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap 95 % interval of the median, resampling the elements of ``x``."""
    return bootstrap_interval(x, lambda r: np.median(r, axis=1), n_boot, seed)


def mannwhitney_p(cur: np.ndarray, base: np.ndarray) -> float:
    """Two-sided Mann–Whitney U p of two independent samples."""
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(cur, base, alternative="two-sided").pvalue)


def wilcoxon_p(ratios: np.ndarray) -> float:
    """Two-sided signed-rank p of log-ratios around 0 (1.0 when it cannot be computed)."""
    from scipy.stats import wilcoxon

    d = np.log(ratios)
    if len(d) < 2 or not np.any(d):
        return 1.0
    return float(wilcoxon(d).pvalue)


def log_t_interval(ratios: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float]:
    """Geometric mean of few paired ratios, its t-interval and the t-test p (log scale).

    Whole runs are few (3–10 pairs): a bootstrap of so few points is no interval, and a rank
    test cannot reach 5 % below 6 pairs; log-ratios of whole runs are near normal."""
    from scipy import stats

    d = np.log(ratios)
    n, m = len(d), float(np.mean(d))
    sd = float(np.std(d, ddof=1))
    if sd == 0.0:
        return float(np.exp(m)), float(np.exp(m)), float(np.exp(m)), 0.0 if m else 1.0
    half = float(stats.t.ppf((1 + level) / 2, n - 1)) * sd / np.sqrt(n)
    p = float(stats.ttest_1samp(d, 0.0).pvalue)
    return float(np.exp(m)), float(np.exp(m - half)), float(np.exp(m + half)), p


def log_se_of_interval(lo: float, hi: float, level: float = 0.95) -> float:
    """The standard error on the log scale that an interval of ``level`` implies (normal)."""
    if not (lo > 0 and hi >= lo):
        return math.nan
    return (math.log(hi) - math.log(lo)) / (2 * NormalDist().inv_cdf((1 + level) / 2))


def noise_floor(se_log: float, alpha: float, power: float) -> float:
    """The smallest ratio whose interval clears 1 with probability ``power`` at this noise."""
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    return math.exp(z * se_log)


def min_detectable_ratio(se_log: float, threshold: float, alpha: float, power: float) -> float:
    """The smallest slowdown the gate's rule calls a regression with probability ``power``.

    Both halves of the rule must hold: the ratio past the threshold (a true ratio ``r`` lands
    there with probability ``power`` when ``r >= threshold * exp(z_power * se)``) and the interval
    clear of 1 (:func:`noise_floor`). Whichever needs the larger slowdown decides."""
    return max(
        threshold * math.exp(NormalDist().inv_cdf(power) * se_log),
        noise_floor(se_log, alpha, power),
    )


def holm_adjust(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values of one run's keys, in the order given.

    Judged at ``alpha`` after adjusting, the chance that *any* unchanged key of a run is called
    significant is at most ``alpha`` (family-wise), whatever the keys' dependence."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    out = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        out[i] = running
    return out


def judge(ratio: float, lo: float, hi: float, p: float, rule: Rule) -> Judgement:
    """The gate's one rule: past the threshold, the interval clear of 1, and the test significant.

    Otherwise *inconclusive* where this key's own noise is too large to catch a slowdown of the
    threshold's size (its :func:`noise_floor` above the threshold), else *unchanged*. Both gates
    use it, so a stored-baseline verdict and a same-job verdict mean the same thing."""
    se = log_se_of_interval(lo, hi)
    mdc = (
        None if math.isnan(se) else min_detectable_ratio(se, rule.threshold, rule.alpha, rule.power)
    )
    if ratio > rule.threshold and lo > 1.0 and p < rule.alpha:
        verdict = Verdict.REGRESSION
    elif ratio < 1 / rule.threshold and hi < 1.0 and p < rule.alpha:
        verdict = Verdict.IMPROVEMENT
    elif mdc is not None and noise_floor(se, rule.alpha, rule.power) > rule.threshold:
        verdict = Verdict.INCONCLUSIVE
    else:
        verdict = Verdict.UNCHANGED
    return Judgement(verdict, ratio, lo, hi, p, mdc)


# --------------------------------------------------------------------------- tail percentiles
# When a tail percentile means something: the samples it needs, and its distribution-free
# interval. A p99 from 100 samples is an interpolation between the two largest samples: one unlucky
# call moves it anywhere. These say how many samples a percentile needs before the data can bound it
# at all, and what the samples say about it (order statistics, no assumption on the shape of the
# latency distribution). Samples are treated as independent draws; timing samples are
# autocorrelated (drift, frequency states), so the counts here are a floor, not a guarantee.
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
