"""The ``ecgbench`` command line: parse, call the library, print with rich. No logic of its own."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from ecgbench.errors import EcgbenchError

# Wide tables stay readable when piped to a file or a CI log.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


class _Group(TyperGroup):
    """Turns a user error anywhere below into one red line and its exit code (no traceback)."""

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except EcgbenchError as e:
            err.print(f"[red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
            raise typer.Exit(e.exit_code) from None


app = typer.Typer(
    cls=_Group,
    help="Which ECG model, on which device, at which precision, is fast enough and still accurate?",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
zoo_app = typer.Typer(help="The model zoo in models/: list, verify, add.", no_args_is_help=True)
data_app = typer.Typer(help="Record folders: check what is usable.", no_args_is_help=True)
app.add_typer(zoo_app, name="zoo")
app.add_typer(data_app, name="data")


def _fmt(v: object, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and v != v):  # None or NaN
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


# --------------------------------------------------------------------------- zoo
@zoo_app.command("list")
def zoo_list(
    zoo_dir: Annotated[Path | None, typer.Option(help="Zoo folder (default: models/)")] = None,
) -> None:
    """Trained models with params, FLOPs and fold-9 / fold-10 scores."""
    from ecgbench.zoo import Zoo

    zoo = Zoo(zoo_dir)
    if not zoo.entries:
        raise EcgbenchError(f"the zoo at {zoo.root} is empty (no {zoo.manifest.name})")
    t = Table(title=f"ecgbench zoo ({zoo.root})")
    for col in ("model", "params", "MFLOPs", "input", "val score", "val AUROC", "test score",
                "test AUROC", "INT8 IR"):  # fmt: skip
        t.add_column(col, justify="left" if col == "model" else "right")
    for n in zoo.names():
        e = zoo.entries[n]
        val, test = e.metrics.get("val", {}), e.metrics.get("test", {})
        t.add_row(
            n,
            f"{e.params / 1e6:.2f} M",
            f"{e.flops / 1e6:.0f}",
            "×".join(map(str, e.input_shape)),
            _fmt(val.get("challenge_score")),
            _fmt(val.get("auroc")),
            _fmt(test.get("challenge_score")),
            _fmt(test.get("auroc")),
            "yes" if any(k.endswith("int8") for k in e.artifacts) else "–",
        )
    out.print(t)


@zoo_app.command("verify")
def zoo_verify(
    zoo_dir: Annotated[Path | None, typer.Option(help="Zoo folder (default: models/)")] = None,
) -> None:
    """Check every checkpoint (and bundled artifact) against the manifest's sha256."""
    from ecgbench.zoo import Zoo, verify_artifacts

    zoo = Zoo(zoo_dir)
    if not zoo.entries:
        raise EcgbenchError(f"the zoo at {zoo.root} is empty")
    bad = 0
    for n in zoo.names():
        try:
            zoo.verify(n)
            verify_artifacts(zoo.entries[n])
            out.print(f"[green]ok[/]  {n}")
        except EcgbenchError as e:
            bad += 1
            out.print(f"[red]BAD[/] {n}: {escape(str(e))}")
    if bad:
        raise typer.Exit(1)


@zoo_app.command("add")
def zoo_add(
    checkpoint: Annotated[Path, typer.Argument(help="A checkpoint written by `ecgbench train`")],
    name: Annotated[str | None, typer.Option(help="Zoo name (default: file stem)")] = None,
    zoo_dir: Annotated[Path | None, typer.Option(help="Zoo folder (default: models/)")] = None,
) -> None:
    """Register a trained checkpoint: sha256, params, FLOPs, metrics, the training command."""
    from ecgbench.zoo import Zoo

    e = Zoo(zoo_dir).add(checkpoint, name)
    out.print(f"added {e.name}: {e.params:,} params, {e.flops / 1e6:.1f} MFLOPs, sha256 {e.sha256}")


# --------------------------------------------------------------------------- data
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


# --------------------------------------------------------------------------- score
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
) -> None:
    """Score Challenge output files like the official evaluate_model.py."""
    from ecgbench.fileio import atomic_write_json
    from ecgbench.metrics.scoring_io import score_folders

    s = score_folders(labels, outputs, weights).to_json_dict()
    t = Table(title="Challenge scores")
    t.add_column("metric")
    t.add_column("value", justify="right")
    for k, v in s.items():
        t.add_row(k, _fmt(v, 6))
    out.print(t)
    if json_out:
        atomic_write_json(json_out, s)


# --------------------------------------------------------------------------- train
@app.command()
def train(
    data: Annotated[Path, typer.Option(help="Record folder with metadata.csv (strat_fold)")],
    out_path: Annotated[Path, typer.Option("--out", help="Checkpoint to write (best epoch)")],
    model: Annotated[str | None, typer.Option(help="Named size, e.g. convnext1d_pico")] = None,
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
    """Train one ConvNeXt-1D (asymmetric loss, ExponentialLR), keeping the best checkpoint."""
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
        f"best epoch {r.best_epoch + 1}: val {_fmt(r.metrics['val']['challenge_score'])} "
        f"(AUROC {_fmt(r.metrics['val']['auroc'])})"
        + (
            f", test {_fmt(r.metrics['test']['challenge_score'])} "
            f"(AUROC {_fmt(r.metrics['test']['auroc'])})"
            if "test" in r.metrics
            else ""
        )
        + f"; {r.train_seconds:.0f} s, {r.samples_per_s:.0f} samples/s -> {r.checkpoint}"
    )
    if r.interrupted:
        raise typer.Exit(130)


# --------------------------------------------------------------------------- export
def _export_options(
    cache_dir: Path | None, force: bool, calibration: Path | None, calibration_size: int,
    max_drop: float | None,
):  # fmt: skip
    from ecgbench.export.pipeline import ExportOptions
    from ecgbench.export.quantize import QuantSettings

    return ExportOptions(
        cache_dir=cache_dir,
        force=force,
        calibration_dir=calibration,
        quant=QuantSettings(subset_size=calibration_size, max_drop=max_drop),
    )


@app.command()
def export(
    model: Annotated[str, typer.Option(help="Zoo name, checkpoint path, or all")] = "all",
    precision: Annotated[str, typer.Option(help="fp32,fp16,int8 or all")] = "all",
    fmt: Annotated[str, typer.Option("--format", help="openvino,onnx or all")] = "all",
    calibration: Annotated[
        Path | None, typer.Option(help="Records for INT8 calibration (default: $ECGBENCH_DATA)")
    ] = None,
    calibration_size: Annotated[int, typer.Option(help="Calibration records")] = 300,
    max_drop: Annotated[
        float | None, typer.Option(help="INT8 with accuracy control: max Challenge-score drop")
    ] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Export cache folder")] = None,
    force: Annotated[bool, typer.Option(help="Rebuild even if cached")] = False,
    verify: Annotated[bool, typer.Option(help="Check each variant against PyTorch")] = True,
    zoo: Annotated[bool, typer.Option("--zoo", help="Bundle INT8 artifacts into models/")] = False,
) -> None:
    """Export zoo models to ONNX and OpenVINO IR (FP32 / FP16 / INT8), cached and verified."""
    from ecgbench.export.pipeline import export_models, parse_formats, parse_precisions
    from ecgbench.zoo import Zoo

    z = Zoo()
    names = z.names() if model == "all" else [m.strip() for m in model.split(",")]
    opts = _export_options(cache_dir, force, calibration, calibration_size, max_drop)
    vs = export_models(
        names, parse_formats(fmt), parse_precisions(precision), opts, z, verify=verify, to_zoo=zoo
    )
    t = Table(title="exports")
    for c in ("model", "format", "precision", "source", "seconds", "calib s", "verification"):
        t.add_column(c)
    failed = 0
    for v in vs:
        ver = v.verification.summary() if v.verification else "not verified"
        failed += bool(v.verification and not v.verification.passed)
        calib = v.meta.get("calibration_seconds")
        t.add_row(
            v.model, v.format, v.precision, v.source, f"{v.seconds:.1f}",
            f"{calib:.1f}" if calib else "–",
            ("[red]" if v.verification and not v.verification.passed else "") + escape(ver),
        )  # fmt: skip
    out.print(t)
    for v in vs:
        out.print(f"{v.model} {v.format} {v.precision}: {v.path}", highlight=False)
    if failed:
        err.print(f"[red bold]{failed} variant(s) failed verification[/]")
        raise typer.Exit(1)


# --------------------------------------------------------------------------- evaluate
@app.command()
def evaluate(
    model: Annotated[str, typer.Option(help="Zoo name, checkpoint path, or all")],
    data: Annotated[Path, typer.Option(help="Record folder")],
    precision: Annotated[str, typer.Option(help="fp32, bf16, fp16, int8 (or all)")] = "fp32",
    backend: Annotated[str, typer.Option(help="openvino, onnxruntime, torch (or all)")] = "torch",
    int8_rest: Annotated[
        str, typer.Option(help="INT8 on OpenVINO: float arithmetic of the rest, e.g. f32,bf16")
    ] = "f32",
    folds: Annotated[str | None, typer.Option(help="Folds to score, e.g. 10")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write scores as JSON")] = None,
    outputs: Annotated[Path | None, typer.Option(help="Write Challenge output files here")] = None,
    store_in_zoo: Annotated[
        bool, typer.Option("--zoo", help="Record the scores in the zoo manifest")
    ] = False,
    weights: Annotated[Path | None, typer.Option(help="Challenge weights.csv")] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Export cache folder")] = None,
    calibration: Annotated[
        Path | None, typer.Option(help="INT8: calibrate on these records instead of the zoo's")
    ] = None,
    max_drop: Annotated[
        float | None, typer.Option(help="INT8: the accuracy-controlled variant with this max drop")
    ] = None,
) -> None:
    """Challenge metrics of exact variants (model × backend × precision) on a record folder."""
    from ecgbench.bench.suite import BACKEND_PRECISIONS
    from ecgbench.data.folds import parse_folds
    from ecgbench.export.evaluate import evaluate_variant, store_variant_scores
    from ecgbench.export.pipeline import parse_precisions
    from ecgbench.fileio import atomic_write_json
    from ecgbench.precision import PRECISIONS, PrecisionUnsupportedError
    from ecgbench.zoo import Zoo

    z = Zoo()
    names = z.names() if model == "all" else [m.strip() for m in model.split(",")]
    backends = list(BACKEND_PRECISIONS) if backend == "all" else backend.split(",")
    precs = parse_precisions(precision, PRECISIONS)
    rests = [r.strip().lower() for r in int8_rest.split(",") if r.strip()] or ["f32"]
    combos = [(m, b, p) for m in names for b in backends for p in precs
              if p in BACKEND_PRECISIONS.get(b, (p,))]  # fmt: skip
    if not combos:
        raise EcgbenchError(
            "no backend runs that precision ("
            + "; ".join(f"{b}: {', '.join(p)}" for b, p in BACKEND_PRECISIONS.items())
            + ")"
        )
    if store_in_zoo and (calibration or max_drop is not None):
        raise EcgbenchError("--zoo records the zoo's own variants; drop --calibration/--max-drop")
    opts = _export_options(cache_dir, False, calibration, 300, max_drop)
    fold_t = parse_folds(folds) if folds else None
    results = []
    t = Table(title=f"Challenge metrics on {data}" + (f" folds {folds}" if folds else ""))
    for c in ("model", "backend", "asked", "ran as", "records", "challenge", "AUROC", "AUPRC",
              "accuracy", "F1"):  # fmt: skip
        t.add_column(c)
    for m, b, p in combos:
        for rest in rests if (p == "int8" and b == "openvino") else ["f32"]:
            sub = f"{m}-{b}-{p}" + (f"-{rest}" if rest != "f32" else "")
            try:
                vs = evaluate_variant(
                    m, b, p, data, fold_t, opts,
                    outputs_dir=(outputs / sub) if outputs and len(combos) > 1 else outputs,
                    weights_path=str(weights) if weights else None, zoo=z, int8_rest=rest,
                )  # fmt: skip
            except PrecisionUnsupportedError as e:
                if precision != "all":
                    raise
                err.print(f"[yellow]skipped[/] {m} {b} {p}: {escape(str(e))}")
                continue
            results.append(vs.to_dict())
            sc = vs.scores
            t.add_row(m, b, p, vs.executed or "?", str(vs.n_records), _fmt(sc.challenge_score, 4),
                      _fmt(sc.auroc, 4), _fmt(sc.auprc, 4), _fmt(sc.accuracy, 4),
                      _fmt(sc.f_measure, 4))  # fmt: skip
            for prob in vs.skipped:
                err.print(f"[yellow]skipped[/] {prob}")
            if store_in_zoo:
                store_variant_scores(z, vs, "ecgbench " + " ".join(sys.argv[1:]))
    out.print(t)
    if json_out:
        atomic_write_json(json_out, results[0] if len(results) == 1 else results)


# --------------------------------------------------------------------------- devices
@app.command()
def devices() -> None:
    """What OpenVINO, ONNX Runtime and PyTorch can run on here."""
    from ecgbench.bench.fingerprint import cpu_info, int8_isa
    from ecgbench.devices import onnxruntime_providers, openvino_devices, torch_devices
    from ecgbench.precision import Arithmetic

    model, isa = cpu_info()
    out.print(f"CPU: {model}; ISA: {', '.join(isa)}; INT8: {int8_isa(isa)}")
    t = Table(title="OpenVINO devices")
    for c in ("device", "full name", "executes natively", "capabilities", "properties"):
        t.add_column(c)
    for d in openvino_devices():
        arith = Arithmetic(d.name, frozenset(d.capabilities), tuple(isa))
        t.add_row(d.name, d.full_name, arith.describe(), ", ".join(d.capabilities),
                  "; ".join(f"{k}={v}" for k, v in d.properties.items()))  # fmt: skip
    out.print(t)
    out.print("ONNX Runtime providers: " + ", ".join(onnxruntime_providers()))
    out.print("torch devices: " + ", ".join(torch_devices()))
    out.print("absent here: " + (", ".join(
        d for d in ("GPU", "NPU") if d not in {x.name.split(".")[0] for x in openvino_devices()}
    ) or "none"))  # fmt: skip


# --------------------------------------------------------------------------- run
@app.command()
def run(
    device: Annotated[str, typer.Option(help="CPU, GPU, NPU, AUTO, HETERO:GPU,CPU, …")] = "CPU",
    precision: Annotated[
        str, typer.Option(help="fp32, bf16, fp16, int8, or all (what executes, not what is stored)")
    ] = "fp32",
    int8_rest: Annotated[
        str, typer.Option(help="INT8: arithmetic of the layers left in float (f32, bf16, f16)")
    ] = "f32",
    model: Annotated[str, typer.Option(help="Zoo name(s), checkpoint path, or all")] = "all",
    backend: Annotated[str, typer.Option(help="openvino, onnxruntime, torch, or all")] = "all",
    batch: Annotated[int, typer.Option(help="Batch size")] = 1,
    threads: Annotated[int | None, typer.Option(help="Threads (default: all usable cores)")] = None,
    scenario: Annotated[str, typer.Option(help="latency or throughput")] = "latency",
    duration: Annotated[float, typer.Option(help="Minimum timed seconds per variant")] = 5.0,
    min_iters: Annotated[int, typer.Option(help="Minimum timed calls per variant")] = 100,
    warmup: Annotated[float, typer.Option(help="Warm-up seconds per variant")] = 1.0,
    samples: Annotated[int | None, typer.Option(help="Input length (default: 10 s)")] = None,
    suite: Annotated[Path | None, typer.Option(help="Runner profile TOML (runners/*.toml)")] = None,
    output: Annotated[Path | None, typer.Option(help="Write the run document (JSON)")] = None,
    store: Annotated[
        str | None, typer.Option(help="Results store: sqlite:///F.db, postgresql://…, or a folder")
    ] = None,
    machine_name: Annotated[
        str | None, typer.Option(help="Name this machine in the store (default: CPU + hash)")
    ] = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not add to the store")] = False,
    crosscheck: Annotated[bool, typer.Option(help="Also run benchmark_app on each IR")] = False,
    crosscheck_rounds: Annotated[
        int, typer.Option(min=1, help="Cross-check: rounds of 1 s bursts per IR (each ~3 s)")
    ] = 32,
    cache_dir: Annotated[Path | None, typer.Option(help="Export cache folder")] = None,
    calibration: Annotated[Path | None, typer.Option(help="INT8 calibration records")] = None,
    profile: Annotated[
        bool, typer.Option(help="OpenVINO rows: per-layer performance counters after timing")
    ] = False,
) -> None:
    """Benchmark zoo variants: export (cached), time interleaved, print and store the rows."""
    from dataclasses import replace

    from ecgbench.bench.runner import RunOptions, run_plan
    from ecgbench.bench.suite import RunPlan, expand_all, load_suite
    from ecgbench.bench.table import results_table
    from ecgbench.export.pipeline import ExportOptions

    if suite:
        plan = load_suite(suite)
    else:
        plan = expand_all(
            RunPlan(
                models=tuple(m.strip() for m in model.split(",")),
                backends=tuple(b.strip() for b in backend.lower().split(",")),
                devices=(device,),
                precisions=tuple(p.strip() for p in precision.lower().split(",")),
                batch=(batch,),
                threads=threads,
                scenario=scenario,
                duration=duration,
                min_iters=min_iters,
                warmup=warmup,
                samples=samples,
                int8_rest=int8_rest.lower(),
                skip_unsupported=precision.lower() == "all",
            )
        )
        plan = replace(plan, name="adhoc")
    opts = RunOptions(
        export=ExportOptions(cache_dir=cache_dir, calibration_dir=calibration),
        output=output,
        store=store,
        machine_name=machine_name,
        use_store=not no_store,
        crosscheck=crosscheck,
        crosscheck_rounds=crosscheck_rounds,
        profile=profile,
    )
    try:
        doc = run_plan(plan, opts, log=lambda m: err.print(m, highlight=False))
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]: finished rows were written")
        raise typer.Exit(130) from None
    out.print(results_table(doc))


# --------------------------------------------------------------------------- speedup
@app.command()
def speedup(
    results: Annotated[Path, typer.Argument(help="A run document (ecgbench run --output)")],
    base: Annotated[str, typer.Option(help="Base precision, or backend/precision")] = "fp32",
) -> None:
    """Each variant's time over its base variant's in the same run: ratio, 95% CI, or a tie."""
    from ecgbench.bench.results import read_run
    from ecgbench.bench.speedup import speedups

    b_backend, _, b_prec = base.rpartition("/")
    rows = speedups(read_run(results), b_prec.lower(), b_backend.lower() or None)
    t = Table(title=f"time relative to {base} in the same run (rounds paired; 95% CI by rounds)")
    for c in ("model", "backend", "asked", "ran as", "ms", "base", "base ms", "time ratio",
              "95% CI", "speed-up", "verdict", "rounds"):  # fmt: skip
        t.add_column(c, justify="left" if c in ("model", "backend", "base", "verdict") else "right")
    colour = {"faster": "green", "slower": "red", "tie": "white"}
    for s in rows:
        t.add_row(
            s.model, s.backend, s.precision, s.executed or "?", f"{s.median_ms:.3f}", s.base,
            f"{s.base_ms:.3f}", f"{s.time_ratio:.3f}", f"{s.ci_low:.3f}–{s.ci_high:.3f}",
            f"×{s.speedup:.2f}", f"[{colour[s.verdict]}]{s.verdict}[/]", str(s.rounds),
        )  # fmt: skip
    out.print(t)


# --------------------------------------------------------------------------- profile
@app.command()
def profile(
    model: Annotated[str, typer.Option(help="Zoo name or checkpoint path")],
    precision: Annotated[str, typer.Option(help="fp32, bf16, fp16 or int8")] = "int8",
    device: Annotated[str, typer.Option(help="OpenVINO device")] = "CPU",
    int8_rest: Annotated[str, typer.Option(help="INT8: arithmetic of the float layers")] = "f32",
    threads: Annotated[int | None, typer.Option(help="Threads (default: all usable cores)")] = None,
    inferences: Annotated[int, typer.Option(min=1, help="Profiled inferences")] = 50,
    top: Annotated[int, typer.Option(min=1, help="Slowest layers to show")] = 12,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the profile")] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Export cache folder")] = None,
) -> None:
    """Where an OpenVINO variant's time goes: slowest layers, their kernels, time per arithmetic."""
    from ecgbench.bench.profile import profile_variant
    from ecgbench.fileio import atomic_write_json

    p = profile_variant(model, precision.lower(), device, int8_rest.lower(), threads, inferences,
                        cache_dir=cache_dir)  # fmt: skip
    t = Table(title=f"{p.label}: ran {p.executed}; {p.total_ms:.3f} ms of layer time per inference")
    for c in ("layer", "type", "kernel (exec_type)", "arithmetic", "ms", "share"):
        t.add_column(c, justify="right" if c in ("ms", "share") else "left")
    total = p.total_ms or float("nan")  # a plugin that keeps no times reports zeros
    for layer in p.top(top):
        t.add_row(escape(layer.name[:60]), layer.layer_type, layer.exec_type, layer.arithmetic,
                  f"{layer.ms:.4f}", f"{layer.ms / total:.1%}")  # fmt: skip
    out.print(t)
    out.print(
        "time per arithmetic: "
        + " · ".join(f"{a} {ms:.3f} ms ({ms / total:.0%})" for a, ms in p.by_arithmetic.items()),
        highlight=False,
    )
    out.print(
        "time per layer type: "
        + " · ".join(f"{k} {ms:.3f}" for k, ms in list(p.by_layer_type.items())[:8]),
        highlight=False,
    )
    if json_out:
        atomic_write_json(json_out, p.to_dict(top=max(top, 15)))


# --------------------------------------------------------------------------- report
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

    filters = {"machine": machine, "suite": suite, "since": since, "limit": last,
               "model": model, "precision": precision}  # fmt: skip
    r = build_report(list(results or []), out_dir, store=store, filters=filters)
    out.print(
        f"report: {r.index} ({r.rows} rows, {len(r.figures)} figure files, {r.seconds:.1f} s)"
    )


# --------------------------------------------------------------------------- compare
baseline_app = typer.Typer(help="The committed CI latency baseline.", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")


def _print_comparison(
    cmp, markdown: Path | None, text: str | None = None, title: str = "latency gate"
) -> None:
    from ecgbench.fileio import atomic_write_text
    from ecgbench.regress import markdown_summary, precision_shown

    colour = {"regression": "red", "improvement": "green", "unchanged": "white",
              "not comparable": "yellow"}  # fmt: skip
    t = Table(title=title + (f" (drift {cmp.drift:.3f} removed)" if cmp.drift else ""))
    for c in ("verdict", "model", "backend", "device", "precision", "scenario", "baseline ms",
              "current ms", "ratio", "raw ratio", "95% CI", "p"):  # fmt: skip
        t.add_column(c)
    for v in cmp.verdicts:
        k = v.key
        ci = f"{v.ci_low:.3f}–{v.ci_high:.3f}" if v.ci_low is not None else v.note
        t.add_row(
            f"[{colour[v.verdict]}]{v.verdict}[/]", k["model"], k["backend"], k["device"],
            precision_shown(k), k["scenario"], _fmt(v.baseline_ms), _fmt(v.current_ms),
            _fmt(v.ratio), _fmt(v.raw_ratio), ci,
            "–" if v.p_value is None else f"{v.p_value:.1e}",
        )  # fmt: skip
    out.print(t)
    if cmp.machine_note:
        err.print(f"[yellow]{escape(cmp.machine_note)}[/]")
    if markdown:
        atomic_write_text(markdown, text or markdown_summary(cmp))


@app.command()
def compare(
    baseline: Annotated[Path | None, typer.Argument(help="Baseline run JSON")] = None,
    current: Annotated[Path | None, typer.Argument(help="Current run JSON")] = None,
    baseline_from: Annotated[
        str | None, typer.Option(help="Take the baseline from this store (give only CURRENT)")
    ] = None,
    machine: Annotated[
        str | None, typer.Option(help="--baseline-from: machine name or id (default: CURRENT's)")
    ] = None,
    suite: Annotated[
        str | None, typer.Option(help="--baseline-from: suite (default: CURRENT's)")
    ] = None,
    window: Annotated[
        int, typer.Option(min=1, help="--baseline-from: merge the last N runs as the baseline")
    ] = 1,
    baseline_dir: Annotated[
        Path | None,
        typer.Option(help="Choose the baseline for CURRENT's machine among these run JSONs"),
    ] = None,
    threshold: Annotated[float, typer.Option(help="Slowdown ratio that counts")] = 1.10,
    alpha: Annotated[float, typer.Option(help="Significance of the rank test")] = 0.05,
    markdown: Annotated[Path | None, typer.Option(help="Write a Markdown summary")] = None,
    allow_different_machine: Annotated[
        bool, typer.Option(help="Compare across fingerprints (relies on the normalisation)")
    ] = False,
    no_normalise: Annotated[
        bool, typer.Option("--no-normalise", help="Do not divide by the reference workload")
    ] = False,
    reference: Annotated[
        str, typer.Option(help="Reference workload: model (a fixed ConvNeXt) or gemm")
    ] = "model",
    pairing: Annotated[
        str, typer.Option(help="round: normalise slice by slice; run: whole-run medians")
    ] = "round",
    ab: Annotated[
        tuple[Path, Path] | None,
        typer.Option("--ab", help="OLD NEW artifacts (.xml/.onnx/.pt) timed interleaved now"),
    ] = None,
    device: Annotated[str, typer.Option(help="Device for --ab")] = "CPU",
    duration: Annotated[float, typer.Option(help="Seconds per side for --ab")] = 5.0,
) -> None:
    """CI latency gate: exit 0 if nothing regressed, 1 on a regression, 2 on bad input."""
    from ecgbench.bench.results import read_run
    from ecgbench.bench.timing import StopRule
    from ecgbench.errors import BadInputError, NoBaselineError
    from ecgbench.regress import GateSettings, compare_runs, fingerprint_differences

    if reference not in ("model", "gemm") or pairing not in ("round", "run"):
        raise BadInputError("--reference is model or gemm; --pairing is round or run")
    settings = GateSettings(threshold=threshold, alpha=alpha, normalise=not no_normalise,
                            reference=reference, pairing=pairing)  # fmt: skip
    if ab:
        from ecgbench.bench.ab import ab_documents

        base, cur = ab_documents(ab[0], ab[1], device=device,
                                 rule=StopRule(min_duration_s=duration, min_iters=100))  # fmt: skip
        settings = GateSettings(threshold=threshold, alpha=alpha, normalise=False)
    elif baseline_dir:
        from ecgbench.bench.baselines import baseline_candidates, choose_baseline

        cur_path = current or baseline
        if cur_path is None or (current is not None and baseline is not None):
            raise BadInputError("with --baseline-dir give only CURRENT.json")
        cur = read_run(cur_path)
        try:
            chosen, base = choose_baseline(baseline_candidates(baseline_dir), cur.fingerprint)
        except NoBaselineError as e:
            if markdown:  # the job summary says so too: the gate passed for want of a baseline
                from ecgbench.fileio import atomic_write_text

                atomic_write_text(markdown, f"## ecgbench latency gate: no baseline\n\n{e}\n")
            raise
        err.print(f"baseline for this machine: {chosen}", highlight=False)
    elif baseline_from:
        from ecgbench.bench.store import baseline_from_store

        cur_path = current or baseline
        if cur_path is None or (current is not None and baseline is not None):
            raise BadInputError("with --baseline-from give only CURRENT.json")
        cur = read_run(cur_path)
        base = baseline_from_store(
            baseline_from, machine or cur.fingerprint.get("machine_id", ""),
            suite if suite is not None else (cur.suite or None), window,
        )  # fmt: skip
    else:
        if baseline is None or current is None:
            raise BadInputError("give BASELINE.json CURRENT.json, --baseline-from URL CURRENT.json, "
                                "or --ab OLD NEW")  # fmt: skip
        base, cur = read_run(baseline), read_run(current)
    diffs = fingerprint_differences(base.fingerprint, cur.fingerprint)
    note = ""
    if diffs:
        if not allow_different_machine:
            raise BadInputError(
                "refusing to compare runs from different machines/software ("
                + "; ".join(diffs)
                + "); use --allow-different-machine to rely on the reference normalisation"
            )
        note = ("different machines (" + "; ".join(diffs) + f"): ratios rely on the {reference} "
                "reference normalisation")  # fmt: skip
    cmp = compare_runs(base, cur, settings)
    cmp.machine_note = note
    _print_comparison(cmp, markdown)
    raise typer.Exit(cmp.exit_code)


@app.command()
def gate(
    base: Annotated[
        str, typer.Option(help="Base: a git revision (origin/main, HEAD~1) or a folder")
    ],
    head: Annotated[str, typer.Option(help="Head: a git revision or a folder")] = "HEAD",
    suite: Annotated[str, typer.Option(help="Runner profile (read from head)")] = "runners/ci.toml",
    repo: Annotated[Path, typer.Option(help="The git repository")] = Path("."),
    mode: Annotated[
        str, typer.Option(help="auto (from what changed), models, code or libraries")
    ] = "auto",
    repeats: Annotated[int, typer.Option(min=3, help="code/libraries: base/head run pairs")] = 6,
    duration: Annotated[
        float | None, typer.Option(help="Seconds per variant (default: the profile's)")
    ] = None,
    threshold: Annotated[float, typer.Option(help="Slowdown ratio that counts")] = 1.10,
    alpha: Annotated[float, typer.Option(help="Significance of the signed-rank test")] = 0.05,
    markdown: Annotated[Path | None, typer.Option(help="Write a Markdown summary")] = None,
    output_dir: Annotated[
        Path | None, typer.Option(help="Keep both sides' run documents here")
    ] = None,
) -> None:
    """Same-job gate: time BASE and HEAD here, interleaved; exit 1 on a regression, 0 if none."""
    from ecgbench.bench.gate import gate_markdown, same_job_gate
    from ecgbench.regress import GateSettings

    r = same_job_gate(base, head, suite=suite, repo=repo, mode=mode, repeats=repeats,
                      duration=duration, settings=GateSettings(threshold=threshold, alpha=alpha),
                      log=lambda m: err.print(m, highlight=False))  # fmt: skip
    if output_dir:
        for i, (b, h) in enumerate(r.documents):
            b.write(output_dir / f"base-{i:02d}.json")
            h.write(output_dir / f"head-{i:02d}.json")
    text = gate_markdown(r)
    if r.mode == "none":
        from ecgbench.fileio import atomic_write_text

        out.print(f"same-job gate: {r.note}", highlight=False)
        if markdown:
            atomic_write_text(markdown, text)
        raise typer.Exit(0)
    _print_comparison(r.comparison, markdown, text, title=f"same-job gate ({r.mode})")
    for v in r.comparison.verdicts:
        if v.note and "→" in v.note:
            out.print(f"{v.key['model']} {v.key['backend']} {v.key['precision']}: {v.note}",
                      highlight=False)  # fmt: skip
    if r.note:
        out.print(f"note: {r.note}", highlight=False)
    out.print(f"ran on {r.cpu_line()}; {r.base} vs {r.head}, {r.seconds:.0f} s", highlight=False)
    raise typer.Exit(r.exit_code)


@app.command()
def fingerprint(
    key: Annotated[bool, typer.Option("--key", help="Print only the baseline key")] = False,
    suite: Annotated[
        Path | None, typer.Option(help="Runner profile whose threads the baselines use")
    ] = None,
    threads: Annotated[int | None, typer.Option(help="Threads the runs use")] = None,
) -> None:
    """This machine as the gate sees it; --key for a CI cache key of per-machine baselines."""
    from ecgbench.bench.baselines import baseline_key, describe
    from ecgbench.bench.fingerprint import collect_fingerprint
    from ecgbench.bench.runner import default_threads
    from ecgbench.bench.suite import load_suite

    if threads is None and suite is not None:
        threads = load_suite(suite).threads
    fp = collect_fingerprint(threads or default_threads()).to_dict()
    if key:
        print(baseline_key(fp))
        return
    out.print(f"{describe(fp)}\nmachine id {fp['machine_id']} · baseline key {baseline_key(fp)}",
              highlight=False)  # fmt: skip


@baseline_app.command("update")
def baseline_update(
    suite: Annotated[Path, typer.Option(help="Runner profile")] = Path("runners/ci.toml"),
    out_path: Annotated[
        Path | None, typer.Option("--out", help="One baseline file (instead of --dir)")
    ] = None,
    directory: Annotated[
        Path, typer.Option("--dir", help="Kept per machine: DIR/baseline-<machine key>.json")
    ] = Path("runners/baselines"),
) -> None:
    """Re-run the CI suite and keep it as this machine's baseline (commit the file afterwards)."""
    from ecgbench.bench.baselines import baseline_path
    from ecgbench.bench.runner import RunOptions, run_plan
    from ecgbench.bench.suite import load_suite
    from ecgbench.bench.table import results_table

    doc = run_plan(load_suite(suite), RunOptions(output=None, use_store=False),
                   log=lambda m: err.print(m, highlight=False))  # fmt: skip
    if out_path is None:
        out_path = baseline_path(directory, doc.fingerprint)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    doc.write(out_path)
    out.print(results_table(doc))
    out.print(f"baseline written to {out_path}")


# --------------------------------------------------------------------------- store
store_app = typer.Typer(help="The results store (SQLite or PostgreSQL).", no_args_is_help=True)
app.add_typer(store_app, name="store")


@store_app.command("import")
def store_import(
    sources: Annotated[list[Path], typer.Argument(help="Run JSON files or folders of them")],
    store: Annotated[str | None, typer.Option(help="Results store URL or folder")] = None,
    machine_name: Annotated[str | None, typer.Option(help="Name the machine of these runs")] = None,
) -> None:
    """Load run documents (e.g. a folder store's runs/, runners/baselines/) into the store."""
    from ecgbench.bench.store import import_documents

    n, url = import_documents(sources, store, machine_name)
    out.print(f"imported {n} run(s) into {url}", highlight=False)


@store_app.command("export")
def store_export(
    out_dir: Annotated[Path, typer.Argument(help="Folder for one JSON document per run")],
    store: Annotated[str | None, typer.Option(help="Results store URL or folder")] = None,
) -> None:
    """Write every stored run back out as its run document (JSON)."""
    from ecgbench.bench.store import export_documents

    n = export_documents(store, out_dir)
    out.print(f"wrote {n} run document(s) to {out_dir}", highlight=False)


@store_app.command("list")
def store_list(
    store: Annotated[str | None, typer.Option(help="Results store URL or folder")] = None,
) -> None:
    """Machines and runs in the store."""
    from ecgbench.bench.store import ResultsStore

    st = ResultsStore(store, create=False)
    df = st.frame()
    st.close()
    t = Table(title=f"{st.url}: schema {st.schema_version}")
    for c in ("machine", "runs", "rows", "suites", "first", "last"):
        t.add_column(c)
    for name, g in df.groupby("machine_name"):
        t.add_row(str(name), str(g["run_id"].nunique()), str(len(g)),
                  ", ".join(sorted(map(str, g["suite"].dropna().unique()))),
                  str(g["created"].min()), str(g["created"].max()))  # fmt: skip
    out.print(t)


# --------------------------------------------------------------------------- scaling
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
        SweepConfig(data_dir=data, storage=storage, study=study, trials=trials, epochs=epochs,
                    timeout=timeout, train_fraction=data_fraction, threads=threads, limit=limit,
                    max_steps=max_steps, weights_path=str(weights) if weights else None),
        log=lambda m: out.print(m, highlight=False),
    )  # fmt: skip
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
    from ecgbench.scaling.analysis import SEED, analyse, write_scaling_report
    from ecgbench.scaling.sweep import trials_frame

    df = trials_frame(storage, study)
    if folds < 2 or repeats < 1:
        raise BadInputError("--folds must be at least 2 and --repeats at least 1")
    s = analyse(df, folds=folds, repeats=repeats)
    files = write_scaling_report(df, s, out_dir)
    t = Table(title=f"best validation score per optimiser ({s.n_trials} trials)")
    for c in ("optimiser", "trials", "val score", "test score", "params", "MFLOPs", "stages",
              "seed study"):  # fmt: skip
        t.add_column(c)
    for opt, b in sorted(s.best_by_optimizer.items(), key=lambda kv: -kv[1]["val_score"]):
        t.add_row(opt, str(b["trials"]), _fmt(b["val_score"]), _fmt(b["test_score"]),
                  f"{b['params'] / 1e6:.2f} M", f"{b['flops'] / 1e6:.0f}", str(b["stages"]),
                  _fmt(SEED["best_by_optimizer"].get(opt)))  # fmt: skip
    out.print(t)
    out.print("CV Pearson r per fold: " + ", ".join(f"{r:.3f}" for r in s.cv_pearson_r))
    allr = [r for r in s.cv_pearson_r_repeated if r == r]
    if len(allr) > len(s.cv_pearson_r):
        out.print(f"  over {len(allr)} folds of {repeats} repeated splits: mean "
                  f"{sum(allr) / len(allr):.3f}, range {min(allr):.3f} to {max(allr):.3f}")  # fmt: skip
    out.print("importance: " + ", ".join(f"{k} {v:.3f}" for k, v in list(s.importance.items())[:6]))
    for pl in (s.power_law_flops, s.power_law_data):
        if pl:
            out.print(f"power law: error = {pl.a:.3g} * {pl.x}^-{pl.alpha:.4f} "
                      f"(R² {pl.r2:.2f}, {pl.n_points} points)")  # fmt: skip
    out.print(f"wrote {len(files)} files to {out_dir}")


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
) -> None:
    """The most accurate model that meets a latency budget on a device at a precision."""
    from ecgbench.bench.results import load_store
    from ecgbench.scaling.recommend import candidates, zoo_fp32_scores
    from ecgbench.scaling.recommend import recommend as pick

    budget_ms = budget_ms or [5.0, 10.0, 20.0]
    trials = None
    if study:
        from ecgbench.scaling.sweep import trials_frame

        trials = trials_frame(storage, study)
    c = candidates(load_store(store, machine=machine), device, precision, backend, trials,
                   zoo_fp32_scores())  # fmt: skip
    t = Table(title=f"best model under a latency budget — {device} {precision}")
    for col in ("budget ms", "model", "backend", "median ms", "latency", "score", "Δ vs FP32",
                "AUROC"):  # fmt: skip
        t.add_column(col)
    for b in budget_ms:
        r = pick(c, b)
        if r is None:
            t.add_row(f"{b:g}", "[yellow]nothing fits[/]", *[""] * 6)
        else:
            t.add_row(f"{b:g}", str(r["model"]), str(r["backend"]), f"{r['median_ms']:.3f}",
                      str(r["latency"]), _fmt(r["challenge_score"]), _fmt(r["score_drop"]),
                      _fmt(r["auroc"]))  # fmt: skip
    out.print(t)


def main() -> None:
    """Console entry point: user errors become one line on stderr and a non-zero exit."""
    try:
        app()
    except EcgbenchError as e:  # raised outside a command (e.g. while parsing)
        err.print(f"[red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        sys.exit(130)


if __name__ == "__main__":
    main()
