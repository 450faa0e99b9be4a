"""The gate commands' options, named once (`compare`, `gate`): their flags, defaults and help."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# (GateSettings checks the values: one line, exit 2)
PowerOption = Annotated[
    float, typer.Option(help="Power at which a key's detectable slowdown is stated")
]
MultiplicityOption = Annotated[
    str, typer.Option(help="none (each key at alpha) or holm (the run's keys jointly)")
]

# compare's options that take more than a line
BaselineFromOption = Annotated[
    str | None, typer.Option(help="Take the baseline from this store (give only CURRENT)")
]
MachineOption = Annotated[
    str | None, typer.Option(help="--baseline-from: machine name or id (default: CURRENT's)")
]
StoreSuiteOption = Annotated[
    str | None, typer.Option(help="--baseline-from: suite (default: CURRENT's)")
]
WindowOption = Annotated[
    int, typer.Option(min=1, help="--baseline-from: merge the last N runs as the baseline")
]
BaselineDirOption = Annotated[
    Path | None,
    typer.Option(help="Choose the baseline for CURRENT's machine among these run JSONs"),
]
AllowDifferentMachineOption = Annotated[
    bool, typer.Option(help="Compare across fingerprints (relies on the normalisation)")
]
NoNormaliseOption = Annotated[
    bool, typer.Option("--no-normalise", help="Do not divide by the reference workload")
]
ReferenceOption = Annotated[
    str, typer.Option(help="Reference workload: model (a fixed ConvNeXt) or gemm")
]
PairingOption = Annotated[
    str, typer.Option(help="round: normalise slice by slice; run: whole-run medians")
]
AbOption = Annotated[
    tuple[Path, Path] | None,
    typer.Option("--ab", help="OLD NEW artifacts (.xml/.onnx/.pt) timed interleaved now"),
]
AbConfirmOption = Annotated[
    bool,
    typer.Option(help="--ab: re-time a flagged key with A and B swapped before failing"),
]

# gate's options that take more than a line
BaseOption = Annotated[
    str, typer.Option(help="Base: a git revision (origin/main, HEAD~1) or a folder")
]
ModeOption = Annotated[
    str, typer.Option(help="auto (from what changed), models, code or libraries")
]
GateDurationOption = Annotated[
    float | None, typer.Option(help="Seconds per variant (default: the profile's)")
]
OutputDirOption = Annotated[Path | None, typer.Option(help="Keep both sides' run documents here")]
GateConfirmOption = Annotated[
    bool, typer.Option(help="Re-time flagged keys before failing (--no-confirm: once)")
]
ZooOption = Annotated[
    str | None,
    typer.Option(
        help="The zoo folder in each side (your own repository's models/ and cards, "
        "ecgbench installed as a package): both zoos timed in one process"
    ),
]
DataOption = Annotated[
    Path | None,
    typer.Option(
        help="Real records: every timed key whose model differs is also scored, base and "
        "head on the same records (the accuracy guard; off without it)"
    ),
]
MaxScoreDropOption = Annotated[
    float, typer.Option(help="Accuracy regression: the paired drop's interval above this")
]
MinAgreementOption = Annotated[
    float, typer.Option(help="Accuracy regression without labels: agreement below this")
]
AccuracyRecordsOption = Annotated[
    int, typer.Option(help="Records scored per side (evenly spread over fold 10)")
]
