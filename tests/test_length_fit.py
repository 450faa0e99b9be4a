"""latency = fixed + slope × seconds: exact on exact data, intervals that cover on noisy data, and
the report's figure and table from a hand-made run at several lengths. No backend runs here."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_gate import result_row, run_doc

from ecgbench.bench.length_fit import MIN_ROUNDS, fit_length_cost, line
from ecgbench.report.data import build_frames
from ecgbench.report.html import render_report
from ecgbench.report.lengths import FS, length_figure, length_fits

SECONDS = np.array([2.5, 5.0, 10.0, 30.0, 60.0])


def _levels(fixed: float, slope: float, rounds: int, noise: float, seed: int) -> list[dict]:
    """Per length {round: ms}: the line, a round effect shared by every length, and noise."""
    rng = np.random.default_rng(seed)
    shared = 1 + noise * rng.standard_normal(rounds)
    return [
        {
            r: (fixed + slope * s) * shared[r] * (1 + noise * rng.standard_normal())
            for r in range(rounds)
        }
        for s in SECONDS
    ]


def test_exact_data_gives_back_its_line_exactly() -> None:
    levels = _levels(fixed=0.7, slope=1.3, rounds=12, noise=0.0, seed=0)
    fit = fit_length_cost(SECONDS, [np.median(list(lv.values())) for lv in levels], levels)
    assert fit.fixed_ms == pytest.approx(0.7, abs=1e-9)
    assert fit.slope_ms_per_s == pytest.approx(1.3, abs=1e-9)
    assert fit.method == "bootstrap over 12 rounds" and fit.n_lengths == 5
    assert fit.fixed_ci == pytest.approx((0.7, 0.7), abs=1e-9)
    assert line(SECONDS, 2.0 + 0.5 * SECONDS) == pytest.approx((2.0, 0.5))


def test_bootstrap_intervals_cover_the_true_line() -> None:
    """Over 40 noisy runs, the 95 % intervals hold the true fixed cost and slope most times and
    are never empty: a check of the method, not of one lucky seed."""
    covered_slope = covered_fixed = 0
    for seed in range(40):
        levels = _levels(fixed=2.0, slope=0.8, rounds=20, noise=0.02, seed=seed)
        fit = fit_length_cost(SECONDS, [0.0] * 5, levels, n_boot=600, seed=seed)
        assert fit.slope_ci[0] < fit.slope_ms_per_s < fit.slope_ci[1]
        covered_slope += fit.slope_ci[0] <= 0.8 <= fit.slope_ci[1]
        covered_fixed += fit.fixed_ci[0] <= 2.0 <= fit.fixed_ci[1]
    assert covered_slope >= 32 and covered_fixed >= 32, (covered_slope, covered_fixed)


def test_without_rounds_the_regression_error_then_nothing() -> None:
    rng = np.random.default_rng(1)
    y = 1.5 + 0.9 * SECONDS + 0.05 * rng.standard_normal(5)
    few = [{0: 1.0}] * 5  # fewer rounds than MIN_ROUNDS in common: the row medians are used
    fit = fit_length_cost(SECONDS, y, few)
    assert fit.method == "regression standard error" and fit.n_rounds == 1 < MIN_ROUNDS
    assert fit.fixed_ci[0] <= 1.5 <= fit.fixed_ci[1] and fit.slope_ci[0] <= 0.9 <= fit.slope_ci[1]
    two = fit_length_cost(SECONDS[:2], 1.0 + 2.0 * SECONDS[:2])
    assert two.method == "none" and two.slope_ci is None
    assert two.slope_ms_per_s == pytest.approx(2.0) and two.fixed_ms == pytest.approx(1.0)
    with pytest.raises(ValueError):
        line(np.array([5.0, 5.0]), np.array([1.0, 2.0]))


def _multi_length_doc(fixed: float = 0.5, slope: float = 0.4, rounds: int = 10):
    """Two variants at three lengths, samples in rounds around fixed + slope × seconds."""
    rows = []
    rng = np.random.default_rng(3)
    for model, scale in (("small", 1.0), ("big", 3.0)):
        for n in (1250, 5000, 15000):
            ms = scale * (fixed + slope * n / FS)
            row = result_row(model, ms, seed=n)
            row.input_shape = [1, 12, n]
            row.footprint.flops = int(scale * 1e4 * n)  # the report's FLOPs figure needs them
            samples, slices = [], []
            for r in range(rounds):
                slices.append([r, len(samples)])
                samples += (ms * 1e6 * (1 + 0.01 * rng.standard_normal(30))).astype(int).tolist()
            row.latency.samples_ns, row.latency.slices = samples, slices
            rows.append(row)
    alone = result_row("alone", 1.0, seed=9)  # one length: no line for it
    alone.footprint.flops = 10**7
    rows.append(alone)
    return run_doc(rows)


def test_report_fits_draws_and_tables_each_variant(tmp_path) -> None:
    data = build_frames([_multi_length_doc()])
    fits = length_fits(data.lengths).set_index("variant")
    assert sorted(fits.index) == ["big · openvino · fp32", "small · openvino · fp32"]
    for name, scale in (("small", 1.0), ("big", 3.0)):
        f = fits.loc[f"{name} · openvino · fp32"]
        assert f["slope_ms_per_s"] == pytest.approx(0.4 * scale, rel=0.02)
        assert f["fixed_ms"] == pytest.approx(0.5 * scale, abs=0.03 * scale)
        assert f["slope_ci"][0] <= 0.4 * scale <= f["slope_ci"][1]
        assert f["lengths"] == "1250, 5000, 15000" and f["interval"].startswith("bootstrap")
    fig = length_figure(data.lengths, length_fits(data.lengths))
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("input length (s")
    assert len(ax.get_legend().get_texts()) == 2  # one fitted line per variant
    res = render_report(data, tmp_path / "rep")
    page = res.index.read_text()
    assert "Latency against input length" in page and "Cost per input length" in page
    assert (tmp_path / "rep" / "latency_vs_length.svg").exists()
    assert f"{fits.loc['big · openvino · fp32', 'ms per s of ECG [95% CI]']}" in page


def test_a_run_of_one_length_has_no_length_section(tmp_path) -> None:
    rows = [result_row("a", 1.0, 1), result_row("b", 2.0, 2)]
    for r in rows:
        r.footprint.flops = 10**7
    data = build_frames([run_doc(rows)])
    assert data.lengths.empty
    page = render_report(data, tmp_path / "rep").index.read_text()
    assert "Latency against input length" not in page
