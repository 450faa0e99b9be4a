"""The stop rule, the interleaved timing loop and latency statistics (``ecgbench.bench.timing``)."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest

from ecgbench.bench.results.schema import Latency
from ecgbench.bench.timing import StopRule, TimedVariant, time_interleaved


def test_stop_rule_needs_both_duration_and_count() -> None:
    r = StopRule(min_duration_s=2.0, min_iters=10, max_duration_s=60.0)
    assert not r.done(0, 0)
    assert not r.done(int(5e9), 9)  # long enough, too few calls
    assert not r.done(int(1.9e9), 1000)  # enough calls, too short
    assert r.done(int(2e9), 10)
    assert r.done(int(60e9), 0)  # the hard cap, for very slow devices


class Sleeper:
    """A slow 'inference': a plain callable that sleeps and counts its calls."""

    def __init__(self, seconds: float, log: list[str] | None = None, label: str = "") -> None:
        self.seconds, self.calls, self.log, self.label = seconds, 0, log, label

    def __call__(self) -> None:
        self.calls += 1
        if self.log is not None:
            self.log.append(self.label)
        time.sleep(self.seconds)


def test_time_interleaved_respects_min_iters() -> None:
    s = Sleeper(0.005)
    v = TimedVariant("slow", s)
    rule = StopRule(min_duration_s=0.01, min_iters=12, warmup_s=0.02, round_s=0.01)
    time_interleaved([v], rule)
    n = len(v.samples_ns)
    # it stops at the end of the slice in which the count is reached: at most one slice more
    assert 12 <= n <= 12 + math.floor(rule.round_s / s.seconds) + 1
    assert all(x >= 5e6 for x in v.samples_ns)  # each sample is one whole call
    assert v.elapsed_ns == sum(v.samples_ns)
    assert v.first_call_ns >= 5e6 and v.warm
    assert s.calls - n - 1 >= 1  # first call and warm-up are not samples


def test_time_interleaved_respects_min_duration() -> None:
    s = Sleeper(0.01)
    v = TimedVariant("slow", s)
    rule = StopRule(min_duration_s=0.15, min_iters=2, warmup_s=0.0, round_s=0.02)
    time_interleaved([v], rule)
    assert v.elapsed_ns >= 0.15e9 and len(v.samples_ns) >= 2
    # every call sleeps >= 10 ms, so fewer than 15 calls came before the last slice
    assert len(v.samples_ns) <= 14 + math.floor(rule.round_s / s.seconds) + 1


def test_time_interleaved_interleaves_and_each_variant_meets_the_rule() -> None:
    log: list[str] = []
    fast, slow = Sleeper(0.001, log, "fast"), Sleeper(0.02, log, "slow")
    vs = [TimedVariant("fast", fast), TimedVariant("slow", slow)]
    rule = StopRule(min_duration_s=0.1, min_iters=3, warmup_s=0.0, round_s=0.02)
    log.clear()
    time_interleaved(vs, rule)
    for v in vs:
        assert v.elapsed_ns >= 0.1e9 and len(v.samples_ns) >= 3, v.label
    assert len(vs[0].samples_ns) > 2 * len(vs[1].samples_ns)  # counts follow speed
    switches = sum(a != b for a, b in itertools.pairwise(log))
    assert switches >= 4  # rounds of short slices, not one variant after the other


def test_time_interleaved_stops_when_asked_and_at_the_cap() -> None:
    v = TimedVariant("x", Sleeper(0.002))
    rounds: list[int] = []
    time_interleaved(
        [v],
        StopRule(min_duration_s=100, min_iters=10**6, warmup_s=0, round_s=0.01),
        on_round=lambda r, _: rounds.append(r),
        should_stop=lambda: len(rounds) >= 3,
    )
    assert len(rounds) == 3 and v.elapsed_ns < 1e9
    w = TimedVariant("y", Sleeper(0.002))
    time_interleaved([w], StopRule(100, 10**6, 0, 0.01, max_duration_s=0.05))
    assert 0.05e9 <= w.elapsed_ns < 5e9


def test_latency_from_known_samples() -> None:
    samples = [3_000_000, 1_000_000, 2_500_000, 10_000_000, 4_000_000, 1_500_000, 2_000_000]
    st = Latency.from_samples(samples)
    a = np.asarray(samples, dtype=np.float64) / 1e6
    assert st.n == len(samples)
    assert st.median_ms == pytest.approx(np.median(a))
    assert st.p90_ms == pytest.approx(np.percentile(a, 90))
    assert st.p99_ms == pytest.approx(np.percentile(a, 99))
    assert st.iqr_ms == pytest.approx(np.percentile(a, 75) - np.percentile(a, 25))
    assert st.mean_ms == pytest.approx(a.mean()) and st.std_ms == pytest.approx(a.std())
    assert (st.min_ms, st.max_ms) == (pytest.approx(a.min()), pytest.approx(a.max()))
    assert st.fps(4) == pytest.approx(4 * 1e3 / a.mean())
    with pytest.raises(ValueError):
        Latency.from_samples([])
