"""``ecgbench scaling``: what the sweep says, set beside the seed study's findings.

Pareto front of score vs FLOPs per optimiser; a gradient-boosting regressor from hyper-parameters to
score with k-fold CV Pearson r; permutation importance and Spearman correlations; power laws of
error (1 - score) against compute (FLOPs) and against the number of training records.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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
