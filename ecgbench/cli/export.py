"""`ecgbench export` and `ecgbench evaluate`: the variants and their accuracy as executed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ecgbench.cli._app import app
from ecgbench.cli._format import err, fmt, out
from ecgbench.errors import EcgbenchError


def _export_options(
    cache_dir: Path | None, force: bool, calibration: Path | None, calibration_size: int,
    max_drop: float | None,
):  # fmt: skip
    from ecgbench.export.build import ExportOptions
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
    from ecgbench.export.build import parse_formats, parse_precisions
    from ecgbench.export.pipeline import export_models
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
    from ecgbench.accuracy.evaluate import evaluate_variant, store_variant_scores
    from ecgbench.backends import BACKENDS, precisions_of, precisions_summary
    from ecgbench.data.folds import parse_folds
    from ecgbench.export.build import parse_precisions
    from ecgbench.fileio import atomic_write_json
    from ecgbench.precision import PRECISIONS, PrecisionUnsupportedError
    from ecgbench.variant import Variant
    from ecgbench.zoo import Zoo

    z = Zoo()
    names = z.names() if model == "all" else [m.strip() for m in model.split(",")]
    backends = list(BACKENDS) if backend == "all" else backend.split(",")
    precs = parse_precisions(precision, PRECISIONS)
    rests = [r.strip().lower() for r in int8_rest.split(",") if r.strip()] or ["f32"]
    combos = [(m, b, p) for m in names for b in backends for p in precs
              if b not in BACKENDS or p in precisions_of(b)]  # fmt: skip
    if not combos:
        raise EcgbenchError(f"no backend runs that precision ({precisions_summary()})")
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
            sub = Variant(m, b, p).slug + (f"-{rest}" if rest != "f32" else "")
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
            t.add_row(m, b, p, vs.executed or "?", str(vs.n_records), fmt(sc.challenge_score, 4),
                      fmt(sc.auroc, 4), fmt(sc.auprc, 4), fmt(sc.accuracy, 4),
                      fmt(sc.f_measure, 4))  # fmt: skip
            for prob in vs.skipped:
                err.print(f"[yellow]skipped[/] {prob}")
            if store_in_zoo:
                store_variant_scores(z, vs, "ecgbench " + " ".join(sys.argv[1:]))
    out.print(t)
    if json_out:
        atomic_write_json(json_out, results[0] if len(results) == 1 else results)
