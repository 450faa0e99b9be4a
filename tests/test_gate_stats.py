"""The gate's statistics on plain arrays: the verdict rule, levels, paired ratios, intervals."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from ecgbench.gate.verdicts import GateSettings
from ecgbench.statistics import (
    Verdict,
    judge,
    log_t_interval,
    median_ci,
    paired_ratios,
    slice_levels,
    wilcoxon_p,
)


@pytest.mark.parametrize(
    ("ratio", "lo", "hi", "p", "verdict"),
    [
        (1.30, 1.20, 1.40, 0.001, Verdict.REGRESSION),
        (1.05, 1.02, 1.08, 0.001, Verdict.UNCHANGED),  # significant, but under the threshold
        (1.30, 0.95, 1.60, 0.001, Verdict.INCONCLUSIVE),  # the interval holds 1, and is wide
        (1.30, 1.25, 1.35, 0.200, Verdict.UNCHANGED),  # the test is not significant
        (1.30, 1.20, 1.40, 0.200, Verdict.INCONCLUSIVE),  # not significant, too noisy for ×1.1
        (0.70, 0.60, 0.80, 0.001, Verdict.IMPROVEMENT),
        (0.70, 0.60, 1.01, 0.001, Verdict.INCONCLUSIVE),
        (0.95, 0.92, 0.99, 0.001, Verdict.UNCHANGED),  # faster, but not past 1/threshold
    ],
)
def test_judge_needs_threshold_interval_and_test(ratio, lo, hi, p, verdict) -> None:
    j = judge(ratio, lo, hi, p, GateSettings())
    assert j.verdict == verdict and (j.ratio, j.ci_low, j.ci_high, j.p_value) == (ratio, lo, hi, p)


def test_judge_reads_only_threshold_alpha_and_power() -> None:
    @dataclass
    class Rule:
        threshold: float = 1.5
        alpha: float = 0.01
        power: float = 0.8

    assert judge(1.3, 1.2, 1.4, 0.001, Rule()).verdict == Verdict.UNCHANGED
    assert judge(1.6, 1.5, 1.7, 0.02, Rule()).verdict == Verdict.UNCHANGED
    assert judge(1.6, 1.5, 1.7, 0.001, Rule()).verdict == Verdict.REGRESSION


def test_verdicts_read_as_the_strings_documents_always_held() -> None:
    assert Verdict.NOT_COMPARABLE == "not comparable" and f"{Verdict.REGRESSION}" == "regression"
    assert json.dumps({"v": Verdict.IMPROVEMENT}) == '{"v": "improvement"}'


def test_slice_levels_and_paired_ratios_follow_rounds() -> None:
    samples = [10, 12, 11, 20, 22, 21, 30]
    levels = slice_levels(samples, [[0, 0], [1, 3], [2, 6]])
    assert levels == {0: 11.0, 1: 21.0, 2: 30.0}
    other = {1: 42.0, 2: 30.0, 5: 1.0}  # round 5 has no partner, round 0 neither
    assert paired_ratios(other, levels).tolist() == [2.0, 1.0]


def test_paired_tests_and_intervals() -> None:
    rng = np.random.default_rng(0)
    same = np.exp(rng.normal(0, 0.02, 30))
    slow = 1.2 * same
    assert wilcoxon_p(same) > 0.05 and wilcoxon_p(slow) < 1e-6
    assert wilcoxon_p(np.ones(5)) == 1.0
    lo, hi = median_ci(slow, n_boot=500)
    assert lo < float(np.median(slow)) < hi and lo > 1.1
    g, lo, hi, p = log_t_interval(np.array([1.31, 1.28, 1.35]))
    assert lo < g < hi and lo > 1.2 and p < 0.01
