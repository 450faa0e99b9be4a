"""`ecgbench report` and `ecgbench recommend`: figures and the deployment answer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ecgbench.cli._app import app
from ecgbench.cli._format import fmt, out


@app.command()
def report(
    results: Annotated[
        list[Path] | None, typer.Argument(help="Run JSON files or folders (default: the store)")
    ] = None,
    out_dir: Annotated[Path, typer.Option("-o", "--out", help="Report folder")] = Path("report"),
    store: Annotated[str | None, typer.Option(help="Results store URL or folder")] = None,
    machine: Annotated[
        str | None, typer.Option(help="Store: only this machine (name or id)")
    ] = None,
    suite: Annotated[str | None, typer.Option(help="Store: only this suite")] = None,
    since: Annotated[
        str | None, typer.Option(help="Store: runs created on/after (ISO date)")
    ] = None,
    last: Annotated[int | None, typer.Option(help="Store: the newest N runs")] = None,
    model: Annotated[str | None, typer.Option(help="Only this model")] = None,
    precision: Annotated[str | None, typer.Option(help="Only this precision")] = None,
) -> None:
    """Runtime box plots beside accuracy, runtime vs FLOPs, Pareto front: HTML + PNG + SVG."""
    from ecgbench.report.html import build_report

    filters = {
        "machine": machine,
        "suite": suite,
        "since": since,
        "limit": last,
        "model": model,
        "precision": precision,
    }
    r = build_report(list(results or []), out_dir, store=store, filters=filters)
    out.print(
        f"report: {r.index} ({r.rows} rows, {len(r.figures)} figure files, {r.seconds:.1f} s)"
    )


@app.command()
def recommend(
    device: Annotated[str, typer.Option(help="Device")] = "CPU",
    precision: Annotated[str, typer.Option(help="fp32, fp16 or int8")] = "int8",
    budget_ms: Annotated[
        list[float] | None, typer.Option(help="Latency budget(s) in ms, repeatable")
    ] = None,
    backend: Annotated[str | None, typer.Option(help="Restrict to one backend")] = None,
    store: Annotated[str | None, typer.Option(help="Results store URL or folder")] = None,
    machine: Annotated[str | None, typer.Option(help="Only this machine (name or id)")] = None,
    study: Annotated[str | None, typer.Option(help="Also consider sweep trials")] = None,
    storage: Annotated[str, typer.Option(help="optuna storage URL")] = "sqlite:///sweep.db",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the answers (with ties) as JSON")
    ] = None,
    max_mb: Annotated[
        float | None,
        typer.Option(help="Peak RSS cap in MB (compile or inference, the larger; run --footprint)"),
    ] = None,
) -> None:
    """The most accurate model that meets a latency budget on a device at a precision.

    Variants whose score is statistically tied with the best (paired bootstrap replicates from
    ``ecgbench evaluate --zoo``) are listed, and the fastest of them is the answer. ``--max-mb``
    keeps only variants whose peak RSS was measured (``run --footprint``) and fits.
    """
    from ecgbench.accuracy.replicates import load_replicates
    from ecgbench.bench.results import load_store
    from ecgbench.fileio import atomic_write_json
    from ecgbench.scaling.recommend import candidates, check_max_mb, memory_fit, zoo_fp32_scores
    from ecgbench.scaling.recommend import recommend as pick

    budget_ms = budget_ms or [5.0, 10.0, 20.0]
    if max_mb is not None:
        check_max_mb(max_mb)  # before the store is read
    trials = None
    if study:
        from ecgbench.scaling.sweep import trials_frame

        trials = trials_frame(storage, study)
    c = candidates(
        load_store(store, machine=machine), device, precision, backend, trials, zoo_fp32_scores()
    )
    memory = None
    if max_mb is not None:
        memory = memory_fit(c, max_mb)
        c = memory.fits
    replicates = load_replicates()
    cap = f" · peak RSS ≤ {max_mb:g} MB" if max_mb is not None else ""
    t = Table(title=f"best model under a latency budget — {device} {precision}{cap}")
    for col in (
        "budget ms",
        "model",
        "backend",
        "median ms",
        "latency",
        "score [95% CI]",
        "Δ vs FP32",
        "AUROC",
        "tied with (best − it, paired 95% CI)",
    ):
        t.add_column(col)
    answers = []
    for b in budget_ms:
        a = pick(c, b, replicates)
        if a is None:
            t.add_row(f"{b:g}", "[yellow]nothing fits[/]", *[""] * 7)
            answers.append({"budget_ms": b, "model": None})
            continue
        r = a.choice
        answers.append(a.to_dict())
        t.add_row(
            f"{b:g}",
            str(r["model"]),
            str(r["backend"]),
            f"{r['median_ms']:.3f}",
            str(r["latency"]),
            a.score_text(),
            fmt(r["score_drop"]),
            fmt(r["auroc"]),
            escape(a.tie_text()),
        )
    out.print(t)
    out.print(
        "answer: the fastest (then smallest) variant statistically tied with the best score "
        "under the budget",
        style="dim",
        justify="center",
    )
    if memory is not None:
        notes = (
            (f"over {max_mb:g} MB (left out)", memory.too_big),
            (
                "memory not measured (left out; `ecgbench run --footprint` measures it)",
                memory.not_measured,
            ),
        )
        for what, names in notes:
            if names:
                out.print(f"{what}: {escape(', '.join(names))}", highlight=False)
    if json_out:
        doc = {"device": device, "precision": precision, "answers": answers}
        if memory is not None:
            doc["memory"] = {
                "max_mb": max_mb,
                "peak": "max(peak_rss_compile_mb, peak_rss_infer_mb), above the baseline RSS",
                "over_cap": memory.too_big,
                "not_measured": memory.not_measured,
            }
        atomic_write_json(json_out, doc)
