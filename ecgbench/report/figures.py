"""The report's figures, drawn with seaborn; each returns a matplotlib Figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter, LogLocator

sns.set_theme(style="whitegrid", context="notebook")
MIN_SCORE_SPAN = 0.1  # the Pareto's score axis spans at least this


def log_axis(ax, axis: str = "y") -> None:
    """Log axis with plain-number ticks (0.5, 1, 2, 5 ms), readable without knowing 10^x."""
    a = ax.yaxis if axis == "y" else ax.xaxis
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    a.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    a.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    a.set_minor_formatter(matplotlib.ticker.NullFormatter())


def median_overview(df: pd.DataFrame) -> plt.Figure:
    """Overview of medians: per partition one dot per model's median latency (no box: a few
    models' medians are no distribution; the variants' own samples are in the box figure)."""
    lat = df[df["scenario"] == "latency"]
    machines = list(dict.fromkeys(lat["machine"]))
    order = sorted(lat["partition"].unique())
    height = max(2.5, 0.4 * len(order) + 1.3)
    fig, axes = plt.subplots(len(machines), 1, figsize=(10, height * len(machines)), squeeze=False)
    for ax, m in zip(axes[:, 0], machines, strict=True):
        sns.stripplot(
            data=lat[lat["machine"] == m],
            y="partition",
            x="median_ms",
            order=order,
            hue="model",
            ax=ax,
            size=7,
            jitter=0.12,
            edgecolor="black",
            linewidth=0.5,
        )
        log_axis(ax, "x")
        ax.set_xlabel("median latency per inference [ms] (log)")
        ax.set_ylabel("device · backend · precision")
        ax.set_title(f"Overview of medians — {m}", loc="left", fontsize=11)
        ax.legend(title="model", bbox_to_anchor=(1.01, 1), loc="upper left", fontsize=9)
    fig.tight_layout()
    return fig


def runtime_vs_flops(df: pd.DataFrame) -> plt.Figure:
    """One panel per partition; the dashed line is the machine's FP32 GEMM ceiling."""
    lat = df[(df["scenario"] == "latency") & df["flops"].notna()].copy()
    lat["GFLOPs per inference"] = lat["flops"] * lat["batch"] / 1e9
    col_wrap = min(3, max(1, lat["partition"].nunique()))
    g = sns.FacetGrid(
        lat,
        col="partition",
        hue="machine",
        col_wrap=col_wrap,
        height=3.2,
        aspect=1.2,
        sharex=True,
        sharey=True,
    )
    g.map_dataframe(
        sns.scatterplot,
        x="GFLOPs per inference",
        y="median_ms",
        s=60,
        edgecolor="black",
        linewidth=0.4,
    )
    xs = np.geomspace(lat["GFLOPs per inference"].min() / 2, lat["GFLOPs per inference"].max() * 2)
    for ax in g.axes.flat:
        log_axis(ax, "x")
        log_axis(ax, "y")
        ax.tick_params(axis="x", labelbottom=True, labelsize=8)
        part = lat[lat["partition"] == ax.get_title().split(" = ")[-1]]
        for _m, gg in part.groupby("machine"):
            # runs written before ceilings per arithmetic: their FP32 GEMM
            ceiling = (
                gg["ceiling_gflops"].fillna(gg["gemm_gflops"])
                if "ceiling_gflops" in gg
                else gg["gemm_gflops"]
            ).dropna()
            if len(ceiling):
                ax.plot(xs, xs / ceiling.median() * 1e3, ls="--", lw=1, color="grey")
        for _, r in lat[lat["partition"] == ax.get_title().split(" = ")[-1]].iterrows():
            ax.annotate(
                str(r["model"]).replace("convnext1d_", ""),
                (r["GFLOPs per inference"], r["median_ms"]),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
    g.set_titles("{col_name}", size=9)
    g.set_axis_labels("GFLOPs per inference (log)", "median latency [ms] (log)")
    g.add_legend(title="machine")
    g.figure.suptitle(
        "Runtime vs FLOPs (dashed: time at the GEMM ceiling of the executed arithmetic)", y=1.02
    )
    g.figure.subplots_adjust(hspace=0.45)
    return g.figure


def _score_interval(a: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Lower/upper error-bar lengths of the score's 95 % interval (0 where the row has none)."""
    none = pd.Series(np.nan, index=a.index)
    s = a["challenge_score"].to_numpy(dtype=float)
    lo = a.get("challenge_score_ci_low", none).astype(float).to_numpy()
    hi = a.get("challenge_score_ci_high", none).astype(float).to_numpy()
    return np.nan_to_num(s - lo), np.nan_to_num(hi - s)


def accuracy_beside_runtime(acc: pd.DataFrame) -> plt.Figure:
    """Left: Challenge score per model and variant with its 95 % interval, axis from 0;
    right: that variant's median latency. Dots, not bars: a bar's length must mean something."""
    a = acc.dropna(subset=["challenge_score"]).copy()
    a["variant"] = a["backend"] + " " + a["precision"]
    models = sorted(a["model"].unique())
    variants = sorted(a["variant"].unique())
    k = len(variants)
    fig, (ax1, ax2) = plt.subplots(
        1, 2, figsize=(12, max(3.5, 0.3 * len(a) + 0.6 * len(models) + 1.5)), sharey=True
    )
    palette = dict(zip(variants, sns.color_palette("deep", k), strict=True))
    for j, v in enumerate(variants):
        sub = a[a["variant"] == v]
        y = sub["model"].map({m: i for i, m in enumerate(models)}) + (j - (k - 1) / 2) * 0.7 / k
        c = ax1.errorbar(
            sub["challenge_score"],
            y,
            xerr=np.vstack(_score_interval(sub)),
            fmt="o",
            color=palette[v],
            ecolor=palette[v],
            elinewidth=2,
            capsize=3,
            ms=6,
            mec="black",
            mew=0.5,
            label=v,
        )
        c.lines[2][0].set_gid(f"score-ci:{v}")
        ax2.scatter(sub["median_ms"], y, color=palette[v], s=40, edgecolor="black", lw=0.5)
    hi = a.get("challenge_score_ci_high", pd.Series(dtype=float)).astype(float)
    top = np.nanmax(np.r_[a["challenge_score"].astype(float), hi])
    ax1.set_xlim(0, min(1.0, top + 0.05))
    ax1.set_yticks(range(len(models)), models)
    ax1.set_ylim(len(models) - 0.5, -0.5)
    ax1.set_xlabel("Challenge score, fold 10, with 95 % interval (higher is better)")
    ax1.legend(title="variant", fontsize=8, loc="lower left")
    log_axis(ax2, "x")
    ax2.set_xlabel("median latency [ms] (log)")
    ax1.set_title("Accuracy per variant", loc="left")
    ax2.set_title("…and what it costs in time", loc="left")
    fig.tight_layout()
    return fig


def pareto_front(points: pd.DataFrame) -> pd.Series:
    """True where no other point is at least as fast and at least as accurate (and better in one)."""
    t = points["median_ms"].to_numpy()
    s = points["challenge_score"].to_numpy()
    keep = []
    for i in range(len(points)):
        dominated = np.any((t <= t[i]) & (s >= s[i]) & ((t < t[i]) | (s > s[i])))
        keep.append(not dominated)
    return pd.Series(keep, index=points.index)


def accuracy_latency_pareto(acc: pd.DataFrame) -> plt.Figure:
    a = acc.dropna(subset=["challenge_score"]).copy()
    devices = sorted(a["device"].unique()) or ["CPU"]
    fig, axes = plt.subplots(1, len(devices), figsize=(7 * len(devices), 4.8), squeeze=False)
    for ax, dev in zip(axes[0], devices, strict=True):
        sub = a[a["device"] == dev].copy()
        sub["front"] = pareto_front(sub)
        dom = sub[~sub["front"]]
        front = sub[sub["front"]].sort_values("median_ms")
        down, up = _score_interval(sub)
        ci = ax.errorbar(
            sub["median_ms"],
            sub["challenge_score"],
            yerr=np.vstack([down, up]),
            fmt="none",
            ecolor="#888888",
            elinewidth=1,
            capsize=2,
            zorder=1,
        )
        ci.lines[2][0].set_gid("score-ci")
        ax.scatter(
            dom["median_ms"], dom["challenge_score"], color="#bbbbbb", s=35, label="dominated"
        )
        sns.scatterplot(
            data=front,
            x="median_ms",
            y="challenge_score",
            hue="precision",
            style="backend",
            s=90,
            ax=ax,
            edgecolor="black",
        )
        ax.step(front["median_ms"], front["challenge_score"], where="post", color="black", lw=1)
        for _, r in front.iterrows():
            ax.annotate(
                f"{str(r['model']).replace('convnext1d_', '')} {r['backend']} {r['precision']}",
                (r["median_ms"], r["challenge_score"]),
                fontsize=7,
                xytext=(4, -10),
                textcoords="offset points",
                rotation=-12,
            )
        log_axis(ax, "x")
        ax.set_xlabel("median latency [ms] (log)")
        ax.set_ylabel("Challenge score, fold 10 (bars: 95 % interval)")
        lo, hi = ax.get_ylim()
        if hi - lo < MIN_SCORE_SPAN:  # a 0.002 difference must not fill the axis
            mid = (hi + lo) / 2
            ax.set_ylim(mid - MIN_SCORE_SPAN / 2, mid + MIN_SCORE_SPAN / 2)
        ax.set_title(f"Accuracy–latency Pareto front — {dev}", loc="left")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def profile_bars(profiles: list[dict]) -> plt.Figure:
    """Per profiled variant, its layer time per inference split by executed arithmetic."""
    frame = pd.DataFrame(
        [
            {
                "variant": f"{p['label']} ({p.get('executed')}) · {p['machine']} · {p['run_id'][:6]}",
                "arithmetic": a,
                "ms": ms,
            }
            for p in profiles
            for a, ms in p.get("by_arithmetic_ms", {}).items()
        ]
    )
    # one profile per variant label (machine and run in it): nothing is summed across them
    wide = frame.pivot_table(index="variant", columns="arithmetic", values="ms", aggfunc="first")
    wide = wide.fillna(0.0)
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(wide) + 1.5))
    wide.plot.barh(stacked=True, ax=ax, colormap="tab10", edgecolor="black", linewidth=0.3)
    ax.set_xlabel("median layer time per inference [ms]")
    ax.set_ylabel("")
    ax.legend(title="executed", fontsize=8)
    ax.set_title("Where the time goes (OpenVINO performance counters)")
    return fig
