"""What ``ecgbench run`` was asked beyond the suite: where results go and what else to measure."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ecgbench.export.build import ExportOptions


@dataclass
class RunOptions:
    export: ExportOptions = field(default_factory=ExportOptions)
    output: Path | None = None
    store: str | None = None  # a database URL or folder; None: $ECGBENCH_RESULTS or ./results
    machine_name: str | None = None  # how the store names this machine (default: from the CPU)
    use_store: bool = True
    crosscheck: bool = False
    crosscheck_rounds: int = 32  # ABBA rounds of 1 s bursts per OpenVINO row
    profile: bool = False  # OpenVINO rows: per-layer counters after timing (row.extra["profile"])
    verify: bool = True
    show_progress: bool = True
    # Raw records that feed ``--pipeline`` rows (None: the synthetic ECG, said in the table)
    data: Path | None = None
    command: str = ""
