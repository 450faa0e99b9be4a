"""The one interval and tie rule of :mod:`ecgbench.statistics`, on arrays by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ecgbench.statistics import (
    ABOVE,
    BELOW,
    TIE,
    bootstrap_indices,
    bootstrap_interval,
    interval_verdict,
    percentile_interval,
)


@pytest.mark.parametrize(
    ("lo", "hi", "null", "verdict"),
    [
        (-0.1, 0.2, 0.0, TIE),
        (0.0, 0.2, 0.0, TIE),  # a bound on the null still holds it
        (0.01, 0.2, 0.0, ABOVE),
        (-0.3, -0.01, 0.0, BELOW),
        (0.9, 0.99, 1.0, BELOW),
        (1.01, 1.2, 1.0, ABOVE),
        (math.nan, math.nan, 0.0, TIE),  # an undefined interval ranks nothing
    ],
)
def test_interval_verdict(lo: float, hi: float, null: float, verdict: str) -> None:
    assert interval_verdict(lo, hi, null) == verdict


def test_percentile_interval_skips_undefined_resamples_and_is_nan_without_any() -> None:
    v = np.array([np.nan, 1.0, 2.0, 3.0, np.inf, 4.0, 5.0])
    assert percentile_interval(v, 0.5) == (2.0, 4.0)
    assert all(math.isnan(x) for x in percentile_interval(np.array([np.nan, np.inf])))
    assert all(math.isnan(x) for x in percentile_interval(np.array([])))


def test_bootstrap_interval_is_the_percentiles_of_the_statistic_over_the_seeded_draws() -> None:
    x = np.random.default_rng(3).lognormal(size=40)
    idx = np.random.default_rng(7).integers(0, 40, size=(500, 40))
    assert np.array_equal(bootstrap_indices(40, 500, 7), idx)
    want = np.percentile(np.median(x[idx], axis=1), [2.5, 97.5])
    assert bootstrap_interval(x, lambda r: np.median(r, axis=1), 500, 7) == tuple(want)
