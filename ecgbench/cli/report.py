"""`ecgbench report` and `ecgbench recommend`: figures and the deployment answer."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from ecgbench.cli._app import app
from ecgbench.cli._format import fmt, out

if TYPE_CHECKING:  # the commands import their libraries when they run
    import pandas as pd

    from ecgbench.scaling.answer import BudgetAnswer
    from ecgbench.scaling.recommend import MemoryFit


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
    fleet: Annotated[
        str | None,
        typer.Option(
            help="Fleet view: this model (or 'MODEL · BACKEND · PRECISION'), or all (the zoo) "
            "[default: the variant timed on most machines]"
        ),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(help="Fleet view: the reference machine [default: the most variants]"),
    ] = None,
) -> None:
    """Runtime box plots beside accuracy, runtime vs FLOPs, Pareto front, the fleet view: HTML +
    PNG + SVG."""
    from ecgbench.report.fleet_view import FleetOptions
    from ecgbench.report.html import build_report

    filters = {
        "machine": machine,
        "suite": suite,
        "since": since,
        "limit": last,
        "model": model,
        "precision": precision,
    }
    r = build_report(
        list(results or []), out_dir, store=store, filters=filters,
        options=FleetOptions(fleet, reference),
    )  # fmt: skip
    out.print(
        f"report: {r.index} ({r.rows} rows, {len(r.figures)} figure files, {r.seconds:.1f} s)"
    )


# ``recommend``'s longer options, named once (the signature stays readable)
BudgetMsOpt = Annotated[
    list[float] | None,
    typer.Option(metavar="MS", help="Latency budget(s) in ms, repeatable [default: 5 10 20]"),
]
AnswersJsonOpt = Annotated[
    Path | None, typer.Option("--json", help="Write the answers (with ties) as JSON")
]
MaxMbOpt = Annotated[
    float | None,
    typer.Option(help="Peak RSS cap in MB (compile or inference, the larger; run --footprint)"),
]
MinScoreGainOpt = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        help="A score gain below this never buys a slower variant [default: one record's "
        "worth of score on the test set, 1/records]",
    ),
]
PipelineOpt = Annotated[
    bool,
    typer.Option(
        "--pipeline",
        help="The budget holds the whole call: raw window, preprocessing, model and "
        "decisions (rows of `ecgbench run --pipeline`)",
    ),
]


@app.command()
def recommend(
    device: Annotated[str, typer.Option(help="Device")] = "CPU",
    precision: Annotated[str, typer.Option(help="fp32, bf16, fp16 or int8")] = "int8",
    budget_ms: BudgetMsOpt = None,
    backend: Annotated[str | None, typer.Option(help="Restrict to one backend")] = None,
    store: Annotated[str | None, typer.Option(help="Results store URL or folder")] = None,
    machine: Annotated[str | None, typer.Option(help="Only this machine (name or id)")] = None,
    study: Annotated[str | None, typer.Option(help="Also consider sweep trials")] = None,
    storage: Annotated[str, typer.Option(help="optuna storage URL")] = "sqlite:///sweep.db",
    json_out: AnswersJsonOpt = None,
    max_mb: MaxMbOpt = None,
    min_score_gain: MinScoreGainOpt = None,
    pipeline: PipelineOpt = False,
) -> None:
    """The most accurate model that meets a latency budget on a device at a precision.

    Variants tied with the best score are listed, and the fastest of them is the answer: tied
    when the paired bootstrap interval of the difference holds 0 (replicates from `ecgbench
    evaluate --zoo`), else when the 95 % intervals overlap, and always when the gain is below
    --min-score-gain. --max-mb keeps only variants whose peak RSS was measured (run --footprint)
    and fits.
    """
    from ecgbench.accuracy.replicates import load_replicates
    from ecgbench.bench.store.database import store_url
    from ecgbench.numbers import POSITIVE, check_all
    from ecgbench.scaling import recommend as rec

    budget_ms = budget_ms or [5.0, 10.0, 20.0]
    check_all("--budget-ms", budget_ms, POSITIVE)  # "nothing fits" would be a lie
    if max_mb is not None:
        rec.check_max_mb(max_mb)  # before the store is read
    c, untimed, memory = _recommend_candidates(
        store, machine, device, precision, backend, study, storage, pipeline, max_mb
    )
    replicates = load_replicates()
    intervals, n_records = rec.zoo_evidence()
    gain = rec.one_record_gain(n_records) if min_score_gain is None else min_score_gain
    cap = f" · peak RSS ≤ {max_mb:g} MB" if max_mb is not None else ""
    cap += " · end to end (raw window to decisions)" if pipeline else ""
    inline = out.width >= 140  # the tie sets in the table; narrower: one line each below it
    cols = _recommend_columns(bool(study), inline)
    t = _recommend_table(f"best model under a latency budget — {device} {precision}{cap}", cols)
    answers, notes, ties = [], [], []
    for b in budget_ms:
        a = rec.recommend(c, b, replicates, intervals=intervals, min_gain=gain)
        if a is None:
            t.add_row(f"{b:g}", "[yellow]nothing fits[/]", *[""] * (len(cols) - 2))
            answers.append({"budget_ms": b, "model": None})
            continue
        answers.append(a.to_dict())
        notes.append(a.choice.get("accuracy_note"))
        t.add_row(*_answer_cells(a, b, cols))
        ties.append(f"{b:g} ms: tied with {escape(a.tie_text())}")
    out.print(t)
    if not inline:
        for line in ties:
            out.print(line, highlight=False)
    _print_answer_notes(gain, n_records, min_score_gain is None, notes)
    _print_left_out(untimed, memory, max_mb, device, precision, store_url(store))
    if json_out:
        doc = {
            "device": device,
            "precision": precision,
            "min_score_gain": gain,
            "end_to_end": pipeline,
            "answers": answers,
            "untimed_zoo_models": untimed,
        }
        _write_answers(json_out, doc, memory, max_mb)


def _write_answers(
    json_out: Path, doc: dict[str, object], memory: MemoryFit | None, max_mb: float | None
) -> None:
    """The --json file: the answers, plus what the memory cap left out when there was one."""
    from ecgbench.fileio import atomic_write_json

    if memory is not None:
        doc["memory"] = {
            "max_mb": max_mb,
            "peak": "max(peak_rss_compile_mb, peak_rss_infer_mb), above the baseline RSS",
            "over_cap": memory.too_big,
            "not_measured": memory.not_measured,
        }
    atomic_write_json(json_out, doc)


def _recommend_candidates(
    store: str | None,
    machine: str | None,
    device: str,
    precision: str,
    backend: str | None,
    study: str | None,
    storage: str,
    pipeline: bool,
    max_mb: float | None,
) -> tuple[pd.DataFrame, list[str], MemoryFit | None]:
    """The variants the answer picks from, the zoo models never timed, and the memory cap's cut."""
    from ecgbench.bench.store.database import load_store
    from ecgbench.scaling import recommend as rec

    trials = None
    if study:
        from ecgbench.scaling.sweep import trials_frame

        trials = trials_frame(storage, study)
    c = rec.candidates(
        load_store(store, machine=machine),
        device,
        precision.lower(),
        backend,
        trials,
        rec.zoo_fp32_scores(),
        end_to_end=pipeline,
    )
    untimed = rec.untimed_models(c)
    memory = None
    if max_mb is not None:
        memory = rec.memory_fit(c, max_mb)
        c = memory.fits
    return c, untimed, memory


def _recommend_columns(study: bool, inline: bool) -> list[str]:
    """The answer table's columns: the optional ones only where the terminal has room."""
    cols = ["budget", "model", "backend", "median ms"]
    cols += ["latency"] if study or out.width >= 100 else []  # "predicted" only with --study
    cols += ["score [95% CI]", "FP32 − it"] + (["AUROC"] if out.width >= 100 else [])
    cols += ["tied with (best − it)"] if inline else []
    return cols


def _recommend_table(title: str, cols: list[str]) -> Table:
    """The empty answer table: compact, and only the tie column may wrap."""
    t = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for col in cols:
        last = col.startswith("tied")  # the one column that wraps: the others are never cut
        t.add_column(col, overflow="fold", no_wrap=not last)
    return t


def _answer_cells(a: BudgetAnswer, budget: float, cols: list[str]) -> list[str]:
    """One budget's row: the chosen variant's cells, in the order of the shown columns."""
    from ecgbench.bench.results import score_origin

    r = a.choice
    cells = {
        "budget": f"{budget:g}",
        "model": escape(str(r["model"])),
        "backend": str(r["backend"]),
        "median ms": f"{r['median_ms']:.3f}",
        "latency": str(r["latency"]),
        "score [95% CI]": score_origin.marked(a.score_text(), r.get("accuracy_note")),
        "FP32 − it": fmt(r["score_drop"]),
        "AUROC": fmt(r["auroc"]),
        "tied with (best − it)": escape(a.tie_text()),
    }
    return [cells[c] for c in cols]


def _print_answer_notes(
    gain: float, n_records: int | None, default_gain: bool, notes: list[object]
) -> None:
    """How the answer was chosen (the tie rule and its margin), and where scores were measured."""
    from ecgbench.bench.results import score_origin

    margin = (
        f"{gain:.4f} (one record's worth of score on {n_records} test records)"
        if default_gain and n_records
        else f"{gain:g}"
    )
    out.print(
        "answer: the fastest (then smallest) of the variants tied with the best score under the "
        "budget; tied: paired 95% interval of best − it holds 0, or without paired replicates the "
        f"95% intervals overlap, or a gain below --min-score-gain {margin}. "
        "FP32 − it: the score this precision costs against the model's FP32 (positive: lower).",
        style="dim",
        highlight=False,
    )
    elsewhere = score_origin.footnote(notes)
    if elsewhere:
        out.print(escape(elsewhere), highlight=False)


def _print_left_out(untimed, memory, max_mb, device: str, precision: str, url: str) -> None:
    """What the answer could not consider: zoo models never timed here, variants over the cap."""
    if untimed:
        out.print(
            f"not timed in {escape(url)} for {device} {precision} (not considered): "
            f"{escape(', '.join(untimed))} (`ecgbench run --model NAME --precision {precision}` "
            "times them)",
            highlight=False,
        )
    if memory is None:
        return
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
