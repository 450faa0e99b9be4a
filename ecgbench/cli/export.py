"""`ecgbench export`: the zoo's variants (ONNX, IR; FP32, FP16, INT8), cached and verified."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ecgbench.cli._app import app
from ecgbench.cli._format import err, out
from ecgbench.errors import BadInputError

if TYPE_CHECKING:  # the command imports its libraries when it runs
    pass


def export_options(
    cache_dir: Path | None,
    force: bool,
    calibration: Path | None,
    calibration_size: int,
    max_drop: float | None,
    smooth_quant: bool | None = None,
):
    from ecgbench.export.build import ExportOptions
    from ecgbench.export.quantize import QuantSettings

    return ExportOptions(
        cache_dir=cache_dir,
        force=force,
        calibration_dir=calibration,
        quant=QuantSettings(
            subset_size=calibration_size, max_drop=max_drop, smooth_quant=smooth_quant
        ),
    )


SmoothQuantOption = Annotated[
    bool | None,
    typer.Option(
        "--smooth-quant/--no-smooth-quant",
        help="INT8: NNCF SmoothQuant on the MatMuls on / off (default: NNCF's default for the "
        "transformer model type, on; the zoo's bundled artifact records its choice)",
    ),
]


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
    smooth_quant: SmoothQuantOption = None,
    preprocess_in_graph: Annotated[
        bool,
        typer.Option(
            "--preprocess-in-graph",
            help="Compile the band-pass (FIR layers) and z-score into the graph: a new zoo model "
            "NAME_ingraph that takes the raw window, accepted only where its decisions agree with "
            "the scipy pipeline's on --data records",
        ),
    ] = False,
    data: Annotated[
        Path | None,
        typer.Option(
            help="--preprocess-in-graph: labelled records to check it on (default "
            "$ECGBENCH_DATA; fold 10 where the folder has folds)"
        ),
    ] = None,
) -> None:
    """Export zoo models to ONNX and OpenVINO IR (FP32 / FP16 / INT8), cached and verified."""
    from ecgbench.export.build import parse_formats, parse_precisions
    from ecgbench.export.pipeline import export_models
    from ecgbench.zoo import Zoo

    z = Zoo()
    names = z.names() if model == "all" else [m.strip() for m in model.split(",")]
    if preprocess_in_graph:
        _export_in_graph(z, [n for n in names if model != "all" or not z.entries[n].brought], data)
        return
    opts = export_options(cache_dir, force, calibration, calibration_size, max_drop, smooth_quant)
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
            v.model,
            v.format,
            v.precision,
            v.source,
            f"{v.seconds:.1f}",
            f"{calib:.1f}" if calib else "–",
            ("[red]" if v.verification and not v.verification.passed else "") + escape(ver),
        )
    out.print(t)
    for v in vs:
        out.print(f"{v.model} {v.format} {v.precision}: {v.path}", highlight=False)
    if failed:
        err.print(f"[red bold]{failed} variant(s) failed verification[/]")
        raise typer.Exit(1)


def _export_in_graph(z, names: list[str], data: Path | None) -> None:
    from ecgbench.export.ingraph import export_in_graph
    from ecgbench.export.sources import default_data_dir

    d = data if data is not None else default_data_dir()
    if d is None:
        raise BadInputError(
            "--preprocess-in-graph is checked on real records: give --data DIR (or $ECGBENCH_DATA)"
        )
    if not d.is_dir():
        raise BadInputError(f"--data {d}: no such folder")
    for n in names:
        if z.get(n).brought:
            raise BadInputError(
                f"{n} is a brought model: its preprocessing is its card's, not ours"
            )
    t = Table(title=f"preprocessing in the graph, checked against the scipy pipeline on {d}")
    for c in (
        "model",
        "from",
        "band-pass",
        "records",
        "agreement",
        "score drop [95% CI]",
        "verdict",
    ):
        t.add_column(c)
    for n in names:
        r = export_in_graph(z, n, d)
        c = r.check
        drop = "–" if c.drop is None else f"{c.drop:+.3f} [{c.drop_lo:+.3f}, {c.drop_hi:+.3f}]"
        t.add_row(
            r.entry.name, n, escape(r.design.summary()), str(c.n_records),
            f"{c.agreement:.3f}", drop, c.verdict,
        )  # fmt: skip
    out.print(t)
    out.print(
        "accepted: its decisions agree with the scipy pipeline's on >= 0.99 of (record, class) "
        "pairs and the paired drop's interval is not wholly above 0.01. It is a zoo model now "
        "(a brought one whose card takes the raw window): `ecgbench run --model NAME --pipeline`, "
        "`ecgbench evaluate --model NAME --zoo` (its scores in the manifest).",
        style="dim",
        highlight=False,
    )
