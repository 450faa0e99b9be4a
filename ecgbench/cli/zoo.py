"""`ecgbench zoo`: list, verify and add models in models/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ecgbench.cli._app import app
from ecgbench.cli._format import fmt, out
from ecgbench.errors import EcgbenchError

zoo_app = typer.Typer(help="The model zoo in models/: list, verify, add.", no_args_is_help=True)
app.add_typer(zoo_app, name="zoo")


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
    for col in (
        "model",
        "params",
        "MFLOPs",
        "input",
        "val score",
        "val AUROC",
        "test score",
        "test AUROC",
        "INT8 IR",
    ):
        t.add_column(col, justify="left" if col == "model" else "right")
    for n in zoo.names():
        e = zoo.entries[n]
        val, test = e.metrics.get("val", {}), e.metrics.get("test", {})
        t.add_row(
            n,
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
