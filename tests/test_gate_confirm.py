"""Confirmation, inconclusive verdicts and joint judging, on synthetic runs with known drift and
known slowdowns: every number a test expects follows from how its runs were made."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers_gate import ROUNDS, timed_pair

from ecgbench.gate.verdicts import (
    EXIT_INCONCLUSIVE,
    Comparison,
    GateSettings,
    KeyVerdict,
    compare_same_run,
    confirm_same_run,
    flagged_keys,
    paired_verdict,
    with_multiplicity,
)
from ecgbench.statistics import (
    Verdict,
    holm_adjust,
    log_se_of_interval,
    min_detectable_ratio,
    noise_floor,
)


def verdicts(cmp: Comparison) -> dict[str, Verdict]:
    return {v.key["model"]: v.verdict for v in cmp.verdicts}


# --------------------------------------------------------------------------- minimum detectable
def test_the_detectable_slowdown_follows_the_noise() -> None:
    assert noise_floor(0.0, 0.05, 0.8) == 1.0
    assert min_detectable_ratio(0.0, 1.10, 0.05, 0.8) == pytest.approx(1.10)
    se = log_se_of_interval(1 / 1.1, 1.1)  # a ±10 % interval: se = ln 1.1 / 1.96
    assert se == pytest.approx(math.log(1.1) / 1.959964, rel=1e-6)
    # (z_0.975 + z_0.8) * se = 2.8016 * 0.04863 -> ×1.146: the interval decides, not the threshold
    assert min_detectable_ratio(se, 1.10, 0.05, 0.8) == pytest.approx(math.exp(2.8016 * se), 1e-3)
    assert min_detectable_ratio(se / 4, 1.10, 0.05, 0.8) < min_detectable_ratio(se, 1.1, 0.05, 0.8)


def test_a_slowdown_of_the_stated_size_is_caught_about_as_often_as_promised() -> None:
    """The promise behind "detectable ×": a true slowdown of that size is caught ~80 % of the time."""
    s = GateSettings(threshold=1.05, n_boot=400)
    rng = np.random.default_rng(1)
    noise = lambda: np.exp(rng.normal(0, 0.08, ROUNDS))  # noqa: E731
    mdc = float(
        np.median([paired_verdict({}, noise(), 1, 1, s, "round").min_detectable for _ in range(20)])
    )
    caught = np.mean(
        [
            paired_verdict({}, mdc * noise(), 1, 1, s, "round").verdict == Verdict.REGRESSION
            for _ in range(200)
        ]
    )
    assert 0.6 <= caught <= 0.95, (mdc, caught)
    assert mdc > 1.05  # 8 % round noise over 30 rounds cannot resolve 5 %


# --------------------------------------------------------------------------- inconclusive
def test_drift_cancels_and_a_quiet_unchanged_key_is_unchanged() -> None:
    b, h = timed_pair({"quiet": 1.0}, {}, seed=1, drift=0.5)  # the machine swings by up to 50 %
    cmp = compare_same_run(b, h, GateSettings())
    assert verdicts(cmp) == {"quiet": Verdict.UNCHANGED} and cmp.exit_code == 0
    assert cmp.verdicts[0].min_detectable < 1.15


def test_a_key_too_noisy_to_resolve_the_threshold_is_inconclusive_with_its_own_exit_code() -> None:
    b, h = timed_pair({"quiet": 1.0, "noisy": 1.0}, {"noisy": 0.25}, seed=2)
    cmp = compare_same_run(b, h, GateSettings())
    v = verdicts(cmp)
    assert v["quiet"] == Verdict.UNCHANGED and v["noisy"] == Verdict.INCONCLUSIVE
    assert cmp.exit_code == EXIT_INCONCLUSIVE == 4
    noisy = next(x for x in cmp.verdicts if x.key["model"] == "noisy")
    assert noisy.min_detectable > 1.10


def test_a_regression_outranks_an_inconclusive_key_in_the_exit_code() -> None:
    b, h = timed_pair({"slow": 1.3, "noisy": 1.0}, {"noisy": 0.25}, seed=3)
    cmp = compare_same_run(b, h, GateSettings())
    assert verdicts(cmp)["slow"] == Verdict.REGRESSION and cmp.exit_code == 1


# --------------------------------------------------------------------------- confirmation
def test_a_real_slowdown_survives_confirmation() -> None:
    first = timed_pair({"slow": 1.2, "same": 1.0}, {}, seed=4)
    cmp = compare_same_run(*first, GateSettings())
    assert [k["model"] for k in flagged_keys(cmp)] == ["slow"]
    again = timed_pair({"slow": 1.2}, {}, seed=5)  # only the flagged key is re-timed
    final = confirm_same_run(cmp, [first, again], GateSettings())
    v = {x.key["model"]: x for x in final.verdicts}
    assert v["slow"].verdict == Verdict.REGRESSION and "confirmed" in v["slow"].note
    assert v["slow"].ratio == pytest.approx(1.2, abs=0.03)
    assert v["same"].verdict == Verdict.UNCHANGED and "confirmed" not in v["same"].note


def test_a_transient_that_flagged_a_key_is_not_confirmed() -> None:
    """A neighbour slowed head's rounds by 16 % during the first timing only: the first timing
    calls it a regression; judged on both timings' rounds it is not one."""
    first = timed_pair({"k": 1.16}, {}, seed=6)
    s = GateSettings()
    assert verdicts(compare_same_run(*first, s)) == {"k": Verdict.REGRESSION}
    again = timed_pair({"k": 1.0}, {}, seed=7)
    final = confirm_same_run(compare_same_run(*first, s), [first, again], s)
    assert final.verdicts[0].verdict != Verdict.REGRESSION and final.exit_code != 1


def test_confirmation_narrows_an_inconclusive_key() -> None:
    s = GateSettings()
    first = timed_pair({"k": 1.0}, {"k": 0.12}, seed=8)
    cmp = compare_same_run(*first, s)
    assert verdicts(cmp) == {"k": Verdict.INCONCLUSIVE}
    more = [timed_pair({"k": 1.0}, {"k": 0.12}, seed=9 + i) for i in range(3)]
    final = confirm_same_run(cmp, [first, *more], s)
    assert final.verdicts[0].min_detectable < cmp.verdicts[0].min_detectable
    assert final.verdicts[0].verdict != Verdict.REGRESSION


# --------------------------------------------------------------------------- the run's keys jointly
def test_holm_adjusts_a_runs_p_values_step_down() -> None:
    assert holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm_adjust([0.5]) == [0.5]
    assert holm_adjust([0.001, 0.9]) == pytest.approx([0.002, 0.9])


def test_joint_judging_drops_a_marginal_key_among_many() -> None:
    s = GateSettings(multiplicity="holm")
    marginal = KeyVerdict({"model": "m"}, Verdict.REGRESSION, 1.15, 1.15, 1.05, 1.25, 0.02)
    clear = KeyVerdict({"model": "c"}, Verdict.REGRESSION, 1.5, 1.5, 1.4, 1.6, 1e-6)
    quiet = [
        KeyVerdict({"model": f"q{i}"}, Verdict.UNCHANGED, 1.0, 1.0, 0.98, 1.02, 0.6)
        for i in range(8)
    ]
    cmp = with_multiplicity(Comparison([marginal, clear, *quiet], None, settings=s))
    v = verdicts(cmp)
    assert v["c"] == Verdict.REGRESSION and v["m"] != Verdict.REGRESSION
    assert cmp.verdicts[0].p_value == pytest.approx(0.18)  # 0.02 × 9 keys left


def test_holm_changes_the_verdict_of_a_borderline_key_of_a_real_same_run_comparison() -> None:
    """Ten keys timed in the same 30 rounds, one 15 % slower with rounds that wobble by 20 %:
    alone at alpha it is a regression (p 0.009); judged with the nine unchanged keys it is not."""
    keys = {"slow": 1.15, **{f"q{i}": 1.0 for i in range(9)}}
    base, head = timed_pair(keys, {"slow": 0.2}, seed=4)
    alone = compare_same_run(base, head, GateSettings())
    joint = compare_same_run(base, head, GateSettings(multiplicity="holm"))
    one, held = (next(v for v in c.verdicts if v.key["model"] == "slow") for c in (alone, joint))
    assert one.verdict == Verdict.REGRESSION and 0.005 < one.p_value < 0.05
    assert one.ratio > 1.10 and one.ci_low > 1.0
    assert held.verdict != Verdict.REGRESSION
    assert held.p_value == pytest.approx(10 * one.p_value)
    assert (alone.exit_code, joint.exit_code) == (1, EXIT_INCONCLUSIVE)
    others = {v.key["model"]: v.verdict for v in joint.verdicts if v.key["model"] != "slow"}
    assert others == {v.key["model"]: v.verdict for v in alone.verdicts if v.key["model"] != "slow"}
