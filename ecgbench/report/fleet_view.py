"""The fleet view: one box per machine × device on one log axis (the seed study's headline
figure), and a machine × variant table of medians relative to a reference machine.

A fleet of 20 machines used to give 20 panels of every variant (and minutes of drawing); this is
one figure whatever the fleet's size. The box of a machine is its latest run of the chosen
variant, from every sample; over the zoo (no variant chosen), the box of a machine spans its
variants' medians relative to the reference machine's medians of the same variants.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ecgbench.report.data import FACET_MACHINES
from ecgbench.report.figures import log_axis


@dataclass(frozen=True)
class FleetChoice:
    """What the fleet view shows: one variant (model · backend · precision), or the zoo (None)."""

    reference: str  # the machine the relative medians are against
    variant: str | None


MIN_MACHINES = 2  # the view needs something to compare
CAPTION = (
    "One box per machine × device on one log axis, fastest first: quartiles and whiskers over "
    "every sample of the machine's latest run of the variant named on the axis, red = median; "
    "orange = the reference machine. Over the zoo (<code>report --fleet all</code>): each box "
    "spans the machine's medians of every variant relative to the reference machine's. "
    "<code>--fleet MODEL</code> or <code>--fleet 'MODEL · BACKEND · PRECISION'</code> picks the "
    "variant, <code>--reference MACHINE</code> the reference."
)


@dataclass(frozen=True)
class FleetOptions:
    """``report --fleet`` (a variant prefix, or ``all``) and ``--reference`` (a machine)."""

    variant: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class FleetView:
    """How the report lays out many machines: per-machine panels for a few, else the fleet view
    plus the reference machine's own figures (no facet per machine)."""

    few: bool
    reference: str | None
    choice: FleetChoice | None

    @classmethod
    def of(cls, data, options: FleetOptions | None = None) -> FleetView:  # data: ReportData
        o = options or FleetOptions()
        machines = sorted(data.rows["machine"].astype(str).unique())
        few = len(machines) <= FACET_MACHINES
        boxes = data.boxes
        if len(machines) < MIN_MACHINES or not len(boxes):
            return cls(few, machines[0] if machines else None, None)
        c = choose(boxes, o.variant, o.reference)
        return cls(few, c.reference, c)

    def per_variant(self, boxes: pd.DataFrame) -> pd.DataFrame:
        """Every run's boxes for a few machines; for a fleet, the reference machine's latest."""
        if self.few or not len(boxes):
            return boxes
        latest = _latest(boxes[boxes["machine"] == self.reference])
        return latest.assign(variant=latest["key"]).drop(columns="key")

    def one_machine(self, df: pd.DataFrame) -> pd.DataFrame:
        """All machines' rows for a few; the reference machine's for a fleet."""
        if self.few or "machine" not in df:
            return df
        return df[df["machine"] == self.reference]

    def caption_note(self) -> str:
        if self.few:
            return ""
        return (
            f" Fleet of more than {FACET_MACHINES} machines: this figure, the accuracy figures "
            f"and the budget table show the reference machine, <b>{self.reference}</b>; the "
            "fleet view below compares every machine."
        )


def _latest(boxes: pd.DataFrame) -> pd.DataFrame:
    """The latest run per machine × device × variant (documents arrive oldest first)."""
    b = boxes.assign(key=boxes["variant"].str.split(" · run ").str[0])
    return b.drop_duplicates(["machine", "device", "key"], keep="last")


def choose(boxes: pd.DataFrame, variant: str | None = None, reference: str | None = None):
    """The reference machine (given, else the one with the most variants) and the variant (given
    as ``model`` or ``model · backend · precision`` prefix, else the one timed on most machines;
    ``all``: the zoo)."""
    b = _latest(boxes)
    counts = b.groupby("machine")["key"].nunique().sort_index()
    ref = reference if reference in counts.index else str(counts.idxmax())
    if variant == "all":
        return FleetChoice(ref, None)
    keys = b.groupby("key")["machine"].nunique().sort_values(ascending=False, kind="stable")
    if variant:
        keys = keys[[k.startswith(variant) for k in keys.index]]
    return FleetChoice(ref, str(keys.index[0]) if len(keys) else None)


def relative_medians(boxes: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Machine × variant: each latest median over the reference machine's median of the variant
    (1.0 on the reference; NaN where either was not timed)."""
    b = _latest(boxes)
    wide = b.pivot_table(
        index=["machine", "device"], columns="key", values="median", aggfunc="last"
    )
    ref_rows = (
        wide.xs(reference, level="machine") if reference in wide.index.get_level_values(0) else None
    )
    if ref_rows is None or ref_rows.empty:
        return wide * np.nan
    base = ref_rows.iloc[0]
    return wide.divide(base, axis="columns")


def fleet_figure(boxes: pd.DataFrame, choice: FleetChoice) -> plt.Figure:
    """One horizontal box per machine × device, all on one log axis, sorted fastest first."""
    b = _latest(boxes)
    if choice.variant is not None:
        sub = b[b["key"] == choice.variant]
        stats = [
            {"label": f"{m} — {d}", "med": r["median"], "q1": r["q1"], "q3": r["q3"],
             "whislo": r["whislo"], "whishi": r["whishi"], "fliers": []}
            for (m, d), r in zip(zip(sub["machine"], sub["device"], strict=True),
                                 sub.to_dict("records"), strict=True)
        ]  # fmt: skip
        xlabel = f"latency per inference [ms] (log) — {choice.variant}"
    else:
        rel = relative_medians(boxes, choice.reference)
        stats = []
        for (m, d), v in rel.iterrows():
            x = v.dropna().to_numpy(dtype=float)
            if not len(x):
                continue
            q1, med, q3 = np.percentile(x, [25, 50, 75])
            stats.append({"label": f"{m} — {d}", "med": med, "q1": q1, "q3": q3,
                          "whislo": x.min(), "whishi": x.max(), "fliers": []})  # fmt: skip
        xlabel = f"median relative to {choice.reference} over the variants both timed (log)"
    stats.sort(key=lambda s: s["med"])
    drawn = {s["label"].split(" — ")[0] for s in stats}
    missing = sorted(set(b["machine"].astype(str)) - drawn)
    fig, ax = plt.subplots(figsize=(11, 0.32 * len(stats) + 1.6))
    art = ax.bxp(stats, orientation="horizontal", widths=0.6, patch_artist=True,
                 showfliers=False, medianprops={"color": "#b00000", "lw": 2})  # fmt: skip
    for s, box in zip(stats, art["boxes"], strict=True):
        ref = s["label"].startswith(f"{choice.reference} — ")
        box.set_facecolor("#f4c27a" if ref else "#a6c8e0")
        box.set_gid(f"fleet-box:{s['label']}")
    ax.set_yticks(range(1, len(stats) + 1), [s["label"] for s in stats], fontsize=8)
    ax.invert_yaxis()
    log_axis(ax, "x")
    ax.set_xlabel(xlabel)
    title = "Fleet: one box per machine × device (orange: the reference)"
    if missing:  # never silently: machines that did not time it (or share no variant)
        what = "this variant" if choice.variant else "a variant with the reference"
        names = ", ".join(missing[:8]) + (
            f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        )
        title += f"\nnot drawn (no timing of {what}): {names}"
    ax.set_title(title, loc="left", fontsize=10)
    fig.tight_layout()
    return fig


def fleet_table(boxes: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Rows: machine × device; columns: variants; cells: median relative to the reference
    (``×1.23``), and the reference's own row in ms."""
    rel = relative_medians(boxes, reference)
    b = _latest(boxes)
    ref = b[b["machine"] == reference].drop_duplicates("key").set_index("key")["median"]
    out = rel.map(lambda v: "–" if pd.isna(v) else f"×{v:.2f}")
    out.columns.name = None
    out = out.reset_index()
    is_ref = out["machine"] == reference
    for k in rel.columns:
        if k in ref.index:
            out.loc[is_ref, k] = f"{ref[k]:.3g} ms"
    order = rel.median(axis=1, skipna=True).to_numpy()
    out = out.iloc[np.argsort(np.nan_to_num(order, nan=np.inf), kind="stable")]
    return out.rename(columns={"machine": "machine", "device": "device"})
