"""What every run times beside its variants: a GEMM ceiling per arithmetic and a reference model.

They are timed in the same interleaved rounds as the variants, so machine drift moves them alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecgbench.bench.ceilings import GemmCeiling, build_ceilings, ceiling_arithmetics
from ecgbench.bench.fingerprint import ModelReference
from ecgbench.bench.results import RunDocument
from ecgbench.bench.timing import LatencyStats, TimedVariant
from ecgbench.precision import Arithmetic


@dataclass
class References:
    ceilings: list[GemmCeiling]
    ceiling_timed: list[TimedVariant]
    model: ModelReference
    model_timed: TimedVariant

    @classmethod
    def build(cls, threads: int, cpu: Arithmetic, log) -> References:
        """A ceiling for each arithmetic ``cpu`` executes, then the reference model."""
        arithmetics = ceiling_arithmetics(cpu.float_types(), cpu.executes("int8"))
        ceilings = build_ceilings(threads, arithmetics)
        for c in ceilings:
            if not c.as_asked:
                log(f"[yellow]ceiling[/] the {c.arithmetic} GEMM executed as {c.executed}")
        ceiling_timed = [TimedVariant(label=c.label, run=c.run) for c in ceilings]
        model = ModelReference(threads)
        return cls(ceilings, ceiling_timed, model, TimedVariant(label=model.label, run=model.run))

    @property
    def timed(self) -> list[TimedVariant]:
        return [*self.ceiling_timed, self.model_timed]

    def record(self, doc: RunDocument) -> dict[str, float]:
        """Put what was timed so far into ``doc``; returns the GFLOP/s of each arithmetic's GEMM."""
        gemm, gemm_timed = self.ceilings[0], self.ceiling_timed[0]  # f32: the gate's "gemm"
        gemm_gflops = None
        per_arith: dict[str, float] = {}
        if gemm_timed.samples_ns:
            doc.reference = _ceiling_doc(gemm, gemm_timed)
            gemm_gflops = doc.reference["gflops"]
            doc.reference["ceilings"] = {
                c.arithmetic: _ceiling_doc(c, t)
                for c, t in zip(self.ceilings, self.ceiling_timed, strict=True)
                if t.samples_ns
            }
            per_arith = {a: d["gflops"] for a, d in doc.reference["ceilings"].items()}
        doc.fingerprint["gemm_gflops"] = gemm_gflops
        doc.fingerprint["ceilings_gflops"] = per_arith
        if self.model_timed.samples_ns:
            doc.reference["model"] = {
                "label": self.model.label,
                "median_ms": LatencyStats.from_ns(self.model_timed.samples_ns).median_ms,
                "samples_ns": list(self.model_timed.samples_ns),
                "slices": [list(x) for x in self.model_timed.slices],
            }
        return per_arith


def _ceiling_doc(c: GemmCeiling, t: TimedVariant) -> dict[str, Any]:
    st = LatencyStats.from_ns(t.samples_ns)
    return {
        "label": c.label,
        "arithmetic": c.arithmetic,
        "executed": c.executed,
        "as_asked": c.as_asked,
        "n": c.n,
        "median_ms": st.median_ms,
        "gflops": c.gflops(st.median_ms * 1e6),
        "samples_ns": list(t.samples_ns),
        "slices": [list(x) for x in t.slices],
    }
