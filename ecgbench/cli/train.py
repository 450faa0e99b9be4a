"""`ecgbench train`, `sweep` and `scaling`: models, the design-space sweep, scaling laws."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ecgbench.cli._app import app
from ecgbench.cli._format import err, fmt, out
from ecgbench.errors import EcgbenchError


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="Record folder with metadata.csv (strat_fold)")],
    out_path: Annotated[Path, typer.Option("--out", help="Checkpoint to write (best epoch)")],
    model: Annotated[
        str | None,
        typer.Option(
            help="Named size of any family, e.g. convnext1d_pico, resnet1d_atto, transformer1d_atto"
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="TOML with [model] and [train] tables")
    ] = None,
    epochs: Annotated[int | None, typer.Option()] = None,
    batch_size: Annotated[int | None, typer.Option("--batch")] = None,
    lr: Annotated[float | None, typer.Option()] = None,
    optimizer: Annotated[str | None, typer.Option(help="adamw | sgd | sgd-momentum")] = None,
    crop: Annotated[int | None, typer.Option(help="Training crop in samples")] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    threads: Annotated[int | None, typer.Option()] = None,
    train_folds: Annotated[str | None, typer.Option(help="e.g. 1-8")] = None,
    val_folds: Annotated[str | None, typer.Option(help="e.g. 9")] = None,
    test_folds: Annotated[str | None, typer.Option(help="e.g. 10")] = None,
    limit: Annotated[int | None, typer.Option(help="Read at most N records")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Cap steps per epoch")] = None,
    resume: Annotated[bool, typer.Option(help="Continue from <out>.last.pt")] = False,
    weights: Annotated[Path | None, typer.Option(help="Challenge weights.csv")] = None,
) -> None:
    """Train one model of any family (asymmetric loss, ExponentialLR), keeping the best checkpoint."""
    from ecgbench.train.config import resolve_train_config
    from ecgbench.train.loop import train_model

    model_cfg, cfg = resolve_train_config(
        model=model,
        config=config,
        overrides={
            "epochs": epochs,
            "batch_size": batch_size,
            "lr": lr,
            "optimizer": optimizer,
            "crop_samples": crop,
            "seed": seed,
            "threads": threads,
            "train_folds": train_folds,
            "val_folds": val_folds,
            "test_folds": test_folds,
            "limit": limit,
            "max_steps": max_steps,
        },
    )
    r = train_model(model_cfg, data, out_path, cfg, resume=resume, weights_path=weights)
    if r.interrupted:
        err.print("[yellow]interrupted[/]: the best checkpoint so far is kept")
    out.print(
        f"best epoch {r.best_epoch + 1}: val {fmt(r.metrics['val']['challenge_score'])} "
        f"(AUROC {fmt(r.metrics['val']['auroc'])})"
        + (
            f", test {fmt(r.metrics['test']['challenge_score'])} "
            f"(AUROC {fmt(r.metrics['test']['auroc'])})"
            if "test" in r.metrics
            else ""
        )
        + f"; {r.train_seconds:.0f} s, {r.samples_per_s:.0f} samples/s -> {r.checkpoint}"
    )
    if r.interrupted:
        raise typer.Exit(130)


@app.command()
def sweep(
    data: Annotated[Path, typer.Option(help="Record folder with metadata.csv")],
    trials: Annotated[int, typer.Option(help="Trials this worker runs")] = 10,
    storage: Annotated[str, typer.Option(help="optuna storage URL")] = "sqlite:///sweep.db",
    study: Annotated[str, typer.Option(help="Study name")] = "convnext1d-ecg",
    epochs: Annotated[int, typer.Option(help="Epochs per trial (the fixed budget)")] = 3,
    timeout: Annotated[float | None, typer.Option(help="Stop after S seconds")] = None,
    data_fraction: Annotated[float, typer.Option(help="Fraction of training records")] = 1.0,
    threads: Annotated[int | None, typer.Option(help="torch threads")] = None,
    limit: Annotated[int | None, typer.Option(help="Read at most N records")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Cap steps per epoch")] = None,
    weights: Annotated[Path | None, typer.Option(help="Challenge weights.csv")] = None,
) -> None:
    """Sample the design space and train each trial; many workers may share one storage."""
    from ecgbench.scaling.sweep import SweepConfig, run_sweep

    if not 0 < data_fraction <= 1:
        raise EcgbenchError("--data-fraction must be in (0, 1]")
    r = run_sweep(
        SweepConfig(
            data_dir=data,
            storage=storage,
            study=study,
            trials=trials,
            epochs=epochs,
            timeout=timeout,
            train_fraction=data_fraction,
            threads=threads,
            limit=limit,
            max_steps=max_steps,
            weights_path=str(weights) if weights else None,
        ),
        log=lambda m: out.print(m, highlight=False),
    )
    out.print(
        f"study {r['study']}: {r['trials']} trials ({r['complete']} complete, {r['failed']} "
        f"failed) in {r['storage']}; this worker {r['seconds']:.0f} s"
    )


@app.command()
def scaling(
    study: Annotated[str, typer.Argument(help="Study name")] = "convnext1d-ecg",
    storage: Annotated[str, typer.Option(help="optuna storage URL")] = "sqlite:///sweep.db",
    out_dir: Annotated[Path, typer.Option("-o", "--out", help="Output folder")] = Path("scaling"),
    folds: Annotated[int, typer.Option(help="CV folds for the regressor")] = 3,
    repeats: Annotated[int, typer.Option(help="Repetitions of the k-fold split")] = 5,
) -> None:
    """Pareto fronts, CV-scored regressor, importances and power laws, beside the seed's numbers."""
    from ecgbench.errors import BadInputError
    from ecgbench.scaling.analysis import SEED_STUDY, analyse, write_scaling_report
    from ecgbench.scaling.sweep import trials_frame

    df = trials_frame(storage, study)
    if folds < 2 or repeats < 1:
        raise BadInputError("--folds must be at least 2 and --repeats at least 1")
    s = analyse(df, folds=folds, repeats=repeats)
    files = write_scaling_report(df, s, out_dir)
    t = Table(title=f"best validation score per optimiser ({s.n_trials} trials)")
    for c in (
        "optimiser",
        "trials",
        "val score",
        "test score",
        "params",
        "MFLOPs",
        "stages",
        "seed study",
    ):
        t.add_column(c)
    for opt, b in sorted(s.best_by_optimizer.items(), key=lambda kv: -kv[1]["val_score"]):
        t.add_row(
            opt,
            str(b["trials"]),
            fmt(b["val_score"]),
            fmt(b["test_score"]),
            f"{b['params'] / 1e6:.2f} M",
            f"{b['flops'] / 1e6:.0f}",
            str(b["stages"]),
            fmt(SEED_STUDY["best_by_optimizer"].get(opt)),
        )
    out.print(t)
    out.print("CV Pearson r per fold: " + ", ".join(f"{r:.3f}" for r in s.cv_pearson_r))
    allr = [r for r in s.cv_pearson_r_repeated if r == r]
    if len(allr) > len(s.cv_pearson_r):
        out.print(
            f"  over {len(allr)} folds of {repeats} repeated splits: mean "
            f"{sum(allr) / len(allr):.3f}, range {min(allr):.3f} to {max(allr):.3f}"
        )
    out.print("importance: " + ", ".join(f"{k} {v:.3f}" for k, v in list(s.importance.items())[:6]))
    for pl in (s.power_law_flops, s.power_law_data):
        if pl:
            out.print(
                f"power law: error = {pl.a:.3g} * {pl.x}^-{pl.alpha:.4f} "
                f"(R² {pl.r2:.2f}, {pl.n_points} points)"
            )
    out.print(f"wrote {len(files)} files to {out_dir}")
