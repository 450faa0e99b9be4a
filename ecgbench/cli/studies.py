"""`ecgbench gate-power`, `gate-power-same-job`: the measurement studies of the gate itself.

Thin entries over :mod:`ecgbench.studies`, which nothing else imports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ecgbench.cli._app import app


@app.command("gate-power")
def gate_power(
    pairs: Annotated[int, typer.Option(help="A/B/C iterations to time")] = 20,
    suite: Annotated[Path, typer.Option(help="Suite")] = Path("runners/ci.toml"),
    slowdown: Annotated[float, typer.Option(help="input length factor of run C")] = 1.25,
    calibrate_from: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="lengthen each variant's input by what made it 20% slower in the measurement "
            "in DIR",
        ),
    ] = None,
    no_aa: Annotated[bool, typer.Option("--no-aa", help="time only A and C (detections)")] = False,
    threshold: Annotated[float, typer.Option(help="Slowdown ratio that counts")] = 1.10,
    out_dir: Annotated[Path, typer.Option("--out", help="Runs and summary")] = Path("gate_power"),
    analyse_only: Annotated[
        bool, typer.Option("--analyse", help="only recompute the summary")
    ] = False,
) -> None:
    """Measure the stored-baseline gate: A/A false alarms and detections of a real slowdown."""
    import json

    from ecgbench.studies.gate_power import analyse, calibrated_lengths, measure, summary_lines

    if not analyse_only:
        lengths = calibrated_lengths(calibrate_from) if calibrate_from else None
        if lengths:
            typer.echo(f"input lengths of run C: {json.dumps(lengths)}")
        measure(pairs, suite, slowdown, out_dir, lengths, aa=not no_aa, log=typer.echo)
    res = analyse(out_dir, threshold)
    for line in summary_lines(res):
        typer.echo(line)
    typer.echo(json.dumps(res, indent=2))


@app.command("gate-power-same-job")
def gate_power_same_job(
    runs: Annotated[int, typer.Option(help="Runs, each timing A, A' and C interleaved")] = 10,
    suite: Annotated[Path, typer.Option(help="Suite")] = Path("runners/ci.toml"),
    slowdown: Annotated[
        float,
        typer.Option(help="C's input window factor; with --calibrate-from, each key's slowdown"),
    ] = 1.25,
    calibrate_from: Annotated[
        Path | None,
        typer.Option(help="An earlier summary.json: lengthen each key's input to hit --slowdown"),
    ] = None,
    calibrated_window: Annotated[
        float | None, typer.Option(help="The window factor that summary's C had")
    ] = None,
    threshold: Annotated[float, typer.Option(help="Slowdown ratio that counts")] = 1.10,
    out_dir: Annotated[Path, typer.Option("--out", help="Runs and summary")] = Path(
        "gate_power_same_job"
    ),
    analyse_only: Annotated[
        bool, typer.Option("--analyse", help="only recompute the summary")
    ] = False,
) -> None:
    """Measure the same-job gate: A/A false alarms and detections of a real slowdown."""
    from ecgbench.studies.gate_power_same_job import analyse, measure, summary_lines

    if not analyse_only:
        measure(runs, suite, slowdown, out_dir, typer.echo, calibrate_from, calibrated_window)
    target = slowdown if calibrate_from else 1.20
    for line in summary_lines(analyse(out_dir, threshold, target)):
        typer.echo(line)
