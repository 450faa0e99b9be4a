"""The report's figures, drawn with seaborn; each returns a matplotlib Figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import LogLocator, ScalarFormatter

sns.set_theme(style="whitegrid", context="notebook")


def _log_axis(ax, axis: str = "y") -> None:
    """Log axis with plain-number ticks (0.5, 1, 2, 5 ms), readable without knowing 10^x."""
    a = ax.yaxis if axis == "y" else ax.xaxis
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    a.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    fmt = ScalarFormatter()
    fmt.set_scientific(False)
    a.set_major_formatter(fmt)
    a.set_minor_formatter(matplotlib.ticker.NullFormatter())


def runtime_boxplot(df: pd.DataFrame) -> plt.Figure:
    """The seed study's picture: per partition a box over models' median latency, a dot per model."""
    lat = df[df["scenario"] == "latency"]
    machines = list(dict.fromkeys(lat["machine"]))
    order = sorted(lat["partition"].unique())
    height = max(3.0, 0.45 * len(order) + 1.5)
    fig, axes = plt.subplots(len(machines), 1, figsize=(10, height * len(machines)), squeeze=False)
    for ax, m in zip(axes[:, 0], machines, strict=True):
        sub = lat[lat["machine"] == m]
        sns.boxplot(
            data=sub,
            y="partition",
            x="median_ms",
            order=order,
            ax=ax,
            color="#dfe8f3",
            showfliers=False,
            width=0.6,
        )
        sns.stripplot(
            data=sub,
            y="partition",
            x="median_ms",
            order=order,
            hue="model",
            ax=ax,
            size=7,
            jitter=0.15,
            edgecolor="black",
            linewidth=0.5,
        )
        _log_axis(ax, "x")
        ax.set_xlabel("median latency per inference [ms] (log)")
        ax.set_ylabel("device · backend · precision")
        ax.set_title(f"Runtime per partition — {m}", loc="left", fontsize=11)
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
        _log_axis(ax, "x")
        _log_axis(ax, "y")
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


def accuracy_beside_runtime(acc: pd.DataFrame) -> plt.Figure:
    """Left: Challenge score per model and variant; right: that variant's median latency."""
    a = acc.dropna(subset=["challenge_score"]).copy()
    a["variant"] = a["backend"] + " " + a["precision"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, max(3.5, 0.35 * len(a) + 1.5)), sharey=True)
    order = sorted(a["model"].unique())
    sns.barplot(
        data=a, y="model", x="challenge_score", hue="variant", order=order, ax=ax1, errorbar=None
    )
    ax1.set_xlabel("Challenge score, fold 10 (higher is better)")
    lo = max(0.0, a["challenge_score"].min() - 0.05)
    ax1.set_xlim(lo, min(1.0, a["challenge_score"].max() + 0.03))
    ax1.legend(title="variant", fontsize=8, loc="lower right")
    sns.barplot(
        data=a,
        y="model",
        x="median_ms",
        hue="variant",
        order=order,
        ax=ax2,
        errorbar=None,
        legend=False,
    )
    _log_axis(ax2, "x")
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
        _log_axis(ax, "x")
        ax.set_xlabel("median latency [ms] (log)")
        ax.set_ylabel("Challenge score, fold 10")
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
