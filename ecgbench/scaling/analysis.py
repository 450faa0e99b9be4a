"""``ecgbench scaling``: what the sweep says, set beside the seed study's findings.

Pareto front of score vs FLOPs per optimiser; a gradient-boosting regressor from hyper-parameters to
score with k-fold CV Pearson r; permutation importance and Spearman correlations; power laws of
error (1 - score) against compute (FLOPs) and against the number of training records.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecgbench.errors import BadInputError

FEATURES = [
    "depth",
    "w0",
    "wa",
    "wm",
    "expansion",
    "kernel_size",
    "log10_lr",
    "stages",
    "opt_adamw",
    "opt_sgd",
    "opt_sgd-momentum",
    "fam_convnext1d",
    "fam_resnet1d",
    "fam_transformer1d",
]
# The published seed study's results, printed beside this sweep's (not an RNG seed).
SEED_STUDY = {
    "best_by_optimizer": {"adamw": 0.682, "sgd-momentum": 0.638, "sgd": 0.531},
    "best_model": "AdamW, 14.7 M params, 29 MFLOPs, 5 stages",
    "most_important": "stages",
    "regressor": "gradient boosting, 3-fold CV Pearson r",
}


@dataclass
class PowerLaw:
    """error = a * x^(-alpha); fitted in log-log space by least squares."""

    a: float
    alpha: float
    r2: float
    n_points: int
    x: str
    # 95 % t interval of alpha from the log-log fit's residuals (n - 2 degrees of freedom): with
    # 3 or 4 points it is wide, and it says so
    alpha_ci: tuple[float, float] = (float("nan"), float("nan"))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.a * np.power(x, -self.alpha)


@dataclass
class ScalingSummary:
    n_trials: int
    best_by_optimizer: dict[str, dict[str, Any]]
    cv_pearson_r: list[float]  # per fold, first repetition of the k-fold split
    importance: dict[str, float]  # permutation importance on held-out folds (mean drop in R²)
    spearman: dict[str, float]
    power_law_flops: PowerLaw | None
    power_law_data: PowerLaw | None
    power_law_params: PowerLaw | None = None
    best_by_family: dict[str, dict[str, Any]] = field(default_factory=dict)
    # every fold of every repetition: with a few dozen trials, r depends on the split
    cv_pearson_r_repeated: list[float] = field(default_factory=list)
    seed_study: dict[str, Any] = field(default_factory=lambda: dict(SEED_STUDY))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: an undefined value (a correlation with a constant feature) becomes None."""
        return json_finite(asdict(self))


def json_finite(o: Any) -> Any:
    """Nested dicts/lists with every non-finite float as None (strict JSON)."""
    if isinstance(o, dict):
        return {k: json_finite(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [json_finite(v) for v in o]
    if isinstance(o, float) and not np.isfinite(o):
        return None
    return o


def family_column(df: pd.DataFrame) -> pd.Series:
    """Each trial's family; studies from before the family axis hold ConvNeXt-1D trials only."""
    if "family" not in df:
        return pd.Series("convnext1d", index=df.index)
    return df["family"].fillna("convnext1d")


def features(df: pd.DataFrame) -> pd.DataFrame:
    X = pd.DataFrame(index=df.index)
    for c in ("depth", "w0", "wa", "wm", "expansion", "kernel_size", "stages"):
        X[c] = df[c].astype(float)
    X["log10_lr"] = np.log10(df["lr"].astype(float))
    for o in ("adamw", "sgd", "sgd-momentum"):
        X[f"opt_{o}"] = (df["optimizer"] == o).astype(float)
    family = family_column(df)
    for f in ("convnext1d", "resnet1d", "transformer1d"):
        X[f"fam_{f}"] = (family == f) * 1.0
    return X[FEATURES]


def pareto_mask(cost: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Points no other point beats on both lower cost and higher score."""
    out = np.ones(len(cost), dtype=bool)
    for i in range(len(cost)):
        better = (cost <= cost[i]) & (score >= score[i]) & ((cost < cost[i]) | (score > score[i]))
        out[i] = not better.any()
    return out


def fit_power_law(x: np.ndarray, err: np.ndarray, name: str) -> PowerLaw | None:
    ok = (x > 0) & (err > 0) & np.isfinite(err)
    if ok.sum() < 3:
        return None
    lx, ly = np.log(x[ok]), np.log(err[ok])
    if np.ptp(lx) == 0:
        return None
    slope, intercept = np.polyfit(lx, ly, 1)
    pred = intercept + slope * lx
    ss_res = float(((ly - pred) ** 2).sum())
    ss_tot = float(((ly - ly.mean()) ** 2).sum()) or 1e-12
    return PowerLaw(
        a=float(np.exp(intercept)),
        alpha=float(-slope),
        r2=1 - ss_res / ss_tot,
        n_points=int(ok.sum()),
        x=name,
        alpha_ci=slope_interval(lx, ly, slope, ss_res, sign=-1.0),
    )


def slope_interval(
    lx: np.ndarray, ly: np.ndarray, slope: float, ss_res: float, sign: float = 1.0
) -> tuple[float, float]:
    """95 % t interval of a least-squares slope (times ``sign``), n - 2 degrees of freedom."""
    from scipy.stats import t

    n = len(lx)
    if n < 3:
        return float("nan"), float("nan")
    se = np.sqrt(ss_res / (n - 2) / float(((lx - lx.mean()) ** 2).sum()))
    half = float(t.ppf(0.975, n - 2) * se)
    lo, hi = sign * slope - half, sign * slope + half
    return float(lo), float(hi)


def frontier_errors(x: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The best error reached at or below each x (the compute-efficient frontier)."""
    order = np.argsort(x)
    best = -np.inf
    xs, errs = [], []
    for i in order:
        if score[i] > best:
            best = score[i]
            xs.append(x[i])
            errs.append(1 - best)
    return np.asarray(xs), np.asarray(errs)


def analyse(df: pd.DataFrame, folds: int = 3, seed: int = 0, repeats: int = 5) -> ScalingSummary:
    from scipy.stats import pearsonr, spearmanr
    from sklearn.inspection import permutation_importance

    full = df[df.get("train_fraction", 1.0) == 1.0] if "train_fraction" in df else df
    if len(full) < max(6, folds * 2):  # the regressor and the fronts use full-data trials only
        raise BadInputError(
            f"need at least {max(6, folds * 2)} completed trials on all the training records "
            f"(train_fraction 1), have {len(full)} of {len(df)}"
        )
    best = _best_by(full, "optimizer")
    by_family = _best_by(full.assign(family=family_column(full)), "family")
    X, y = features(full), full["score"].to_numpy()
    rs: list[float] = []
    imps = []
    # Repeated k-fold: a few dozen noisy trials make r depend on the split; report all of it.
    # Importance is measured on the held-out fold, so it counts what predicts unseen trials.
    for rep, (tr, te) in enumerate(_repeated_folds(len(X), folds, repeats, seed)):
        m = _regressor(seed + rep).fit(X.iloc[tr], y[tr])
        pred = m.predict(X.iloc[te])
        rs.append(float(pearsonr(pred, y[te])[0]) if np.std(pred) > 0 else float("nan"))
        pi = permutation_importance(m, X.iloc[te], y[te], n_repeats=5, random_state=seed)
        imps.append(pi.importances_mean)
    importance = dict(
        sorted(zip(FEATURES, np.mean(imps, axis=0).tolist(), strict=True), key=lambda kv: -kv[1])
    )
    spear = {}
    for c in FEATURES:
        rho = spearmanr(X[c], y)[0] if X[c].nunique() > 1 else np.nan
        spear[c] = float(rho)
    xs, errs = frontier_errors(full["flops"].to_numpy(float), full["score"].to_numpy(float))
    pl_flops = fit_power_law(xs, errs, "flops")
    xp, errp = frontier_errors(full["params"].to_numpy(float), full["score"].to_numpy(float))
    pl_params = fit_power_law(xp, errp, "params")
    pl_data = None
    if "n_train" in df and df["n_train"].nunique() >= 3:
        bestn = df.groupby("n_train")["score"].max()
        pl_data = fit_power_law(bestn.index.to_numpy(float), 1 - bestn.to_numpy(float), "n_train")
    return ScalingSummary(
        n_trials=len(df),
        best_by_optimizer=best,
        cv_pearson_r=rs[:folds],
        importance=importance,
        spearman=spear,
        power_law_flops=pl_flops,
        power_law_data=pl_data,
        power_law_params=pl_params,
        best_by_family=by_family,
        cv_pearson_r_repeated=rs,
    )


def _best_by(df: pd.DataFrame, key: str) -> dict[str, dict[str, Any]]:
    """The best trial (validation score) per value of ``key``."""
    best = {}
    for value, g in df.groupby(key):
        r = g.loc[g["score"].idxmax()]
        best[str(value)] = {
            "val_score": float(r["score"]),
            "test_score": float(r.get("test_challenge_score", np.nan)),
            "params": int(r["params"]),
            "flops": int(r["flops"]),
            "stages": int(r["stages"]),
            "optimizer": str(r["optimizer"]),
            "trials": len(g),
        }
    return best


def split_trials(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(design-space trials, fixed named-size trials of ``sweep --model``)."""
    fixed = df["model"].notna() if "model" in df else pd.Series(False, index=df.index)
    return df[~fixed], df[fixed]


def data_scaling(
    fixed: pd.DataFrame, score: str = "test_challenge_score"
) -> dict[str, PowerLaw | None]:
    """Per named size, error (1 − score) against training records, every trial a point: repeats
    at one record count (other seeds) put their spread into the exponent's interval. At least 3
    record counts, or no law.

    The fold-10 score by default: fold 9 picked each trial's epoch and thresholds, so its score is
    optimistic, and more so for small fractions (fewer steps, noisier selection).
    """
    laws: dict[str, PowerLaw | None] = {}
    for model, g in fixed.groupby("model"):
        if g["n_train"].nunique() < 3:
            laws[str(model)] = None
            continue
        laws[str(model)] = fit_power_law(
            g["n_train"].to_numpy(float), 1 - g[score].to_numpy(float), "n_train"
        )
    return laws


def _regressor(seed: int):
    from sklearn.ensemble import GradientBoostingRegressor

    return GradientBoostingRegressor(
        random_state=seed, n_estimators=200, max_depth=2, learning_rate=0.05, subsample=0.8
    )


def _repeated_folds(n: int, folds: int, repeats: int, seed: int):
    from sklearn.model_selection import KFold

    for r in range(repeats):
        yield from KFold(n_splits=folds, shuffle=True, random_state=seed + r).split(np.arange(n))


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
    files = []
    full = df[df["train_fraction"] == 1.0] if "train_fraction" in df else df
    full = full.assign(family=family_column(full))
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
    files.append(_savefig(fig, out / "pareto_flops.png", atomic_path))
    fig, ax = plt.subplots(figsize=(7, 4))
    imp = pd.Series(summary.importance)
    sns.barplot(x=imp.values, y=imp.index, ax=ax, color="#4c72b0")
    ax.set_xlabel("permutation importance (drop in R²)")
    ax.set_title("What predicts the score")
    fig.tight_layout()
    files.append(_savefig(fig, out / "importance.png", atomic_path))
    if summary.power_law_flops:
        pl = summary.power_law_flops
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
        files.append(_savefig(fig, out / "power_law.png", atomic_path))
    if summary.power_law_data:
        pl = summary.power_law_data
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
        files.append(_savefig(fig, out / "power_law_data.png", atomic_path))
    atomic_write_json(out / "summary.json", summary.to_dict())
    atomic_write_text(out / "summary.md", summary_markdown(summary))
    with atomic_path(out / "trials.csv") as tmp:
        df.to_csv(tmp, index=False)
    files += [out / "summary.json", out / "summary.md", out / "trials.csv"]
    return files


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
