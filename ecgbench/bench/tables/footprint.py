"""The second table ``ecgbench run --footprint`` prints: memory and start-up per variant."""

from __future__ import annotations

from rich.table import Table

from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.schema import ResultRow

NOTE = (
    "each variant in fresh processes (docs/footprint.md); MB = 10^6 bytes. base: RSS after the "
    "imports, before loading; compile / infer: peak RSS above base while compiling / inferring; "
    "cold / warm: compile time with an empty / a filled compile cache (torch eager has none); "
    "first: process spawned to its first output (cold). One process each: single readings, "
    "no interval"
)


def _f(v: float | None, fmt: str) -> str:
    return "–" if v is None else format(v, fmt)


def measured(r: ResultRow) -> bool:
    return r.footprint.model_bytes is not None or r.footprint.peak_rss_infer_mb is not None


def footprint_table(doc: RunDocument) -> Table | None:
    """None when no row has a footprint (a run without ``--footprint``)."""
    rows = [r for r in doc.rows if measured(r)]
    if not rows:
        return None
    t = Table(title="footprint")
    cols = (
        "model",
        "backend",
        "device",
        "asked",
        "model MB",
        "base MB",
        "compile MB",
        "infer MB",
        "cold ms",
        "warm ms",
        "first ms",
    )
    for c in cols:
        t.add_column(c, justify="left" if c in ("model", "backend", "device") else "right")
    for r in rows:
        f = r.footprint
        t.add_row(
            r.model,
            r.backend,
            r.device,
            r.precision,
            _f(None if f.model_bytes is None else f.model_bytes / 1e6, ".2f"),
            _f(f.rss_baseline_mb, ".1f"),
            _f(f.peak_rss_compile_mb, ".1f"),
            _f(f.peak_rss_infer_mb, ".1f"),
            _f(f.compile_cold_ms, ".1f"),
            _f(f.compile_warm_ms, ".1f"),
            _f(f.first_result_ms, ".0f"),
        )
    t.caption = NOTE
    return t
