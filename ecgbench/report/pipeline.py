"""The report's end-to-end section: rows of ``run --pipeline``, model-only beside the whole call.

A deployment's latency is the raw window's way to a decision; the section splits it into the
preprocessing, the model and the post-processing, each a median per call, next to the same
variant timed from a preprocessed tensor in the same rounds."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

from ecgbench.markup import literal_figure_text

literal_figure_text()
PARTS = {
    "e2e_preprocess_ms": "preprocess",
    "e2e_inference_ms": "inference",
    "e2e_post_ms": "activation + thresholds",
}
COLUMNS = [
    "machine",
    "model",
    "backend",
    "device",
    "precision",
    "executed",
    "median_ms",
    "e2e_median_ms",
    *PARTS,
    "e2e_over_inference",
]
CAPTION = (
    "Rows of <code>ecgbench run --pipeline</code>: each bar is one call of what the application "
    "runs, from the raw record window at the record's rate and units through the model's own "
    "preprocessing (resampling, filters, normalisation), inference, and the activation and "
    "thresholds; segments are the median of each part per call (the parts' medians need not add "
    "to the whole call's median exactly). The black tick is the same variant's model-only median "
    "(from a preprocessed tensor, timed in the same rounds); the table's <em>e2e over inference"
    "</em> is the paired per-round ratio of the two (its interval is in the run document)."
)


def pipeline_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Latency rows timed end to end; empty when none were."""
    if "e2e_median_ms" not in df.columns:
        return pd.DataFrame()
    rows = df[df["e2e_median_ms"].notna()].copy()
    rows["variant"] = rows["model"] + " · " + rows["backend"] + " · " + rows["precision"]
    return rows.sort_values(["machine", "model", "backend", "precision"], kind="stable")


def pipeline_figure(rows: pd.DataFrame) -> plt.Figure:
    """A stacked bar per variant (preprocess / inference / post) with its model-only median."""
    fig, ax = plt.subplots(figsize=(11, max(2.5, 0.36 * len(rows) + 1.4)))
    y = list(range(len(rows)))
    left = pd.Series(0.0, index=rows.index)
    for col, label in PARTS.items():
        ax.barh(y, rows[col], left=left, label=label, edgecolor="black", linewidth=0.4)
        left = left + rows[col].fillna(0.0)
    ax.scatter(rows["median_ms"], y, marker="|", s=260, color="black", label="model-only median")
    ax.set_yticks(y, rows["variant"].tolist())
    ax.invert_yaxis()
    ax.set_xlabel("ms per call (median)")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
