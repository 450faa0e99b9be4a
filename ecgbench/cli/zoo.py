"""`ecgbench zoo`: list, verify and add models in models/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ecgbench.cli._app import app
from ecgbench.cli._format import fmt, out
from ecgbench.errors import BadInputError, EcgbenchError

zoo_app = typer.Typer(help="The model zoo in models/: list, verify, add.", no_args_is_help=True)
app.add_typer(zoo_app, name="zoo")


@zoo_app.command("list")
def zoo_list(
    zoo_dir: Annotated[Path | None, typer.Option(help="Zoo folder (default: models/)")] = None,
) -> None:
    """Trained models with family, params, FLOPs and fold-9 / fold-10 scores."""
    from ecgbench.zoo import Zoo

    zoo = Zoo(zoo_dir)
    if not zoo.entries:
        raise EcgbenchError(f"the zoo at {zoo.root} is empty (no {zoo.manifest.name})")
    t = Table(title=f"ecgbench zoo ({zoo.root})")
    for col in (
        "model",
        "family",
        "params",
        "MFLOPs",
        "input",
        "val score",
        "val AUROC",
        "test score",
        "test AUROC",
        "INT8 IR",
    ):
        t.add_column(col, justify="left" if col in ("model", "family") else "right")
    for n in zoo.names():
        e = zoo.entries[n]
        val, test = e.metrics.get("val", {}), e.metrics.get("test", {})
        t.add_row(
            n,
            "brought" if e.brought else e.family,
            f"{e.params / 1e6:.2f} M",
            f"{e.flops / 1e6:.0f}",
            "×".join(map(str, e.input_shape)),
            fmt(val.get("challenge_score")),
            fmt(val.get("auroc")),
            fmt(test.get("challenge_score")),
            fmt(test.get("auroc")),
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


CARD_HELP = """A model card (TOML), needed for an ONNX or IR file. Every key is required:

[input] fs (Hz; records are resampled to it), seconds (window), leads (names, in the order of the
model's input channels; records are reordered by their header's lead names), layout ("NCL" =
[batch, leads, samples] or "NLC"), units ("mV" or "uV").

[preprocess] steps: applied in order after resampling, [] = raw; bandpass(lo, hi, order),
highpass(hz, order), median_baseline(window_samples), mean_baseline(window_samples), zscore,
clip(lo, hi).

[output] classes (one per output column), labels ("snomed": header #Dx codes;
"ptbxl-superclass" / "ptbxl-statement": metadata.csv scp_codes), activation ("sigmoid",
"softmax", or "none" for probabilities), threshold (one number or one per class)."""


@zoo_app.command("add")
def zoo_add(
    path: Annotated[
        Path,
        typer.Argument(
            help="An ecgbench checkpoint (.pt), an ONNX file, or an OpenVINO IR (.xml beside .bin)"
        ),
    ],
    card: Annotated[Path | None, typer.Option(help=CARD_HELP)] = None,
    name: Annotated[str | None, typer.Option(help="Zoo name (default: file stem)")] = None,
    zoo_dir: Annotated[Path | None, typer.Option(help="Zoo folder (default: models/)")] = None,
) -> None:
    """Register a model: a trained checkpoint, or your own ONNX / IR file described by --card.

    A brought model is checked against its card (input shape vs fs x seconds, channels vs leads,
    layout, output width vs classes), copied to models/brought/NAME/ and recorded with its sha256
    and card; a file that changes later is refused. It runs no code: no pickle, no custom ops.
    """
    from ecgbench.zoo import Zoo

    zoo = Zoo(zoo_dir)
    if card is not None or path.suffix.lower() in (".onnx", ".xml"):
        from ecgbench.zoo_brought import add_brought

        if card is None:
            raise BadInputError(f"{path}: a brought model needs --card CARD.toml")
        e = add_brought(zoo, path, card, name)
        out.print(
            f"added {e.name} (brought, {e.file}): {e.params:,} params, "
            f"{e.flops / 1e6:.1f} MFLOPs at {list(e.input_shape)}, sha256 {e.sha256}"
        )
        return
    e = zoo.add(path, name)
    out.print(f"added {e.name}: {e.params:,} params, {e.flops / 1e6:.1f} MFLOPs, sha256 {e.sha256}")
