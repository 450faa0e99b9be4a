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
    replay: Annotated[
        str | None,
        typer.Option(
            help="Re-run the first --trials completed trials of this study (same params and "
            "seed) at --epochs, into --study: the rank-agreement check"
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Train this named size (e.g. resnet1d_atto) with the zoo's optimiser instead of "
            "sampling: with --data-fraction, the data-scaling axis"
        ),
    ] = None,
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
            replay=replay,
            model=model,
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
    longer: Annotated[
        str | None,
        typer.Option(help="A sweep --replay of this study at more epochs: the rank agreement"),
    ] = None,
) -> None:
    """Pareto fronts, CV-scored regressor, importances and power laws, beside the seed's numbers.

    Trials of `sweep --model` (one named size on fractions of the data) give the data-scaling law
    per model.
    """
    from ecgbench.errors import BadInputError
    from ecgbench.fileio import atomic_write_json
    from ecgbench.scaling.analysis import analyse, data_scaling, split_trials
    from ecgbench.scaling.sweep import trials_frame
    from ecgbench.scaling.writeup import write_data_scaling, write_scaling_report

    if folds < 2 or repeats < 1:
        raise BadInputError("--folds must be at least 2 and --repeats at least 1")
    design, fixed = split_trials(trials_frame(storage, study))
    files: list[Path] = []
    if len(design):
        try:
            s = analyse(design, folds=folds, repeats=repeats)
        except BadInputError as e:
            if longer is None and not len(fixed):
                raise
            out.print(f"no design-space analysis: {e}")  # the other outputs still stand
        else:
            files += write_scaling_report(design, s, out_dir)
            _print_design_summary(s, repeats)
    if len(fixed):
        laws = data_scaling(fixed)
        files += write_data_scaling(fixed, laws, out_dir)
        _print_data_laws(laws)
    if longer is not None:
        from ecgbench.scaling.agreement import rank_agreement

        ra = rank_agreement(design, trials_frame(storage, longer))
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out_dir / "rank_agreement.json", ra.to_dict())
        files.append(out_dir / "rank_agreement.json")
        lo, hi = ra.spearman_ci
        out.print(
            f"rank agreement, {ra.n_trials} trials at {ra.short_epochs} vs {ra.long_epochs} "
            f"epochs: Spearman {ra.spearman:.2f} [95% CI {lo:.2f}, {hi:.2f}], Kendall "
            f"{ra.kendall:.2f}; top {ra.top_k} overlap {ra.top_k_overlap}/{ra.top_k}; the short "
            f"runs' best ranks #{ra.best_short_rank_long} of the long runs"
        )
    out.print(f"wrote {len(files)} files to {out_dir}")


def _print_design_summary(s, repeats: int) -> None:
    from ecgbench.scaling.analysis import SEED_STUDY
    from ecgbench.scaling.writeup import format_law

    for key, best, seed in (
        ("optimiser", s.best_by_optimizer, SEED_STUDY["best_by_optimizer"]),
        ("family", s.best_by_family, {}),
    ):
        t = Table(title=f"best validation score per {key} ({s.n_trials} trials)")
        for c in (key, "trials", "val score", "test score", "params", "MFLOPs", "stages"):
            t.add_column(c)
        if seed:
            t.add_column("seed study")
        for name, b in sorted(best.items(), key=lambda kv: -kv[1]["val_score"]):
            cells = [
                name,
                str(b["trials"]),
                fmt(b["val_score"]),
                fmt(b["test_score"]),
                f"{b['params'] / 1e6:.2f} M",
                f"{b['flops'] / 1e6:.0f}",
                str(b["stages"]),
            ]
            t.add_row(*cells, *([fmt(seed.get(name))] if seed else []))
        out.print(t)
    out.print("CV Pearson r per fold: " + ", ".join(f"{r:.3f}" for r in s.cv_pearson_r))
    allr = [r for r in s.cv_pearson_r_repeated if r == r]
    if len(allr) > len(s.cv_pearson_r):
        out.print(
            f"  over {len(allr)} folds of {repeats} repeated splits: mean "
            f"{sum(allr) / len(allr):.3f}, range {min(allr):.3f} to {max(allr):.3f}"
        )
    out.print("importance: " + ", ".join(f"{k} {v:.3f}" for k, v in list(s.importance.items())[:8]))
    for pl in (s.power_law_flops, s.power_law_params, s.power_law_data):
        if pl:
            out.print(f"power law: {format_law(pl)}")


def _print_data_laws(laws) -> None:
    from ecgbench.scaling.writeup import format_law

    for model, pl in laws.items():
        what = format_law(pl) if pl else "fewer than 3 record counts: no fit"
        out.print(f"data scaling, {model}: {what}")
