"""``ecgbench report``: every figure as PNG + SVG, and one self-contained ``index.html``."""

from __future__ import annotations

import base64
import html
import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from ecgbench.bench.results import score_origin
from ecgbench.errors import EcgbenchError
from ecgbench.fileio import atomic_path, atomic_write_text
from ecgbench.report import figures, fleet_view, footprint, pipeline
from ecgbench.report.boxes import MAX_POINTS, MIN_ROUNDS
from ecgbench.report.budget import budget_section, elsewhere_note
from ecgbench.report.data import ReportData, accuracy_drops, build_frames, collect_documents
from ecgbench.report.lengths import CAPTION as LENGTH_CAPTION
from ecgbench.report.lengths import length_figure, length_section
from ecgbench.report.runtime_boxes import runtime_boxes
from ecgbench.report.tables import (
    MACHINE_COLUMNS,
    html_table,
    precision_section,
    profile_tables,
    rows_section,
    score_with_interval,
)

VARIANT_KEYS = ["machine", "model", "backend", "device", "precision", "executed", "scenario"]


def latest_per_variant(df: pd.DataFrame) -> pd.DataFrame:
    """The latest row per machine × variant (rows arrive oldest run first)."""
    keys = [k for k in VARIANT_KEYS if k in df]
    return df.drop_duplicates(keys, keep="last") if keys else df


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1200px;
color:#222;padding:0 1rem} h1{font-size:1.6rem} h2{margin-top:2.2rem;border-bottom:1px solid #ddd}
img{max-width:100%;height:auto;border:1px solid #eee} table{border-collapse:collapse;font-size:.8rem;
margin:.5rem 0} th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}
th{background:#f4f6f8} td:first-child,th:first-child{text-align:left} .note{color:#666;font-size:.9rem}
.warn{color:#a40000} .scroll{overflow-x:auto;max-width:100%}
"""


@dataclass
class ReportResult:
    index: Path
    figures: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    rows: int = 0


def _save(fig: plt.Figure, out: Path, name: str) -> tuple[list[Path], str]:
    """PNG (rendered once: the file and the page's copy are the same bytes) and SVG."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    png, svg = out / f"{name}.png", out / f"{name}.svg"
    with atomic_path(png) as tmp:
        Path(tmp).write_bytes(buf.getvalue())
    with atomic_path(svg) as tmp:
        fig.savefig(tmp, format="svg", bbox_inches="tight")
    plt.close(fig)
    return [png, svg], base64.b64encode(buf.getvalue()).decode()


def build_report(
    results: list[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    store: str | None = None,
    filters: dict | None = None,
    options: fleet_view.FleetOptions | None = None,
) -> ReportResult:
    t0 = time.perf_counter()
    data: ReportData = build_frames(collect_documents(results, store, filters))
    return render_report(data, out_dir, t0, options)


class _Page:
    """The report's sections in order, and the figure files written for them."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.sections: list[str] = []
        self.written: list[Path] = []

    def figure(self, name: str, title: str, fig: plt.Figure, caption: str) -> None:
        paths, b64 = _save(fig, self.out, name)
        self.written.extend(paths)
        self.sections.append(
            f"<h2>{html.escape(title)}</h2><p class='note'>{caption}</p>"
            f'<img alt="{html.escape(title)}" src="data:image/png;base64,{b64}">'
            f'<p class="note">files: <a href="{name}.png">{name}.png</a> · '
            f'<a href="{name}.svg">{name}.svg</a></p>'
        )


def render_report(
    data: ReportData,
    out_dir: str | os.PathLike[str],
    t0: float | None = None,
    options: fleet_view.FleetOptions | None = None,
) -> ReportResult:
    t0 = t0 if t0 is not None else time.perf_counter()
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise EcgbenchError(f"cannot create report folder {out}: {e.strerror}") from None
    df = data.rows
    page = _Page(out)
    view = fleet_view.FleetView.of(data, options)
    _runtime_sections(page, data, view)
    _measurement_sections(page, data)
    _accuracy_sections(page, data, view)
    _diagnostic_sections(page, data)
    page.sections.append(rows_section(df))
    page.sections.append("<h2>Machines</h2>" + html_table(data.machines, MACHINE_COLUMNS))
    with atomic_path(out / "rows.csv") as tmp:
        df.to_csv(tmp, index=False)
    text = (
        "<!doctype html><html><head><meta charset='utf-8'><title>ecgbench report</title>"
        f"<style>{CSS}</style></head><body><h1>ecgbench report</h1>"
        f"<p class='note'>{len(df)} rows from {len(data.sources)} run(s) on "
        f"{data.machines.shape[0]} machine(s). Accuracy: PTB-XL 1.0.3 fold 10 (Wagner et al., "
        "Scientific Data 2020, CC BY 4.0). Made by <code>ecgbench report</code>.</p>"
        + "".join(page.sections)
        + "</body></html>"
    )
    index = out / "index.html"
    atomic_write_text(index, text)
    return ReportResult(
        index=index, figures=page.written, seconds=time.perf_counter() - t0, rows=len(df)
    )


def _runtime_sections(page: _Page, data: ReportData, view: fleet_view.FleetView) -> None:
    """The runtime figures: boxes per variant, the fleet, the medians, runtime against FLOPs."""
    df = data.rows
    lat = df[df["scenario"] == "latency"]
    boxes = view.per_variant(data.boxes)
    if len(boxes):
        page.figure(
            "runtime_boxplot",
            "Runtime per variant",
            runtime_boxes(boxes),
            "Every variant's latency per call (synchronous, one panel per machine and device, "
            "log axis): box = quartiles and whiskers = 1.5 IQR of <em>all</em> its samples; dots "
            f"= at most {MAX_POINTS} of its samples, drawn at random (seeded) to keep the page "
            "light; red = median; black bar = 95 % interval of the median, a bootstrap over the "
            f"medians of the run's rounds (drawn where a row has ≥ {MIN_ROUNDS} rounds). "
            "Two variants are a tie when their bars overlap (<code>ecgbench speedup</code> "
            "pairs the rounds, which is sharper: it can tell overlapping bars apart)."
            + view.caption_note(),
        )
    if view.choice is not None:
        page.figure(
            "fleet",
            "Fleet view",
            fleet_view.fleet_figure(data.boxes, view.choice),
            fleet_view.CAPTION,
        )
        page.sections.append(
            f"<p class='note'>Medians relative to <b>{html.escape(view.choice.reference)}</b> "
            "(its own row in ms; ×1.20 = 20 % slower than it); latest run per machine.</p>"
            + html_table(ft := fleet_view.fleet_table(data.boxes, view.choice.reference), list(ft))
        )
    if view.few and len(lat) and lat.groupby(["machine", "partition"])["model"].nunique().max() > 1:
        page.figure(
            "runtime_medians",
            "Overview of medians",
            figures.median_overview(df),
            "One dot per model: its median latency (batch 1) in each partition (machine × "
            "device × backend × precision). Medians only; the spread is in the figure above.",
        )
    if len(lat) and lat["flops"].notna().any():
        page.figure(
            "runtime_vs_flops",
            "Runtime vs FLOPs",
            figures.runtime_vs_flops(df),
            "One panel per device, one colour per backend · precision (what was asked and, "
            "where it differs, what ran: <em>fp16 → f32</em>), every machine's medians; the "
            "dashed lines are how long the FLOPs would take at the GEMM rate of each executed "
            "arithmetic (f32, bf16, f16 or int8), measured in the same runs (median over machines).",
        )


def _measurement_sections(page: _Page, data: ReportData) -> None:
    """What ``run --footprint``, ``--pipeline`` and several input lengths measured beside the runtime."""
    df = data.rows
    fp = footprint.footprint_rows(df)
    if len(fp):  # run --footprint: memory and start-up beside the runtime plots
        page.figure(
            "footprint", "Deployment footprint", footprint.footprint_figure(fp), footprint.CAPTION
        )
        page.sections.append(html_table(fp, footprint.COLUMNS))
    e2e = pipeline.pipeline_rows(df)
    if len(e2e):  # run --pipeline: the whole call beside the model-only row
        page.figure("end_to_end", "End to end", pipeline.pipeline_figure(e2e), pipeline.CAPTION)
        page.sections.append(html_table(e2e, [c for c in pipeline.COLUMNS if c in e2e]))
    lengths = length_section(data.lengths) if len(data.lengths) else None
    if lengths:  # a run with several input lengths per variant (run --samples a,b,c)
        fits, table = lengths
        page.figure(
            "latency_vs_length",
            "Latency against input length",
            length_figure(data.lengths, fits),
            LENGTH_CAPTION,
        )
        page.sections.append(table)


def _accuracy_sections(page: _Page, data: ReportData, view: fleet_view.FleetView) -> None:
    """Accuracy beside runtime, the Pareto front, each precision's cost and the budget answers."""
    df = data.rows
    acc = accuracy_drops(df)
    missing = sorted(df.loc[~df["has_accuracy"], "model"].unique())
    acc = latest_per_variant(view.one_machine(acc))
    if acc["challenge_score"].notna().any():
        page.figure(
            "accuracy_runtime",
            "Accuracy beside runtime",
            figures.accuracy_beside_runtime(acc),
            "Challenge score of each exact variant on PTB-XL fold 10 (from the zoo manifest, "
            "made by <code>ecgbench evaluate --zoo</code>) with its 95 % bootstrap interval over "
            "the records where the manifest has one (score axis from 0), next to its median "
            "latency." + elsewhere_note(acc),
        )
        page.figure(
            "pareto",
            "Accuracy–latency Pareto front",
            figures.accuracy_latency_pareto(acc),
            "Per device: variants that no other variant beats on both latency and score; "
            "dominated variants in grey; vertical bars: the score's 95 % interval (points "
            "whose intervals overlap are not ranked by accuracy).",
        )
        drops = acc.dropna(subset=["challenge_score"]).sort_values(
            ["model", "backend", "precision"]
        )
        drops["score [95% CI]"] = [
            score_origin.marked(s, n)
            for s, n in zip(
                score_with_interval(drops), drops.get("accuracy_note", [None] * len(drops)),
                strict=True,
            )
        ]  # fmt: skip
        page.sections.append(
            "<h2>Accuracy cost per precision</h2><p class='note'><em>FP32 − it</em>: the "
            "model's best FP32 score − this variant's (positive: this variant scores lower); "
            "scores rounded to the first digit their 95 % interval can tell; <em>paired drop "
            "[95% CI]</em>: FP32 − this variant on the same resampled records (paired bootstrap, "
            "from the zoo manifest); <em>tie</em>: the interval holds 0, the drop is not "
            "distinguishable from zero; <em>drop</em> / <em>gain</em>: it is."
            + elsewhere_note(acc)
            + "</p>"
            + html_table(
                drops,
                [
                    "machine",
                    "model",
                    "backend",
                    "device",
                    "precision",
                    "executed",
                    "median_ms",
                    "score [95% CI]",
                    "score_drop",
                    "paired drop [95% CI]",
                    "auroc",
                    "auroc_drop",
                ],
            )
        )
        budgets = budget_section(view.one_machine(df))
        if budgets:
            page.sections.append(budgets)
    if missing:
        page.sections.append(
            f"<p class='warn'>Accuracy missing for: {html.escape(', '.join(map(str, missing)))} "
            "(not zoo models, or not evaluated with <code>ecgbench evaluate --zoo</code>); their "
            "runtime is shown, their accuracy is not.</p>"
        )


def _diagnostic_sections(page: _Page, data: ReportData) -> None:
    """What executed: the precision section, per-layer profiles, INT8 variants that ran float."""
    df = data.rows
    page.sections.append(precision_section(df))
    if data.profiles:
        page.figure(
            "profile",
            "Where the time goes",
            figures.profile_bars(data.profiles),
            "OpenVINO per-layer performance counters (<code>ecgbench run --profile</code>): "
            "median time per inference in each arithmetic, read from the kernel that ran each "
            "layer (e.g. <code>brgemm_avx512_I8</code> = int8).",
        )
        page.sections.append(profile_tables(data.profiles))
    int8 = df[(df["precision"] == "int8") & df["int8_layers"].notna()]
    if len(int8):
        ran_fp = int8[int8["int8_layers"] == 0]
        if len(ran_fp):
            page.sections.append(
                "<p class='warn'>INT8 variants that executed no INT8 layer (they ran in floating "
                f"point): {html.escape(', '.join(sorted(set(ran_fp['model']))))}</p>"
            )
