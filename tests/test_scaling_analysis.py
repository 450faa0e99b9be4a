"""The analysis of a study: power laws, importance, the Pareto frontier, the ``scaling`` command."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from helpers_scaling import cli

from ecgbench.errors import BadInputError
from ecgbench.nets.design_space import SPACE, sample_point
from ecgbench.scaling.analysis import (
    FEATURES,
    analyse,
    fit_power_law,
    frontier_errors,
    pareto_mask,
)
from ecgbench.scaling.sweep import open_study, trials_frame

ALPHA_FLOPS, ALPHA_DATA, N_FULL = 0.15, 0.3, 2000


def synthetic_study(seed: int = 0, n_full: int = 48) -> pd.DataFrame:
    """A study shaped like trials_frame's: error = 2 * FLOPs^-0.15 * (n / N)^-0.3, tiny noise.

    FLOPs follow ``wa`` (so the regressor has something to learn); the data-size runs at three
    smaller ``n_train`` share the same FLOPs grid, so that the best error per size obeys n^-0.3.
    Only two optimisers are used: correlations with the third are undefined.
    """
    rng = np.random.default_rng(seed)
    rows = []

    def row(u: float, n: int) -> dict:
        flops = 10 ** (6 + 3 * u)
        err = 2.0 * flops**-ALPHA_FLOPS * (n / N_FULL) ** -ALPHA_DATA
        p = sample_point(rng)
        return {
            "depth": p.depth,
            "w0": p.w0,
            "wa": 4 + 28 * u,
            "wm": p.wm,
            "expansion": p.expansion,
            "kernel_size": p.kernel_size,
            "lr": float(10 ** rng.uniform(-4, -1)),
            "optimizer": str(rng.choice(["adamw", "sgd"])),
            "stages": int(rng.integers(1, 6)),
            "flops": int(flops),
            "params": int(flops / 40),
            "score": 1 - err + rng.normal(0, 2e-4),
            "train_fraction": n / N_FULL,
            "n_train": n,
            "test_challenge_score": 1 - err - 0.01,
        }

    us = np.concatenate([rng.uniform(0, 1, n_full - 1), [1.0]])
    rows += [row(u, N_FULL) for u in us]
    for n in (250, 500, 1000):
        rows += [row(u, n) for u in np.linspace(0, 1, 5)]
    df = pd.DataFrame(rows)
    df.insert(0, "trial", range(len(df)))
    return df


def strict_json(text: str):
    def bad(c: str):
        raise ValueError(f"not valid JSON: {c}")

    return json.loads(text, parse_constant=bad)


def test_analyse_recovers_known_power_laws() -> None:
    df = synthetic_study()
    s = analyse(df, folds=4)
    full = df[df["train_fraction"] == 1.0]
    assert s.n_trials == len(df)
    assert s.power_law_flops is not None and s.power_law_flops.x == "flops"
    assert s.power_law_flops.alpha == pytest.approx(ALPHA_FLOPS, abs=0.02)
    assert s.power_law_flops.r2 > 0.95
    assert s.power_law_data is not None and s.power_law_data.n_points == 4
    assert s.power_law_data.alpha == pytest.approx(ALPHA_DATA, abs=0.05)
    assert len(s.cv_pearson_r) == 4 and min(s.cv_pearson_r) > 0.8
    assert list(s.importance) == sorted(s.importance, key=lambda k: -s.importance[k])
    assert len(s.importance) == len(FEATURES) and set(s.importance) == set(FEATURES)
    assert next(iter(s.importance)) == "wa"  # the feature the score follows comes first
    assert s.spearman["wa"] > 0.95 and math.isnan(s.spearman["opt_sgd-momentum"])
    # best per optimiser among the full-data trials only
    for opt, g in full.groupby("optimizer"):
        b = s.best_by_optimizer[opt]
        assert b["trials"] == len(g) and b["val_score"] == pytest.approx(g["score"].max())
        assert b["flops"] == g.loc[g["score"].idxmax(), "flops"]
    assert set(s.best_by_optimizer) == {"adamw", "sgd"}
    d = s.to_dict()  # what summary.json holds: strict JSON, undefined values as null
    assert strict_json(json.dumps(d))["spearman"]["opt_sgd-momentum"] is None


def test_analyse_needs_enough_full_data_trials() -> None:
    df = synthetic_study(n_full=4)
    with pytest.raises(BadInputError, match=r"at least 6 .* have 4 of 19"):
        analyse(df)  # 19 trials, but only 4 on all the training records
    with pytest.raises(BadInputError, match="have 0 of 15"):
        analyse(df[df["train_fraction"] < 1])  # data-size runs only
    with pytest.raises(BadInputError, match="at least 8"):
        analyse(synthetic_study(n_full=7), folds=4)


def test_pareto_frontier_and_power_law_helpers() -> None:
    cost = np.array([1.0, 2.0, 3.0, 2.0, 1.0])
    score = np.array([0.5, 0.6, 0.55, 0.4, 0.5])
    assert pareto_mask(cost, score).tolist() == [True, True, False, False, True]
    xs, errs = frontier_errors(np.array([3.0, 1.0, 2.0, 4.0]), np.array([0.5, 0.2, 0.6, 0.55]))
    assert xs.tolist() == [1.0, 2.0] and errs == pytest.approx([0.8, 0.4])
    x = np.geomspace(10, 1e4, 7)
    pl = fit_power_law(x, 3.0 * x**-0.5, "n")
    assert pl is not None and (pl.a, pl.alpha, pl.r2) == pytest.approx((3.0, 0.5, 1.0))
    assert pl.predict(np.array([100.0])) == pytest.approx([0.3])
    # non-positive or undefined errors are left out; fewer than 3 points left: no fit
    pl = fit_power_law(np.array([1.0, 2, 4, 8]), np.array([1.0, 0.0, np.nan, 0.5]), "n")
    assert pl is None
    pl = fit_power_law(np.array([1.0, 2, 4, 8, 16]), np.array([1.0, 0.0, 0.5, -1, 0.25]), "n")
    assert pl is not None and pl.n_points == 3 and (pl.a, pl.alpha) == pytest.approx((1.0, 0.5))


def add_synthetic_trials(storage: str, name: str, df: pd.DataFrame) -> None:
    """Put the rows of a synthetic study into optuna as finished trials (no training)."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    dists = {
        "depth": IntDistribution(*SPACE["depth"]),
        "w0": IntDistribution(8, 48, step=8),
        "wa": FloatDistribution(*SPACE["wa"]),
        "wm": FloatDistribution(*SPACE["wm"]),
        "expansion": CategoricalDistribution(SPACE["expansion"]),
        "kernel_size": CategoricalDistribution(SPACE["kernel_size"]),
        "optimizer": CategoricalDistribution(("adamw", "sgd", "sgd-momentum")),
        "lr": FloatDistribution(1e-4, 1e-1, log=True),
    }
    study = open_study(storage, name)
    for _, r in df.iterrows():
        attrs = {
            k: r[k].item() if hasattr(r[k], "item") else r[k]
            for k in df.columns
            if k not in dists and k not in ("trial", "score")
        }
        study.add_trial(
            optuna.trial.create_trial(
                params={k: r[k].item() if hasattr(r[k], "item") else r[k] for k in dists},
                distributions=dists,
                value=float(r["score"]),
                user_attrs=attrs,
            )
        )


def test_scaling_command_writes_the_report(tmp_path: Path) -> None:
    """trials_frame -> analyse -> write_scaling_report, on a study stored in optuna."""
    storage = f"sqlite:///{tmp_path}/a.db"
    df = synthetic_study(n_full=36)
    add_synthetic_trials(storage, "synthetic", df)
    back = trials_frame(storage, "synthetic")
    assert len(back) == len(df) and set(df.columns) <= set(back.columns)
    out = tmp_path / "report"
    text = " ".join(cli("scaling", "synthetic", "--storage", storage, "-o", out).split())
    assert f"({len(df)} trials)" in text and f"wrote 7 files to {out}" in text
    assert len(text.split("CV Pearson r per fold: ")[1].split(" over ")[0].split(", ")) == 3
    assert "over 15 folds of 5 repeated splits" in text
    laws = dict(re.findall(r"power law: error = \S+ · (\w+)\^−([\d.]+)", text))
    assert float(laws["flops"]) == pytest.approx(ALPHA_FLOPS, abs=0.02), text
    assert float(laws["n_train"]) == pytest.approx(ALPHA_DATA, abs=0.05), text

    names = [
        "pareto_flops.png",
        "importance.png",
        "power_law.png",
        "power_law_data.png",
        "summary.json",
        "summary.md",
        "trials.csv",
    ]
    assert sorted(f.name for f in out.iterdir()) == sorted(names)
    for name in names[:4]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = strict_json((out / "summary.json").read_text())
    assert summary["n_trials"] == len(df) and len(summary["cv_pearson_r"]) == 3
    assert len(summary["cv_pearson_r_repeated"]) == 15
    assert summary["cv_pearson_r_repeated"][:3] == summary["cv_pearson_r"]
    assert summary["power_law_flops"]["alpha"] == pytest.approx(ALPHA_FLOPS, abs=0.02)
    assert summary["power_law_data"]["alpha"] == pytest.approx(ALPHA_DATA, abs=0.05)
    assert set(summary["importance"]) == set(FEATURES)
    assert summary["spearman"]["opt_sgd-momentum"] is None  # undefined, written as null
    md = (out / "summary.md").read_text()  # the seed's numbers beside ours, exponents as fitted
    assert "| adamw |" in md and "| 0.682 |" in md and "| 0.531 |" in md
    assert f"flops^−{summary['power_law_flops']['alpha']:.4f}" in md
    assert f"n_train^−{summary['power_law_data']['alpha']:.4f}" in md
    lo, hi = summary["power_law_flops"]["alpha_ci"]
    assert lo < ALPHA_FLOPS < hi and f"[95% CI {lo:.3f}, {hi:.3f}]" in md
    assert summary["best_by_family"]["convnext1d"]["trials"] == 36  # a study from before families
    assert summary["seed_study"]["best_by_optimizer"]["adamw"] == 0.682
    csv = pd.read_csv(out / "trials.csv")
    assert len(csv) == len(df) and set(df.columns) <= set(csv.columns)
    assert sorted(csv["score"]) == pytest.approx(sorted(df["score"]))


def test_scaling_and_recommend_errors_are_one_line(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path}/e.db"
    open_study(storage, "another")
    text = cli("scaling", "nosuch", "--storage", storage, "-o", tmp_path / "out", code=2)
    assert "no study named 'nosuch'" in text and not (tmp_path / "out").exists()
    text = cli("scaling", "another", "--storage", storage, "-o", tmp_path / "out", code=2)
    assert "has no completed trial" in text
    empty = tmp_path / "empty_store"
    empty.mkdir()
    assert "no results store" in cli("recommend", "--store", empty, code=2)


def test_power_law_interval_covers_the_exponent_and_narrows_with_points() -> None:
    rng = np.random.default_rng(3)
    widths = []
    for n in (4, 12):
        x = np.geomspace(100, 1e4, n)
        err = 0.8 * x**-0.2 * np.exp(rng.normal(0, 0.02, n))
        pl = fit_power_law(x, err, "n_train")
        assert pl is not None and pl.alpha_ci[0] < 0.2 < pl.alpha_ci[1]
        widths.append(pl.alpha_ci[1] - pl.alpha_ci[0])
    assert widths[1] < widths[0]
    exact = fit_power_law(np.array([1.0, 2, 4]), np.array([1.0, 0.5, 0.25]), "n")
    assert exact is not None and exact.alpha_ci == pytest.approx((1.0, 1.0))
    assert fit_power_law(np.array([5.0, 5, 5]), np.array([0.5, 0.4, 0.3]), "n") is None


def fixed_size_trials() -> pd.DataFrame:
    """Trials of ``sweep --model``: two named sizes on four record counts, error ∝ N^-α."""
    rows = []
    for model, alpha in (("resnet1d_atto", 0.3), ("transformer1d_atto", 0.1)):
        for n in (206, 412, 824, 1649):
            rows.append(
                {
                    "trial": len(rows),
                    "model": model,
                    "n_train": n,
                    "score": 0.5,
                    "test_challenge_score": 1 - 2.0 * n**-alpha,
                }
            )
    return pd.DataFrame(rows)


def test_data_scaling_fits_one_law_per_named_size() -> None:
    from ecgbench.scaling.analysis import data_scaling, split_trials

    fixed = fixed_size_trials()
    design, only_fixed = split_trials(pd.concat([synthetic_study(n_full=8), fixed]))
    assert len(only_fixed) == len(fixed) and design["model"].isna().all()
    laws = data_scaling(fixed)
    assert laws["resnet1d_atto"].alpha == pytest.approx(0.3)
    assert laws["transformer1d_atto"].alpha == pytest.approx(0.1)
    assert laws["resnet1d_atto"].n_points == 4
    # two record counts: no law, said as such
    assert data_scaling(fixed[fixed["n_train"] > 800])["resnet1d_atto"] is None
    # a repeat at each count (another seed, another score) widens the interval, not the exponent
    noisy = fixed.copy()
    noisy["test_challenge_score"] = 1 - (1 - noisy["test_challenge_score"]) * 1.05
    lower = fixed.copy()
    lower["test_challenge_score"] = 1 - (1 - lower["test_challenge_score"]) / 1.05
    law = data_scaling(pd.concat([noisy, lower]))["resnet1d_atto"]
    assert law.n_points == 8 and law.alpha == pytest.approx(0.3)
    assert law.alpha_ci[0] < 0.3 < law.alpha_ci[1]


def replayed(short: pd.DataFrame, long_scores: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trial": range(100, 100 + len(long_scores)),
            "replay_of": short["trial"].to_numpy()[: len(long_scores)],
            "score": long_scores,
            "epochs": 24,
        }
    )


def test_rank_agreement_of_short_trials_and_their_longer_runs() -> None:
    from ecgbench.scaling.agreement import rank_agreement

    short = pd.DataFrame({"trial": range(8), "score": np.linspace(0.1, 0.8, 8), "epochs": 8})
    same = rank_agreement(short, replayed(short, list(np.linspace(0.2, 0.9, 8))))
    assert (same.spearman, same.kendall) == pytest.approx((1.0, 1.0)) and same.top_k_overlap == 3
    assert same.best_short_rank_long == 1 and (same.short_epochs, same.long_epochs) == (8, 24)
    assert same.pairs[0][:2] == (0, 100)
    flipped = rank_agreement(short, replayed(short, list(np.linspace(0.9, 0.2, 8))))
    assert flipped.spearman == pytest.approx(-1.0) and flipped.top_k_overlap == 0
    assert flipped.best_short_rank_long == 8
    noisy = rank_agreement(short, replayed(short, [0.1, 0.3, 0.2, 0.5, 0.4, 0.8, 0.6, 0.7]))
    lo, hi = noisy.spearman_ci
    assert 0.5 < noisy.spearman < 1 and lo <= noisy.spearman <= hi and hi - lo > 0.1
    assert noisy.top_k_overlap == 3 and noisy.best_short_rank_long == 2
    with pytest.raises(BadInputError, match="2 replayed trials match"):
        rank_agreement(short, replayed(short, [0.1, 0.2]))
    with pytest.raises(BadInputError, match="no replayed trial"):
        rank_agreement(short, short)
