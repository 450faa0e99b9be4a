"""The report's figures, drawn with seaborn; each returns a matplotlib Figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter, LogLocator

from ecgbench.markup import literal_figure_text

sns.set_theme(style="whitegrid", context="notebook")
literal_figure_text()  # a "$" in a name starts no math text
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
    """One panel per device, a colour per backend · precision (as asked, and what ran where it
    differs), every machine's medians; dashed: the time at each executed arithmetic's GEMM
    ceiling (the median over machines of the ceilings measured in their runs)."""
    lat = df[(df["scenario"] == "latency") & df["flops"].notna()].copy()
    lat["gflop"] = lat["flops"] * lat["batch"] / 1e9
    lat["variant"] = [
        f"{b} · {p.split(' · ')[-1]}" for b, p in zip(lat["backend"], lat["partition"], strict=True)
    ]
    devices = sorted(lat["device"].astype(str).unique())
    variants = sorted(lat["variant"].unique())
    colours = dict(zip(variants, sns.color_palette("tab10", len(variants)), strict=True))
    fig, axes = plt.subplots(
        1, len(devices), figsize=(8.5 * len(devices), 5.2), squeeze=False, sharey=True
    )
    xs = np.geomspace(lat["gflop"].min() / 2, lat["gflop"].max() * 2)
    for ax, dev in zip(axes[0], devices, strict=True):
        sub = lat[lat["device"].astype(str) == dev]
        for v, g in sub.groupby("variant"):
            ax.scatter(g["gflop"], g["median_ms"], s=36, color=colours[v], label=v,
                       edgecolor="black", linewidth=0.3, alpha=0.8)  # fmt: skip
        ceiling = sub.get("ceiling_gflops", pd.Series(np.nan, index=sub.index))
        if "gemm_gflops" in sub:
            ceiling = ceiling.fillna(sub["gemm_gflops"])  # runs before ceilings per arithmetic
        arith = sub.get("ceiling", pd.Series("f32", index=sub.index)).fillna("f32")
        for a, c in ceiling.groupby(arith):
            c = c.dropna()
            if len(c):
                ax.plot(xs, xs / c.median() * 1e3, ls="--", lw=1, color="grey")
                ax.annotate(f"{a} GEMM", (xs[-1], xs[-1] / c.median() * 1e3), fontsize=7,
                            color="grey", ha="right", va="bottom")  # fmt: skip
        ax.set_ylim(lat["median_ms"].min() / 1.5, lat["median_ms"].max() * 1.5)
        log_axis(ax, "x")
        log_axis(ax, "y")
        ax.set_xlabel("GFLOPs per inference (log)")
        ax.set_title(f"Runtime vs FLOPs — {dev}", loc="left")
    axes[0, 0].set_ylabel("median latency [ms] (log)")
    axes[0, -1].legend(title="backend · precision", fontsize=8, loc="upper left",
                       bbox_to_anchor=(1.01, 1))  # fmt: skip
    fig.tight_layout()
    return fig


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
    a["variant"] = _variant_names(a)
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


def _variant_names(a: pd.DataFrame) -> list[str]:
    """``openvino · fp16 → f32``: the backend and the precision as every figure names it."""
    from ecgbench.report.data import shown_precision

    ex = a["executed"] if "executed" in a else pd.Series(None, index=a.index)
    return [
        f"{b} · {shown_precision(str(p), e)}"
        for b, p, e in zip(a["backend"], a["precision"], ex, strict=True)
    ]


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
        front = front.assign(variant=_variant_names(front))
        palette = dict(zip(front["variant"].unique(), sns.color_palette("tab10"), strict=False))
        ax.step(front["median_ms"], front["challenge_score"], where="post", color="black", lw=1)
        for i, r in enumerate(front.to_dict("records"), start=1):
            # a number beside each point, the names in the legend: labels never collide
            name = f"{i}  {str(r['model']).replace('convnext1d_', '')} · {r['variant']}"
            ax.scatter(r["median_ms"], r["challenge_score"], s=90, edgecolor="black",
                       color=palette.get(r["variant"]), label=name, zorder=3)  # fmt: skip
            ax.annotate(str(i), (r["median_ms"], r["challenge_score"]), fontsize=8,
                        xytext=(5, 5), textcoords="offset points", weight="bold")  # fmt: skip
        log_axis(ax, "x")
        ax.set_xlabel("median latency [ms] (log)")
        ax.set_ylabel("Challenge score, fold 10 (bars: 95 % interval)")
        lo, hi = ax.get_ylim()
        if hi - lo < MIN_SCORE_SPAN:  # a 0.002 difference must not fill the axis
            mid = (hi + lo) / 2
            ax.set_ylim(mid - MIN_SCORE_SPAN / 2, mid + MIN_SCORE_SPAN / 2)
        ax.set_title(f"Accuracy–latency Pareto front — {dev}", loc="left")
        ax.legend(title="on the front (grey: dominated)", fontsize=8, loc="upper left",
                  bbox_to_anchor=(1.01, 1))  # fmt: skip
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
