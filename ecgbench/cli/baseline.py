"""`ecgbench fingerprint` and `baseline`: this machine as the gate sees it, the committed baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ecgbench.cli._app import app
from ecgbench.cli._format import err, out

baseline_app = typer.Typer(help="The committed CI latency baseline.", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")


@app.command()
def fingerprint(
    key: Annotated[bool, typer.Option("--key", help="Print only the baseline key")] = False,
    suite: Annotated[
        Path | None, typer.Option(help="Suite whose threads the baselines use")
    ] = None,
    threads: Annotated[int | None, typer.Option(help="Threads the runs use")] = None,
) -> None:
    """This machine as the gate sees it; --key for a CI cache key of per-machine baselines."""
    from ecgbench.bench.results.fingerprint import collect_fingerprint
    from ecgbench.bench.suite import load_suite
    from ecgbench.gate.baselines import baseline_key, describe
    from ecgbench.host import default_threads

    if threads is None and suite is not None:
        threads = load_suite(suite).threads
    fp = collect_fingerprint(threads or default_threads()).to_dict()
    if key:
        print(baseline_key(fp))
        return
    out.print(
        f"{describe(fp)}\nmachine id {fp['machine_id']} · baseline key {baseline_key(fp)}",
        highlight=False,
    )


@baseline_app.command("update")
def baseline_update(
    suite: Annotated[Path, typer.Option(help="Suite")] = Path("runners/ci.toml"),
    out_path: Annotated[
        Path | None, typer.Option("--out", help="One baseline file (instead of --dir)")
    ] = None,
    directory: Annotated[
        Path, typer.Option("--dir", help="Kept per machine: DIR/baseline-<machine key>.json")
    ] = Path("runners/baselines"),
) -> None:
    """Re-run the CI suite and keep it as this machine's baseline (commit the file afterwards)."""
    from ecgbench.bench.runner import RunOptions, run_plan
    from ecgbench.bench.suite import load_suite
    from ecgbench.bench.tables.latency import results_table
    from ecgbench.gate.baselines import baseline_path

    doc = run_plan(
        load_suite(suite),
        RunOptions(output=None, use_store=False),
        log=lambda m: err.print(m, highlight=False),
    )
    if out_path is None:
        out_path = baseline_path(directory, doc.fingerprint)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    doc.write(out_path)
    out.print(results_table(doc))
    out.print(f"baseline written to {out_path}")
