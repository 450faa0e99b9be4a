"""How many samples a percentile needs (MLPerf LoadGen's rule), the flag every row carries, and the
distribution-free interval of a percentile."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from helpers_gate import result_row, run_doc
from scipy.stats import binom

from ecgbench.bench.results.document import read_run_dict, tidy_rows
from ecgbench.bench.results.schema import Latency
from ecgbench.bench.store.documents import merge_runs
from ecgbench.errors import BadInputError
from ecgbench.statistics import (
    CONFIDENCE,
    min_samples,
    parse_percentile,
    quantile_interval,
    validity,
)


def test_min_samples_reproduces_loadgen_and_its_definition() -> None:
    # LoadGen's early stopping prints "processed at least 64 / 662 queries" for p90 / p99
    assert min_samples(90.0) == 64 and min_samples(99.0) == 662
    for q in (50.0, 90.0, 95.0, 99.0, 99.9):
        n, tail = min_samples(q), 1 - q / 100
        assert binom.cdf(1, n, tail) < 1 - CONFIDENCE <= binom.cdf(1, n - 1, tail)


def test_min_samples_grows_with_the_percentile_and_the_confidence() -> None:
    qs = [50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9]
    ns = [min_samples(q) for q in qs]
    assert ns == sorted(ns) and len(set(ns)) == len(ns)
    assert min_samples(99.0, 0.95) < min_samples(99.0) < min_samples(99.0, 0.999)
    assert min_samples(99.0, beyond=0) < min_samples(99.0) < min_samples(99.0, beyond=2)
    with pytest.raises(ValueError):
        min_samples(100.0)


def test_at_min_samples_the_second_largest_sample_bounds_the_percentile() -> None:
    """What the rule means, by simulation: at n = min_samples(90) the second-largest of n
    exponential samples is above the true p90 in >= 99 % of runs; at n / 2 it is not."""
    rng = np.random.default_rng(0)
    true_p90 = -np.log(0.1)
    n = min_samples(90.0)
    for size, bounds in ((n, True), (n // 2, False)):
        x = np.sort(rng.exponential(size=(20000, size)), axis=1)
        covered = float(np.mean(x[:, -2] >= true_p90))
        assert (covered >= CONFIDENCE - 0.002) is bounds, (size, covered)


def test_quantile_interval_covers_the_true_percentile() -> None:
    rng = np.random.default_rng(1)
    true_p99 = -np.log(0.01)
    hits = [
        lo <= true_p99 <= hi
        for lo, hi in (quantile_interval(rng.exponential(size=1000), 99.0) for _ in range(1000))
    ]
    assert 0.94 <= np.mean(hits) <= 0.99
    assert quantile_interval(rng.exponential(size=100), 99.0) is None  # needs beyond the maximum
    assert quantile_interval([], 50.0) is None


@pytest.mark.parametrize("name, q", [("p99", 99.0), ("P90", 90.0), (" p99.9", 99.9)])
def test_parse_percentile(name: str, q: float) -> None:
    assert parse_percentile(name) == q


@pytest.mark.parametrize("name", ["99", "p100", "p0", "high", "p-5", ""])
def test_parse_percentile_refuses(name: str) -> None:
    with pytest.raises(ValueError, match="not a percentile"):
        parse_percentile(name)


@pytest.mark.parametrize("name", ["p90", "p99"])
def test_from_samples_flags_a_percentile_from_too_few_samples(name: str) -> None:
    need = min_samples(parse_percentile(name))
    rng = np.random.default_rng(2)
    s = (1e6 * (1 + rng.exponential(size=need))).astype(np.int64).tolist()
    assert Latency.from_samples(s[: need - 1]).valid(name) is False
    assert Latency.from_samples(s).valid(name) is True
    assert Latency.from_samples(s).percentiles_valid == validity(need)


def test_from_samples_keeps_the_p99_interval_where_the_samples_allow_one() -> None:
    rng = np.random.default_rng(3)
    s = (1e6 * (1 + rng.exponential(size=700))).astype(np.int64).tolist()
    lat = Latency.from_samples(s)
    lo, hi = lat.p99_interval_ms
    assert lo < lat.p99_ms < hi and np.allclose([lo * 1e6, hi * 1e6], quantile_interval(s, 99.0))
    few = next(n for n in range(2, 700) if quantile_interval(s[:n], 99.0) is not None) - 1
    assert Latency.from_samples(s[:few]).p99_interval_ms is None
    assert Latency.from_samples(s[: few + 1]).p99_interval_ms is not None


def _doc_dict(n: int) -> dict:
    row = result_row("m", 2.0, seed=0)
    row.latency = Latency.from_samples(row.latency.samples_ns[:1] * n)
    return copy.deepcopy(run_doc([row]).to_dict())


def test_a_document_without_the_flag_reads_it_from_n() -> None:
    d = _doc_dict(700)
    assert d["rows"][0]["latency"]["percentiles_valid"] == {"p90": True, "p99": True}
    del d["rows"][0]["latency"]["percentiles_valid"]  # written before the field existed
    del d["rows"][0]["latency"]["p99_interval_ms"]
    old = read_run_dict(d, "old").rows[0].latency
    assert old.percentiles_valid == validity(700) and old.p99_interval_ms is not None
    d["rows"][0]["latency"]["samples_ns"] = []  # no samples: not known
    lat = read_run_dict(d, "old").rows[0].latency
    assert lat.percentiles_valid is None and lat.valid("p99") is None
    d["rows"][0]["latency"]["percentiles_valid"] = [True]
    with pytest.raises(BadInputError, match=r"row 0 is malformed.*percentiles_valid"):
        read_run_dict(d, "bad")


def test_tidy_rows_have_the_flags_and_a_merged_baseline_recomputes_them() -> None:
    doc = read_run_dict(_doc_dict(400), "a")
    t = tidy_rows(doc)[0]
    assert (t["n"], t["p90_valid"], t["p99_valid"]) == (400, True, False)
    merged = merge_runs([doc, read_run_dict(_doc_dict(400), "b")])
    assert merged.rows[0].latency.n == 800 and merged.rows[0].latency.valid("p99") is True
