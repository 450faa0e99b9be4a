"""The report's main runtime figure: one box per variant from its raw samples, a panel per
machine and device, log latency axis, and the median's 95 % interval over the run's rounds."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ecgbench.report.boxes import MAX_POINTS, MIN_ROUNDS
from ecgbench.report.figures import log_axis

ROW_IN = 0.4  # figure height per box, inches
PANEL_IN = 1.6  # title, axis and legend room per panel, inches


def runtime_boxes(boxes: pd.DataFrame) -> plt.Figure:
    """``boxes``: :func:`ecgbench.report.data.box_frame`. Box and whiskers (1.5 IQR) from every
    sample, dots a seeded subsample, the black bar the median's interval where the row has
    rounds. The artists carry gids (``box:``, ``median:``, ``median-ci:`` + variant) for tests."""
    panels = list(dict.fromkeys(zip(boxes["machine"], boxes["device"], strict=True)))
    sizes = [int(((boxes["machine"] == m) & (boxes["device"] == d)).sum()) for m, d in panels]
    backends = sorted(boxes["backend"].unique())
    colors = dict(zip(backends, sns.color_palette("pastel", len(backends)), strict=True))
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(11, sum(ROW_IN * n + PANEL_IN for n in sizes)),
        height_ratios=[ROW_IN * n + PANEL_IN for n in sizes],
        sharex=True,
        squeeze=False,
    )
    for ax, (machine, device) in zip(axes[:, 0], panels, strict=True):
        sub = boxes[(boxes["machine"] == machine) & (boxes["device"] == device)]
        sub = sub.sort_values(["model", "backend", "precision", "variant"]).reset_index(drop=True)
        _draw_panel(ax, sub, colors)
        ax.set_title(f"{machine} — {device}", loc="left", fontsize=11)
    log_axis(axes[0, 0], "x")
    for ax in axes[:, 0]:
        ax.tick_params(axis="x", labelbottom=True)
    axes[-1, 0].set_xlabel("latency per inference [ms] (log)")
    handles = [Patch(facecolor=colors[b], edgecolor="black", label=b) for b in backends]
    handles += [
        Line2D(
            [],
            [],
            color="black",
            lw=4,
            label=f"median's 95 % interval\n(rounds, where ≥ {MIN_ROUNDS})",
        ),
        Line2D([], [], color="#b00000", lw=2, label="median of all samples"),
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            color="#555555",
            alpha=0.5,
            ms=4,
            label=f"samples (≤ {MAX_POINTS} drawn)",
        ),
    ]
    axes[0, 0].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    return fig


def _draw_panel(ax: plt.Axes, sub: pd.DataFrame, colors: dict) -> None:
    ys = np.arange(len(sub))
    stats = [
        {"label": v, "med": m, "q1": a, "q3": b, "whislo": lo, "whishi": hi, "fliers": []}
        for v, m, a, b, lo, hi in zip(
            sub["variant"],
            sub["median"],
            sub["q1"],
            sub["q3"],
            sub["whislo"],
            sub["whishi"],
            strict=True,
        )
    ]
    art = ax.bxp(
        stats,
        positions=ys,
        orientation="horizontal",
        widths=0.6,
        patch_artist=True,
        showfliers=False,
        medianprops={"color": "#b00000", "lw": 2},
    )
    for v, b, box, med in zip(
        sub["variant"], sub["backend"], art["boxes"], art["medians"], strict=True
    ):
        box.set_facecolor(colors[b])
        box.set_gid(f"box:{v}")
        med.set_gid(f"median:{v}")
    rng = np.random.default_rng(0)
    for y, pts in zip(ys, sub["points"], strict=True):
        jitter = rng.uniform(-0.22, 0.22, size=len(pts))
        ax.scatter(
            pts, y + jitter, s=4, color="#555555", alpha=0.35, lw=0, zorder=3, rasterized=True
        )  # thousands of dots: one image in the SVG, not thousands of paths
    for y, v, lo, hi in zip(ys, sub["variant"], sub["ci_low"], sub["ci_high"], strict=True):
        if pd.notna(lo) and pd.notna(hi):
            ax.plot(
                [lo, hi],
                [y, y],
                color="black",
                lw=4,
                solid_capstyle="butt",
                zorder=4,
                gid=f"median-ci:{v}",
            )
    ax.set_yticks(ys, list(sub["variant"]), fontsize=9)
    ax.set_ylim(len(sub) - 0.5, -0.5)  # first variant on top
    ax.set_ylabel("")
