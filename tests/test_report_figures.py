"""The report's figures from hand-made samples: one box per variant, what it draws is what the
samples give, the score's interval from 0. Fast: no backend runs here."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from helpers_gate import FP, result_row, run_doc

from ecgbench.bench.results.document import read_run, tidy_rows
from ecgbench.report.boxes import MAX_POINTS, box_stats
from ecgbench.report.data import build_frames
from ecgbench.report.figures import accuracy_beside_runtime, accuracy_latency_pareto
from ecgbench.report.runtime_boxes import runtime_boxes
from ecgbench.statistics import median_ci


def _rounds(median_ms: float, rounds: int, per: int, seed: int) -> tuple[list[int], list[list]]:
    """Log-normal samples in ``rounds`` slices, each round's level shifted a little."""
    rng = np.random.default_rng(seed)
    samples, slices = [], []
    for r in range(rounds):
        slices.append([r, len(samples)])
        level = median_ms * (1 + 0.05 * rng.standard_normal())
        samples += (level * 1e6 * rng.lognormal(0, 0.1, per)).astype(np.int64).tolist()
    return samples, slices


@pytest.fixture
def two_variants():
    rows = []
    for model, ms, seed in (("fast", 1.0, 1), ("slow", 8.0, 2)):
        row = result_row(model, ms, seed)
        row.latency.samples_ns, row.latency.slices = _rounds(ms, rounds=8, per=60, seed=seed)
        rows.append(row)
    rows[1].latency.slices = []  # one row without rounds: no interval drawn for it
    return run_doc(rows)


def test_box_stats_are_the_samples_quartiles_and_the_round_medians_interval():
    s, sl = _rounds(2.0, rounds=6, per=50, seed=3)
    st = box_stats(s, sl)
    ms = np.array(s) / 1e6
    assert st.n == len(s)
    assert [st.q1, st.median, st.q3] == pytest.approx(np.percentile(ms, [25, 50, 75]))
    iqr = st.q3 - st.q1
    assert st.whislo == ms[ms >= st.q1 - 1.5 * iqr].min() and st.whislo >= ms.min()
    assert st.whishi == ms[ms <= st.q3 + 1.5 * iqr].max() and st.whishi <= ms.max()
    round_medians = np.array([np.median(ms[i * 50 : (i + 1) * 50]) for i in range(6)])
    assert (st.ci_low, st.ci_high) == pytest.approx(median_ci(round_medians))
    assert st.n_rounds == 6 and st.ci_low <= np.median(round_medians) <= st.ci_high
    # too few rounds: no interval rather than a meaningless one
    assert box_stats(s, sl[:2]).ci_low is None and box_stats(s).ci_high is None


def test_runtime_figure_one_box_per_variant_on_a_log_axis(two_variants):
    doc = two_variants
    boxes = build_frames([doc]).boxes
    assert len(boxes) == 2 and all(len(p) <= MAX_POINTS for p in boxes["points"])
    fig = runtime_boxes(boxes)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "fast · openvino · fp32",
        "slow · openvino · fp32",
    ]
    drawn = {a.get_gid(): a for a in ax.get_children() if a.get_gid()}
    assert sorted(g for g in drawn if g.startswith("box:")) == [
        "box:fast · openvino · fp32",
        "box:slow · openvino · fp32",
    ]
    for row in doc.rows:
        v = f"{row.model} · openvino · fp32"
        med = drawn[f"median:{v}"].get_xdata()
        assert med[0] == med[1] == pytest.approx(np.median(row.latency.samples_ns) / 1e6)
        st = box_stats(row.latency.samples_ns, row.latency.slices)
        if row.latency.slices:
            assert list(drawn[f"median-ci:{v}"].get_xdata()) == pytest.approx(
                [st.ci_low, st.ci_high]
            )
        else:
            assert f"median-ci:{v}" not in drawn
    plt.close(fig)


def test_runtime_figure_has_a_panel_per_machine_and_device(two_variants):
    other = run_doc(two_variants.rows, fp={**FP, "machine_id": "zzz", "cpu_model": "Other CPU"})
    gpu = run_doc([result_row("fast", 1.0, 5)])
    gpu.rows[0].device = "GPU"
    fig = runtime_boxes(build_frames([two_variants, other, gpu]).boxes)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles == [
        "Test CPU (2 thr, abc) — CPU",
        "Other CPU (2 thr, zzz) — CPU",
        "Test CPU (2 thr, abc) — GPU",
    ]
    plt.close(fig)


def _scored(two_variants) -> pd.DataFrame:
    doc = two_variants
    for row, (s, ci) in zip(doc.rows, [(0.42, [0.38, 0.46]), (0.50, None)], strict=True):
        row.accuracy.challenge_score, row.accuracy.challenge_score_ci95 = s, ci
    return pd.DataFrame(tidy_rows(doc))


def test_rows_carry_the_score_interval_as_flat_columns(two_variants, tmp_path):
    _scored(two_variants)
    two_variants.write(tmp_path / "run.json")  # the interval survives the run document
    df = pd.DataFrame(tidy_rows(read_run(tmp_path / "run.json")))
    assert list(df["challenge_score_ci_low"].fillna(-1)) == [0.38, -1]
    assert list(df["challenge_score_ci_high"].fillna(-1)) == [0.46, -1]


def test_accuracy_dots_start_at_zero_and_draw_the_interval(two_variants):
    df = _scored(two_variants)
    fig = accuracy_beside_runtime(df)
    ax = fig.axes[0]
    assert ax.get_xlim()[0] == 0 and not ax.patches  # no bars
    (bars,) = [c for c in ax.collections if c.get_gid() == "score-ci:openvino · fp32"]
    spans = sorted(sorted(seg[:, 0]) for seg in bars.get_segments())
    assert spans[0] == pytest.approx([0.38, 0.46])  # the interval, around 0.42
    assert spans[1] == pytest.approx([0.50, 0.50])  # no interval: a point
    plt.close(fig)
    fig = accuracy_latency_pareto(df)
    (bars,) = [c for c in fig.axes[0].collections if c.get_gid() == "score-ci"]
    assert sorted(sorted(seg[:, 1]) for seg in bars.get_segments())[0] == pytest.approx(
        [0.38, 0.46]
    )
    plt.close(fig)
