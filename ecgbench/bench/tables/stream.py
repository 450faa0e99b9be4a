"""The table ``ecgbench run --scenario stream`` prints beside the results table: the stream's
accounting per row (counts of this run, the real-time factor with its interval over windows)."""

from __future__ import annotations

from rich.table import Table

from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.scenarios.stream.scenario import rtf_text


def _pre(s) -> str:
    if s.preprocess == "none" or s.preprocess_median_ms is None:
        return "–"
    return f"{s.preprocess} {s.preprocess_median_ms:.3f}"


def stream_table(doc: RunDocument) -> Table | None:
    """None when no row streamed."""
    rows = [r for r in doc.rows if r.stream is not None]
    if not rows:
        return None
    t = Table(title="stream: a window every hop, newest first (late or dropped = missed)")
    cols = (
        "model",
        "backend",
        "asked",
        "window s",
        "hop s",
        "windows",
        "late",
        "dropped",
        "miss rate",
        "service median ms",
        "of it preprocessing",
        "response p90 ms",
        "real-time factor (95% CI)",
        "background",
    )
    for c in cols:
        t.add_column(c, justify="left" if c in ("model", "backend", "asked") else "right")
    for r in rows:
        s = r.stream
        assert s is not None
        t.add_row(
            r.model,
            r.backend,
            r.precision,
            f"{s.window_s:g}",
            f"{s.hop_s:g}",
            str(s.windows),
            str(s.late),
            str(s.dropped),
            f"{s.deadline_miss_rate:.0%}",
            "–" if s.service_median_ms is None else f"{s.service_median_ms:.3f}",
            _pre(s),
            f"{r.latency.p90_ms:.3f}",
            rtf_text(s),
            str(s.background),
        )
    t.caption = (
        "real-time factor: seconds of signal per second of compute (hop / mean service time); "
        "counts are this run's, not a rate with an interval. of it preprocessing: with "
        "--stream-preprocess, raw samples arrive and each service also runs the causal "
        "preprocessing (fir: linear phase, the zero-phase shape delayed; iir: Butterworth run "
        "forwards), its median per window; – : the windows arrived preprocessed"
    )
    return t
