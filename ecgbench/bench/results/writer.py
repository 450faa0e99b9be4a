"""The run document while the run goes on: rebuilt from the samples so far, written atomically,
a partial one every few seconds so that a killed run still leaves its rows."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ecgbench.bench.references import ReferenceWorkloads
from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.rows import result_rows
from ecgbench.bench.suite import Suite
from ecgbench.bench.timing import StopRule
from ecgbench.bench.variants import LoadedVariant


@dataclass
class RunWriter:
    doc: RunDocument
    plan: Suite
    threads: int
    loaded: list[LoadedVariant]
    refs: ReferenceWorkloads
    rule: StopRule
    output: Path | None
    every_s: float = 5.0
    last_write: float = field(default_factory=time.monotonic)

    def build(self, complete: bool) -> RunDocument:
        """``doc`` with the references and a row per variant from the samples so far."""
        ceilings = self.refs.record(self.doc)
        self.doc.rows = result_rows(
            self.loaded, self.plan, self.threads, ceilings, self.rule, complete
        )
        self.doc.complete = complete
        return self.doc

    def maybe_write(self) -> None:
        """A partial document (``complete: false``) when the last write is ``every_s`` old."""
        if self.output and time.monotonic() - self.last_write > self.every_s:
            self.build(False).write(self.output)
            self.last_write = time.monotonic()

    def write(self) -> None:
        """``doc`` as it stands (not rebuilt: a crosscheck may have added to its rows)."""
        if self.output:
            self.doc.write(self.output)
