"""The report's deployment footprint: memory and start-up of each variant (``run --footprint``).

Each figure is one fresh process's reading (bench/probes/footprint.py), so it is drawn as a dot, not a
box: there is no distribution to show, and the caption says so."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

from ecgbench.bench.results.schema import MEASURED_FOOTPRINT
from ecgbench.markup import literal_figure_text

literal_figure_text()  # a "$" in a name starts no math text
MEMORY = {
    "peak_rss_compile_mb": "peak RSS while compiling",
    "peak_rss_infer_mb": "peak RSS while inferring",
    "model_mb": "model files on disk",
}
STARTUP = {
    "compile_cold_ms": "compile, empty cache (cold)",
    "compile_warm_ms": "compile, filled cache (warm)",
    "first_result_ms": "fresh process to first result",
}
# what ``run --footprint`` measured (the schema's list; bytes shown as MB), then the latency
COLUMNS = [
    "machine",
    "model",
    "backend",
    "device",
    "precision",
    "executed",
    *(("model_mb" if c == "model_bytes" else c) for c in MEASURED_FOOTPRINT),
    "median_ms",
]
CAPTION = (
    "Each variant measured in its own fresh processes (<code>ecgbench run --footprint</code>, "
    "docs/footprint.md): memory is peak resident memory above the process's baseline after its "
    "imports (the baseline is in the table), MB = 10<sup>6</sup> bytes; cold / warm compile with "
    "an empty / a filled compile cache (OpenVINO <code>CACHE_DIR</code>, ONNX Runtime's "
    "optimized-model file; torch eager has none); first result: from spawning the process to its "
    "first output. One process each: single readings, no interval."
)


def footprint_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Latency rows that carry a footprint, with the model's size in MB; empty when none do."""
    if "peak_rss_infer_mb" not in df.columns:
        return pd.DataFrame()
    rows = df[df["peak_rss_infer_mb"].notna()].copy()
    if "scenario" in rows:
        rows = rows[rows["scenario"] == "latency"]
    rows["model_mb"] = rows["model_bytes"].astype(float) / 1e6
    rows["variant"] = rows["model"] + " · " + rows["backend"] + " · " + rows["precision"]
    return rows.sort_values(["machine", "model", "backend", "precision"], kind="stable")


def footprint_figure(rows: pd.DataFrame) -> plt.Figure:
    """Memory and start-up per variant, side by side, one dot per reading (log axes)."""
    fig, axes = plt.subplots(
        1, 2, figsize=(13, max(3.0, 0.32 * len(rows) + 1.6)), sharey=True, squeeze=True
    )
    y = range(len(rows))
    for ax, spec, unit in ((axes[0], MEMORY, "MB"), (axes[1], STARTUP, "ms")):
        for (col, label), marker in zip(spec.items(), "os^", strict=True):
            ax.scatter(rows[col], list(y), label=label, marker=marker, s=36, edgecolor="black")
        ax.set_xscale("log")
        ax.set_xlabel(f"{unit} (log)")
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_yticks(list(y), rows["variant"].tolist())
    axes[0].invert_yaxis()
    axes[0].set_title("Memory", loc="left", fontsize=11)
    axes[1].set_title("Start-up", loc="left", fontsize=11)
    fig.tight_layout()
    return fig
