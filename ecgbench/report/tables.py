"""The report's HTML tables: human column names, numbers rounded to what they can say, and a box
that scrolls sideways instead of running off a 1,400 px page."""

from __future__ import annotations

import html
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


MAX_ROWS_SHOWN = 300  # the page's rows table; rows.csv holds every row
ROW_COLUMNS = [
    "machine",
    "model",
    "backend",
    "device",
    "precision",
    "executed",
    "scenario",
    "batch",
    "median_ms",
    "p90_ms",
    "p99_ms",
    "throughput_fps",
    "gflops",
    "gemm_fraction",
    "ceiling",
    "int8_layers",
    "total_layers",
    "challenge_score",
    "auroc",
    "accuracy_note",
    "precision_note",
    "run_id",
]
MACHINE_COLUMNS = [
    "machine",
    "cpu_model",
    "isa",
    "executes natively",
    "GEMM ceilings GFLOP/s",
    "threads",
    "logical_cpus",
    "os",
    "versions",
    "hostname",
]


def rows_section(df: pd.DataFrame) -> str:
    """Every row; a percentile from too few samples to be an estimate is marked ``*``."""
    from ecgbench.statistics import REPORTED, min_samples

    d, bad = df.copy(), []
    for name, q in REPORTED.items():
        col, ok = f"{name}_ms", f"{name}_valid"
        if col not in d or ok not in d:
            continue
        invalid = d[ok].eq(False)  # None (unknown) is not marked
        if invalid.any():
            bad.append(f"{name} from n &lt; {min_samples(q)} samples")
        d[col] = [
            "" if pd.isna(v) else f"{v:.3g}" + ("*" if x else "")
            for v, x in zip(d[col], invalid, strict=True)
        ]
    note = (
        f"<p class='note'>* {', '.join(bad)}: not a valid estimate (MLPerf LoadGen's rule; "
        "<code>ecgbench run --min-samples-for p99</code> times enough calls)</p>"
        if bad
        else ""
    )
    return "<h2>All rows</h2>" + html_table(d, ROW_COLUMNS, max_rows=MAX_ROWS_SHOWN) + note


def precision_section(df: pd.DataFrame) -> str:
    """Rows whose executed arithmetic is not what their precision names: never silent."""
    if "executed" not in df:
        return ""
    from ecgbench.precision import matches_request

    off = df[
        [
            not pd.isna(ex) and not matches_request(str(p), str(ex))  # unknown is not a mismatch
            for p, ex in zip(df["precision"], df["executed"], strict=True)
        ]
    ]
    if not len(off):
        return ""
    keys = ["model", "backend", "device", "precision", "executed", "precision_note"]
    off = off.fillna({"precision_note": "–"}).groupby(keys, dropna=False)["machine"]
    off = off.agg(lambda m: ", ".join(sorted(set(map(str, m))))).reset_index()
    off = off.rename(columns={"machine": "machines"})
    cols = ["model", "backend", "device", "precision", "executed", "precision_note", "machines"]
    return (
        "<h2>Precision asked vs executed</h2><p class='warn'>These rows did not execute the "
        "arithmetic their precision names; their runtime and accuracy are those of what ran.</p>"
        + html_table(off, cols)
    )


def profile_tables(profiles: list[dict]) -> str:
    parts = ["<h3>Slowest layers</h3>"]
    for p in profiles:
        top = pd.DataFrame(p.get("top_layers", [])[:8])
        if top.empty:
            continue
        parts.append(
            f"<p class='note'>{html.escape(p['machine'])} · run {html.escape(p['run_id'])} · "
            f"{html.escape(p['label'])} (ran "
            f"{html.escape(str(p.get('executed')))}; {p['total_ms']:.3f} ms of layer time per "
            "inference)</p>"
            + html_table(top, ["name", "layer_type", "exec_type", "arithmetic", "ms"])
        )
    return "".join(parts)
