"""The scaling report on disk: the figures, ``scaling.json`` and its Markdown summary.

:mod:`ecgbench.scaling.analysis` computes; this module draws and writes (atomically).
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from ecgbench.scaling.analysis import (
    PowerLaw,
    ScalingSummary,
    family_column,
    frontier_errors,
    json_finite,
    pareto_mask,
)


def write_scaling_report(
    df: pd.DataFrame, summary: ScalingSummary, out: str | os.PathLike[str]
) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    from ecgbench.fileio import atomic_path, atomic_write_json, atomic_write_text

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    full = df[df["train_fraction"] == 1.0] if "train_fraction" in df else df
    full = full.assign(family=family_column(full))
    files = [_savefig(_pareto_figure(full), out / "pareto_flops.png", atomic_path)]
    fig, ax = plt.subplots(figsize=(7, 4))
    imp = pd.Series(summary.importance)
    sns.barplot(x=imp.values, y=imp.index, ax=ax, color="#4c72b0")
    ax.set_xlabel("permutation importance (drop in R²)")
    ax.set_title("What predicts the score")
    fig.tight_layout()
    files.append(_savefig(fig, out / "importance.png", atomic_path))
    if summary.power_law_flops:
        fig = _flops_law_figure(full, summary.power_law_flops)
        files.append(_savefig(fig, out / "power_law.png", atomic_path))
    if summary.power_law_data:
        fig = _data_law_figure(df, summary.power_law_data)
        files.append(_savefig(fig, out / "power_law_data.png", atomic_path))
    atomic_write_json(out / "summary.json", summary.to_dict())
    atomic_write_text(out / "summary.md", summary_markdown(summary))
    with atomic_path(out / "trials.csv") as tmp:
        df.to_csv(tmp, index=False)
    files += [out / "summary.json", out / "summary.md", out / "trials.csv"]
    return files


def _pareto_figure(full: pd.DataFrame):  # -> plt.Figure
    """Score against FLOPs, one panel per optimiser and one per family, each front in its colour."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
    for ax, key, style in zip(axes, ("optimizer", "family"), ("family", "optimizer"), strict=True):
        names = sorted(full[key].unique())
        palette = dict(zip(names, sns.color_palette(n_colors=len(names)), strict=True))
        sns.scatterplot(
            data=full,
            x="flops",
            y="score",
            hue=key,
            hue_order=names,
            palette=palette,
            style=style,
            s=60,
            ax=ax,
        )
        for name, g in full.groupby(key):  # each front in its points' colour
            g = g.sort_values("flops")
            mask = pareto_mask(g["flops"].to_numpy(), g["score"].to_numpy())
            ax.step(g["flops"][mask], g["score"][mask], where="post", lw=1.2, color=palette[name])
        ax.set_xscale("log")
        ax.set_xlabel("FLOPs per 10 s record (log)")
        ax.set_title(f"Pareto front per {key}")
    axes[0].set_ylabel("validation Challenge score")
    fig.tight_layout()
    return fig


def _flops_law_figure(full: pd.DataFrame, pl: PowerLaw):  # -> plt.Figure
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter(full["flops"], 1 - full["score"], s=20, color="#bbbbbb", label="trials")
    xs, errs = frontier_errors(full["flops"].to_numpy(float), full["score"].to_numpy(float))
    ax.scatter(xs, errs, color="black", label="frontier")
    grid = np.geomspace(full["flops"].min(), full["flops"].max())
    ax.plot(grid, pl.predict(grid), label=f"error ∝ FLOPs^-{pl.alpha:.3f} (R² {pl.r2:.2f})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("FLOPs (log)")
    ax.set_ylabel("1 − validation score (log)")
    ax.legend()
    fig.tight_layout()
    return fig


def _data_law_figure(df: pd.DataFrame, pl: PowerLaw):  # -> plt.Figure
    import matplotlib.pyplot as plt

    best = df.groupby("n_train")["score"].max()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter(df["n_train"], 1 - df["score"], s=20, color="#bbbbbb", label="trials")
    ax.scatter(best.index, 1 - best.to_numpy(), color="black", label="best per size")
    grid = np.geomspace(best.index.min(), best.index.max())
    ax.plot(grid, pl.predict(grid), label=f"error ∝ N^-{pl.alpha:.3f} (R² {pl.r2:.2f})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training records N (log)")
    ax.set_ylabel("1 − validation score (log)")
    ax.set_title("Error against the amount of training data")
    ax.legend()
    fig.tight_layout()
    return fig


def write_data_scaling(
    fixed: pd.DataFrame,
    laws: dict[str, PowerLaw | None],
    out: str | os.PathLike[str],
    score: str = "test_challenge_score",
) -> list[Path]:
    """Error against training records per named size: one figure, the laws as JSON."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecgbench.fileio import atomic_path, atomic_write_json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for model, g in fixed.groupby("model"):
        line = ax.plot(g["n_train"], 1 - g[score].to_numpy(), "o", label=str(model))[0]
        pl = laws.get(str(model))
        if pl is not None:
            grid = np.geomspace(g["n_train"].min(), g["n_train"].max())
            ax.plot(grid, pl.predict(grid), color=line.get_color(), lw=1)
            line.set_label(
                f"{model}: α {pl.alpha:.3f} [{pl.alpha_ci[0]:.3f}, {pl.alpha_ci[1]:.3f}]"
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training records N (log)")
    ax.set_ylabel("1 − fold-10 Challenge score (log)")
    ax.set_title("Error against training records, error ∝ N^−α (95 % CI)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    files = [_savefig(fig, out / "data_scaling.png", atomic_path)]
    atomic_write_json(
        out / "data_scaling.json",
        json_finite({m: asdict(pl) if pl else None for m, pl in laws.items()}),
    )
    return [*files, out / "data_scaling.json"]


def format_law(pl: PowerLaw) -> str:
    lo, hi = pl.alpha_ci
    ci = f" [95% CI {lo:.3f}, {hi:.3f}]" if lo == lo else ""
    return f"error = {pl.a:.3g} · {pl.x}^−{pl.alpha:.4f}{ci}, R² {pl.r2:.2f}, {pl.n_points} points"


def summary_markdown(s: ScalingSummary) -> str:
    """The study beside the seed's findings, as Markdown (for a README or a CI job page)."""
    seed = s.seed_study["best_by_optimizer"]
    lines = [
        f"**{s.n_trials} completed trials.** Best validation Challenge score per optimiser "
        "(test = PTB-XL fold 10 of the same trial):",
        "",
        "| optimiser | trials | best val score | its test score | params | MFLOPs | stages "
        "| seed study |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for opt, b in sorted(s.best_by_optimizer.items(), key=lambda kv: -kv[1]["val_score"]):
        sd = seed.get(opt)
        lines.append(
            f"| {opt} | {b['trials']} | {b['val_score']:.3f} | {b['test_score']:.3f} | "
            f"{b['params'] / 1e6:.2f} M | {b['flops'] / 1e6:.0f} | {b['stages']} | "
            + (f"{sd:.3f}" if sd is not None else "–")
            + " |"
        )
    rs = ", ".join("n/a" if r != r else f"{r:.3f}" for r in s.cv_pearson_r)
    allr = np.array([r for r in s.cv_pearson_r_repeated if r == r])
    rep = (
        f"; over {len(allr)} folds of {len(allr) // max(1, len(s.cv_pearson_r))} repeated splits "
        f"mean {allr.mean():.3f}, SD {allr.std():.3f}, range {allr.min():.3f} to {allr.max():.3f}"
        if len(allr) > len(s.cv_pearson_r)
        else ""
    )
    imp = list(s.importance.items())
    lines += [
        "",
        f"- Gradient-boosting regressor, hyper-parameters → score, {len(s.cv_pearson_r)}-fold CV "
        f"Pearson r per fold: {rs}{rep} (seed: {s.seed_study['regressor']}).",
        "- Permutation importance on held-out folds (Spearman ρ with the score): "
        + ", ".join(f"{k} {v:.3f} (ρ {_fmt_rho(s.spearman.get(k))})" for k, v in imp[:6])
        + f'; seed: most important "{s.seed_study["most_important"]}".',
    ]
    for pl, what in (
        (s.power_law_flops, "FLOPs (Pareto frontier)"),
        (s.power_law_params, "parameters (Pareto frontier)"),
        (s.power_law_data, "training records (best trial per size)"),
    ):
        if pl:
            lines.append(f"- Power law of error (1 − val score) against {what}: {format_law(pl)}.")
    if s.best_by_family:
        lines.append(
            "- Best trial per family (val / test): "
            + "; ".join(
                f"{f} {b['val_score']:.3f} / {b['test_score']:.3f} ({b['trials']} trials, "
                f"{b['flops'] / 1e6:.0f} MFLOPs, {b['optimizer']})"
                for f, b in sorted(s.best_by_family.items(), key=lambda kv: -kv[1]["val_score"])
            )
            + "."
        )
    lines.append(f"- Seed's best model: {s.seed_study['best_model']}.")
    return "\n".join(lines) + "\n"


def _fmt_rho(v: float | None) -> str:
    return "n/a" if v is None or v != v else f"{v:+.2f}"


def _savefig(fig, path: Path, atomic_path) -> Path:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path
