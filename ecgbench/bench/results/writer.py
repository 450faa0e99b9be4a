"""The run document while the run goes on: rebuilt from the samples so far, written atomically,
a partial one every few seconds so that a killed run still leaves its rows."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.schema import ResultRow

if TYPE_CHECKING:
    from ecgbench.bench.lifecycle import Pair, Scenario
    from ecgbench.bench.references import ReferenceWorkloads
    from ecgbench.bench.variants import LoadedVariant


@dataclass
class RunWriter:
    doc: RunDocument
    scenario: Scenario
    loaded: list[LoadedVariant]
    refs: ReferenceWorkloads
    output: Path | None
    every_s: float = 5.0
    last_write: float = field(default_factory=time.monotonic)

    def build(self, complete: bool) -> list[Pair]:
        """``doc`` with the references and a row per variant from the samples so far; the rows
        beside their variants."""
        ceilings = self.refs.record(self.doc)
        pairs = self.scenario.rows(self.loaded, ceilings, complete)
        self.doc.rows = [r for _, r in pairs]
        self.doc.complete = complete
        return pairs

    def maybe_write(self) -> None:
        """A partial document (``complete: false``) when the last write is ``every_s`` old."""
        if self.output and time.monotonic() - self.last_write >= self.every_s:
            self.build(False)
            self.doc.write(self.output)
            self.last_write = time.monotonic()

    def save(self, rows: list[ResultRow]) -> None:
        """``doc`` with ``rows`` (a probe's groups merged in), written as it stands."""
        self.doc.rows = rows
        if self.output:
            self.doc.write(self.output)
