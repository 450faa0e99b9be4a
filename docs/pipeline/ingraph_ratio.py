"""End to end, in the graph over the Python pipeline, per model and precision of one run document.

    python docs/pipeline/ingraph_ratio.py RUN.json

Both rows were timed in the same interleaved rounds (``run --pipeline``), so the ratio is paired
per round as ``ecgbench speedup`` pairs model-only rows: each round's median of NAME_ingraph's
end-to-end calls over NAME's, geometric mean and 95 % t-interval over the rounds.
"""

from __future__ import annotations

import sys

from ecgbench.bench.probes.pipeline import paired_over
from ecgbench.bench.results.document import read_run

rows = {(r.model, r.precision): r.pipeline for r in read_run(sys.argv[1]).rows if r.pipeline}
for (model, precision), p in sorted(rows.items()):
    q = rows.get((f"{model}_ingraph", precision))
    if q is None or model.endswith("_ingraph"):
        continue
    mid, lo, hi, rounds = paired_over(q, p)
    print(
        f"{model} {precision}: Python pipeline {p.median_ms:.3f} ms, in the graph "
        f"{q.median_ms:.3f} ms: ×{mid:.3f} [{lo:.3f}, {hi:.3f}] over {rounds} rounds"
    )
