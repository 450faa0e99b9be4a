"""`ecgbench data check` and `ecgbench score`: records and Challenge output files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ecgbench.cli._app import app
from ecgbench.cli._format import fmt, out
from ecgbench.errors import EcgbenchError

data_app = typer.Typer(help="Record folders: check what is usable.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("check")
def data_check(
    directory: Annotated[Path, typer.Argument(help="Folder of .hea/.mat (or .dat) records")],
    min_seconds: Annotated[
        float, typer.Option(help="Records shorter than this are unusable")
    ] = 0.0,
) -> None:
    """Record count, per-class table, and every problem. Exit 0 if any record is usable."""
    from ecgbench.data.check import ABBREVIATIONS, check_folder

    r = check_folder(directory, min_duration_s=min_seconds)
    out.print(
        f"{escape(str(r.directory))}: {r.n_headers} headers, [bold]{r.n_usable} usable[/], "
        f"{len(r.problems)} with problems, {r.unscored} usable without a scored class"
    )
    if r.fold_counts:
        out.print("folds: " + ", ".join(f"{f}: {n}" for f, n in r.fold_counts.items()))
    out.print("sampling rates: " + ", ".join(f"{k:g} Hz: {v}" for k, v in r.sampling_rates.items()))
    t = Table(title="scored classes")
    t.add_column("class")
    t.add_column("SNOMED")
    t.add_column("records", justify="right")
    for c, n in r.class_counts.items():
        t.add_row(ABBREVIATIONS.get(c, c), c, str(n))
    out.print(t)
    for p in r.problems:
        out.print(f"[yellow]skipped[/] {escape(str(p))}", soft_wrap=True)
    if not r.ok:
        raise EcgbenchError(f"no usable record in {r.directory}")


@app.command()
def score(
    labels: Annotated[Path, typer.Option(help="Folder of label headers (*.hea with #Dx)")],
    outputs: Annotated[Path, typer.Option(help="Folder of Challenge output files (*.csv)")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the scores as JSON")
    ] = None,
    weights: Annotated[
        Path | None, typer.Option(help="Challenge weights.csv (default: $ECGBENCH_WEIGHTS)")
    ] = None,
    only_with_outputs: Annotated[
        bool, typer.Option("--only-with-outputs", help="Score only the records with an output")
    ] = False,
    missing_as_negative: Annotated[
        bool,
        typer.Option(
            "--missing-as-negative", help="Score records without an output as all-negative"
        ),
    ] = False,
) -> None:
    """Score Challenge output files like the official evaluate_model.py.

    Records without an output file are refused unless one of the two flags says what they mean."""
    from ecgbench.fileio import atomic_write_json
    from ecgbench.metrics.scoring_io import score_folders

    if only_with_outputs and missing_as_negative:
        raise EcgbenchError("give --only-with-outputs or --missing-as-negative, not both")
    how = "skip" if only_with_outputs else "negative" if missing_as_negative else "refuse"
    s = score_folders(labels, outputs, weights, missing=how).to_json_dict()
    t = Table(title="Challenge scores")
    t.add_column("metric")
    t.add_column("value", justify="right")
    for k, v in s.items():
        t.add_row(k, fmt(v, 6))
    out.print(t)
    if json_out:
        atomic_write_json(json_out, s)
