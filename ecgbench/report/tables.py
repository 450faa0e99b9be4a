"""The report's HTML tables: human column names, numbers rounded to what they can say, and a box
that scrolls sideways instead of running off a 1,400 px page."""

from __future__ import annotations

import math

import pandas as pd

HUMAN = {
    "median_ms": "median ms",
    "p90_ms": "p90 ms",
    "p99_ms": "p99 ms",
    "throughput_fps": "fps",
    "gflops": "GFLOP/s",
    "gemm_fraction": "of GEMM ceiling",
    "ceiling": "ceiling of",
    "int8_layers": "int8 layers",
    "total_layers": "layers",
    "challenge_score": "score",
    "auroc": "AUROC",
    "auroc_drop": "FP32 − it (AUROC)",
    "score_drop": "FP32 − it",
    "accuracy_note": "score note",
    "precision_note": "precision note",
    "run_id": "run",
    "cpu_model": "CPU",
    "isa": "ISA",
    "logical_cpus": "logical CPUs",
    "os": "OS",
    "budget_ms": "budget ms",
    "budgets_ms": "budgets ms",
    "executed": "ran as",
    "layer_type": "layer type",
    "exec_type": "kernel",
}
SCORES = {"challenge_score", "auroc", "score_drop", "auroc_drop", "fp32_score", "fp32_auroc"}
SCORE_CI = ("challenge_score_ci_low", "challenge_score_ci_high")


def human(col: str) -> str:
    """``median_ms`` -> ``median ms``; unknown names: underscores to spaces, units kept."""
    if col in HUMAN:
        return HUMAN[col]
    out = col.replace("_", " ").replace("rss", "RSS")
    for unit, shown in ((" ms", " ms"), (" mb", " MB"), (" gflops", " GFLOP/s")):
        if out.endswith(unit):
            out = out[: -len(unit)] + shown
    return out


def decimals_for(width: float) -> int:
    """Decimals that show an interval of ``width``: its first significant digit, 2 to 4."""
    if not width or not math.isfinite(width) or width <= 0:
        return 3
    return max(2, min(4, -math.floor(math.log10(width))))


def _number(col: str, v: float) -> str:
    if pd.isna(v):
        return ""
    if col in SCORES:
        if col.endswith("_drop"):
            return "0.000" if round(v, 3) == 0 else f"{v:+.3f}"
        return f"{v:.3f}"
    if col == "gemm_fraction":
        return f"{v:.0%}"
    if col in ("throughput_fps", "int8_layers", "total_layers") or float(v).is_integer():
        return f"{v:.0f}"
    return f"{v:.3g}" if abs(v) >= 1e-3 else f"{v:.1e}"


def score_with_interval(df: pd.DataFrame) -> pd.Series:
    """``0.42 [0.35, 0.48]``: the score rounded to the first digit its interval can tell."""
    lo, hi = (df[c] if c in df else pd.Series(float("nan"), index=df.index) for c in SCORE_CI)
    out = []
    for s, a, b in zip(df["challenge_score"], lo, hi, strict=True):
        if pd.isna(s):
            out.append("")
        elif pd.isna(a) or pd.isna(b):
            out.append(f"{s:.3f}")
        else:
            d = decimals_for(float(b) - float(a))
            out.append(f"{s:.{d}f} [{a:.{d}f}, {b:.{d}f}]")
    return pd.Series(out, index=df.index)


def html_table(df: pd.DataFrame, cols: list[str], max_rows: int = 2000) -> str:
    """``cols`` of ``df`` (those present) as an HTML table in a sideways-scrolling box."""
    cols = [c for c in cols if c in df.columns]
    d = df[cols].head(max_rows).copy()
    if "challenge_score" in d and any(c in cols for c in SCORE_CI):
        d["challenge_score"] = score_with_interval(df.head(max_rows))
        d = d.drop(columns=[c for c in SCORE_CI if c in d])
        d = d.rename(columns={"challenge_score": "score [95% CI]"})
    for c in d.columns:
        if d[c].dtype.kind == "f":
            d[c] = [_number(c, v) for v in d[c]]
    d = d.rename(columns={c: human(c) for c in d.columns})
    note = (
        f'<p class="note">showing {max_rows} of {len(df)} rows (all rows: rows.csv)</p>'
        if len(df) > max_rows
        else ""
    )
    return note + '<div class="scroll">' + d.to_html(index=False, na_rep="–", border=0) + "</div>"
