"""The table ``ecgbench run --pipeline`` prints: end to end beside model-only, with the split."""

from __future__ import annotations

from rich.table import Table

from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.schema import ResultRow


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def _times(r: ResultRow) -> str:
    """End-to-end over model-only with its interval, or a tie-free "–" without enough rounds."""
    p = r.pipeline
    if p is None or p.over_inference is None or not p.over_inference_ci95:
        return "–"
    lo, hi = p.over_inference_ci95
    return f"×{p.over_inference:.2f} [{lo:.2f}, {hi:.2f}]"


def _median(r: ResultRow) -> str:
    p = r.pipeline
    assert p is not None
    if not p.median_ci95:
        return _ms(p.median_ms)
    lo, hi = p.median_ci95
    return f"{p.median_ms:.3f} [{lo:.3f}, {hi:.3f}]"


def pipeline_rows(doc: RunDocument) -> list[ResultRow]:
    return [r for r in doc.rows if r.pipeline is not None]


def pipeline_table(doc: RunDocument) -> Table | None:
    """None when no row was timed end to end."""
    rows = pipeline_rows(doc)
    if not rows:
        return None
    t = Table(title="end to end: raw window -> preprocessing -> model -> decisions (median ms)")
    for c, left in (
        ("model", True),
        ("backend", True),
        ("ran as", True),
        ("end-to-end [95% CI]", False),
        ("pre", False),
        ("infer", False),
        ("post", False),
        ("model-only", False),
        ("e2e ÷ model-only", False),
    ):
        t.add_column(c, justify="left" if left else "right")
    for r in rows:
        p = r.pipeline
        assert p is not None
        t.add_row(
            r.model,
            r.backend,
            r.executed or r.precision,
            _median(r),
            _ms(p.preprocess.median_ms),
            _ms(p.inference.median_ms),
            _ms(p.post.median_ms),
            _ms(r.latency.median_ms),
            _times(r),
        )
    return t


def pipeline_note(doc: RunDocument) -> str:
    """What fed the end-to-end calls, and how to read the split."""
    rows = pipeline_rows(doc)
    inputs = sorted({r.pipeline.input for r in rows if r.pipeline})
    fed = "; ".join(inputs) or "nothing"
    synthetic = any(r.pipeline and r.pipeline.source == "synthetic" for r in rows)
    hint = (
        " (no --data / ECGBENCH_DATA: the timing of real records may differ)" if synthetic else ""
    )
    return (
        f"input: {fed}{hint}. pre: resample, the card's filters and normalisation; infer: bind, "
        "infer, read the output; post: activation and thresholds; each the median per call (the "
        "split's medians need not add to the end-to-end median exactly). model-only: the same "
        "variant from a preprocessed tensor, timed in the same rounds; e2e ÷ model-only: paired "
        "per round, geometric mean and 95% t-interval."
    )
