"""The report's "latency against input length": points per length, the fitted line, the table.

Drawn only when a run timed a variant at several lengths (``ecgbench run --samples 1250,5000``).
A variant here is one run's (machine, device, model, backend, precision as executed, batch): the
fit pairs its lengths by round, which only means something inside one run.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ecgbench.bench.length_fit import MIN_ROUNDS, fit_length_cost
from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.schema import ResultRow
from ecgbench.data.preprocess import Preprocessing
from ecgbench.precision import matches_request
from ecgbench.report.boxes import MIN_ROUNDS as BOX_ROUNDS
from ecgbench.report.boxes import box_stats
from ecgbench.statistics import slice_levels

FS = Preprocessing().fs  # every zoo model's rate (500 Hz); rows keep samples, not seconds
GROUP = ["machine", "device", "run_id", "variant"]


def _shown(precision: str, executed: str | None) -> str:
    """What was asked and, where it differs, what ran (as the other figures name it)."""
    if executed is None or (matches_request(precision, executed) and executed != "int8+bf16"):
        return precision
    return f"{precision} → {executed}"


def length_points(docs: list[RunDocument], machine_of: Callable[[dict], str]) -> pd.DataFrame:
    """One row per latency row of a variant timed at several lengths in its run: the variant,
    length (samples, seconds), median with its 95 % interval over round medians, and ``rounds``
    ({round: median ms}) for the fit. Empty for runs of one length (nothing is computed)."""
    found: list[tuple[tuple, int, RunDocument, ResultRow]] = []
    for d in docs:
        machine = machine_of(d.fingerprint)
        for r in d.rows:
            if r.scenario != "latency" or not r.latency.samples_ns or not r.input_shape:
                continue
            variant = f"{r.model} · {r.backend} · {_shown(r.precision, r.executed)}"
            variant += f" · batch {r.batch}" if r.batch != 1 else ""
            found.append(((machine, r.device, d.run_id, variant), int(r.input_shape[-1]), d, r))
    lengths: dict[tuple, set[int]] = {}
    for key, n, _, _ in found:
        lengths.setdefault(key, set()).add(n)
    out = []
    for key, n, _, r in found:
        if len(lengths[key]) < 2:
            continue
        st = box_stats(r.latency.samples_ns, r.latency.slices)
        levels = slice_levels(r.latency.samples_ns, r.latency.slices) if r.latency.slices else {}
        out.append(
            {
                **dict(zip(GROUP, key, strict=True)),
                "samples": n,
                "seconds": n / FS,
                "median_ms": st.median,
                "ci_low": st.ci_low,
                "ci_high": st.ci_high,
                "rounds": {k: v / 1e6 for k, v in levels.items()},
            }
        )
    return pd.DataFrame(out)


def length_fits(points: pd.DataFrame) -> pd.DataFrame:
    """Per variant with two or more lengths: fixed cost and slope with their intervals."""
    rows = []
    if not len(points):
        return pd.DataFrame()
    for key, g in points.groupby(GROUP, sort=True):
        g = g.sort_values("samples")
        if g["samples"].nunique() < 2 or len(g) != g["samples"].nunique():
            continue  # one length, or a length timed twice in one run: no line to draw
        fit = fit_length_cost(g["seconds"], g["median_ms"], list(g["rounds"]))
        rows.append(
            {
                **dict(zip(GROUP, key, strict=True)),
                "lengths": ", ".join(str(n) for n in g["samples"]),
                "fixed_ms": fit.fixed_ms,
                "fixed_ci": fit.fixed_ci,
                "slope_ms_per_s": fit.slope_ms_per_s,
                "slope_ci": fit.slope_ci,
                "fixed ms [95% CI]": fit.cell("fixed"),
                "ms per s of ECG [95% CI]": fit.cell("slope"),
                "interval": fit.method,
            }
        )
    return pd.DataFrame(rows)


def length_figure(points: pd.DataFrame, fits: pd.DataFrame) -> plt.Figure:
    """One panel per machine × device; per variant its medians (bars: 95 % interval over round
    medians) and its fitted line, on linear axes (a line is a line)."""
    panels = fits[["machine", "device"]].drop_duplicates().to_records(index=False)
    fig, axes = plt.subplots(
        1, len(panels), figsize=(6.5 * len(panels), 4.6), squeeze=False, constrained_layout=True
    )
    for ax, (machine, device) in zip(axes[0], panels, strict=True):
        here = fits[(fits["machine"] == machine) & (fits["device"] == device)]
        for i, f in enumerate(here.to_dict("records")):
            colour = f"C{i % 10}"
            p = points[
                (points["machine"] == machine)
                & (points["device"] == device)
                & (points["run_id"] == f["run_id"])
                & (points["variant"] == f["variant"])
            ].sort_values("seconds")
            ok = p["ci_low"].notna()
            if ok.any():
                ax.errorbar(
                    p.loc[ok, "seconds"],
                    p.loc[ok, "median_ms"],
                    yerr=[
                        p.loc[ok, "median_ms"] - p.loc[ok, "ci_low"],
                        p.loc[ok, "ci_high"] - p.loc[ok, "median_ms"],
                    ],
                    fmt="none",
                    ecolor=colour,
                    capsize=3,
                )
            ax.plot(p["seconds"], p["median_ms"], "o", color=colour)
            xs = np.linspace(0.0, float(p["seconds"].max()) * 1.05, 50)
            ax.plot(
                xs,
                f["fixed_ms"] + f["slope_ms_per_s"] * xs,
                "-",
                color=colour,
                label=f"{f['variant']}: {f['fixed_ms']:.3g} ms + {f['slope_ms_per_s']:.3g} ms/s",
            )
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.set_xlabel(f"input length (s of ECG at {FS:g} Hz)")
        ax.set_ylabel("median latency per call (ms)")
        ax.set_title(f"{machine} · {device}", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
        ax.grid(alpha=0.3)
    return fig


def length_table_html(fits: pd.DataFrame) -> str:
    """The fits as an HTML table (the caller adds the heading)."""
    cols = [
        "machine",
        "device",
        "variant",
        "lengths",
        "fixed ms [95% CI]",
        "ms per s of ECG [95% CI]",
        "interval",
    ]
    return '<div class="scroll">' + fits[cols].to_html(index=False, border=0) + "</div>"


CAPTION = (
    "Each variant timed at several input lengths in one run (<code>ecgbench run --samples "
    "1250,2500,5000</code>): dots = median latency per call, bars = its 95 % interval (bootstrap "
    f"over the run's round medians, where a row has ≥ {BOX_ROUNDS} rounds), line = least squares "
    "through the "
    "levels (each length's median of its round medians): <em>fixed</em> = the intercept (cost of "
    "a call whatever its length), <em>slope</em> = ms per second of ECG. Intervals: a paired "
    f"bootstrap over rounds (≥ {MIN_ROUNDS} rounds in common), else the regression's standard "
    "error (≥ 3 lengths), else none. Variants whose intervals overlap are a tie."
)


def length_section(points: pd.DataFrame) -> tuple[pd.DataFrame, str] | None:
    """(fits, the table's HTML) when some variant has several lengths, else None."""
    fits = length_fits(points)
    if not len(fits):
        return None
    return fits, (
        "<h2>Cost per input length</h2><p class='note'>"
        + html.escape("fixed + slope × seconds per variant; ")
        + "intervals as said in the column <em>interval</em>.</p>"
        + length_table_html(fits)
    )
