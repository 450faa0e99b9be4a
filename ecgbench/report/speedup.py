"""How much faster one variant is than another *in the same run*, with its interval, or a tie.

Variants of one run are timed in interleaved rounds, a few seconds apart, so drift of a busy
machine hits both sides of a round alike: the unit is the round. Each round gives the ratio of the
two variants' slice medians; the ratio is the median of those, and its 95 % interval comes from
resampling rounds (calls within a slice are not independent). A ratio whose interval holds 1 is
a tie, never a ranking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.pairing import pair_key, paired_round_ratios
from ecgbench.errors import BadInputError
from ecgbench.statistics import ABOVE, BELOW, interval_verdict, median_ci

FASTER, SLOWER, TIE = "faster", "slower", "tie"


@dataclass
class Speedup:
    model: str
    backend: str
    precision: str
    executed: str | None
    base: str  # "backend precision (executed)" of the base row
    median_ms: float
    base_ms: float
    time_ratio: float  # this row's time over the base row's: < 1 is faster
    ci_low: float
    ci_high: float
    rounds: int
    verdict: str  # faster / slower / tie

    @property
    def speedup(self) -> float:
        return 1.0 / self.time_ratio


def _verdict(lo: float, hi: float) -> str:
    """A time ratio's interval: faster below 1, slower above, a tie where it holds 1."""
    return {BELOW: FASTER, ABOVE: SLOWER}.get(interval_verdict(lo, hi, null=1.0), TIE)


def speedups(
    doc: RunDocument, base_precision: str = "fp32", base_backend: str | None = None
) -> list[Speedup]:
    """Every latency row against the same model's ``base_precision`` row (same backend, or
    ``base_backend``) of the same run, device and batch."""
    rows = [r for r in doc.rows if r.scenario == "latency"]
    bases = {pair_key(r): r for r in rows if r.precision == base_precision}
    if not bases:
        raise BadInputError(f"the run has no {base_precision} latency row to compare against")
    out = []
    for r in rows:
        b = bases.get(
            pair_key(r)._replace(backend=base_backend or r.backend, precision=base_precision)
        )
        if b is None or b is r:
            continue
        ratios = paired_round_ratios(b, r)
        if len(ratios) < 3:
            continue
        lo, hi = median_ci(ratios)
        out.append(
            Speedup(
                model=r.model,
                backend=r.backend,
                precision=r.precision,
                executed=r.executed,
                base=f"{b.backend} {b.precision} ({b.executed})",
                median_ms=r.latency.median_ms,
                base_ms=b.latency.median_ms,
                time_ratio=float(np.median(ratios)),
                ci_low=lo,
                ci_high=hi,
                rounds=len(ratios),
                verdict=_verdict(lo, hi),
            )
        )
    return out
