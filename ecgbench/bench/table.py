"""The rich table ``ecgbench run`` prints."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from ecgbench.bench.results import ResultRow, RunDocument
from ecgbench.precision import matches_request

ABOVE_CEILING = (
    "† above the GEMM ceiling of its arithmetic: the ceiling is a practical 512³ GEMM timed in this "
    "run, not the hardware's peak, and a model's convolutions can use the hardware better"
)


def _f(v, fmt: str) -> str:
    return "–" if v is None else format(v, fmt)


def ceilings_text(fp: dict) -> str:
    c = fp.get("ceilings_gflops") or {}
    if not c and fp.get("gemm_gflops"):
        c = {"f32": fp["gemm_gflops"]}
    return ", ".join(f"{a} {g:.0f}" for a, g in c.items())


def ran_as(r: ResultRow) -> str:
    """What executed, coloured where it is not what the name says (red: not what was planned)."""
    ran = r.executed or r.inference_precision or "?"
    if r.int8_layers is not None and r.precision == "int8":
        ran += f" ({r.int8_layers}/{r.total_layers} int8)"
    if r.precision_as_planned is False:
        return f"[red]{escape(ran)}[/]"
    if not matches_request(r.precision, r.executed):
        return f"[yellow]{escape(ran)}[/]"
    return escape(ran)


def efficiency(r: ResultRow) -> str:
    if r.gemm_fraction is None:
        return "–"
    mark = "†" if r.gemm_fraction > 1 else ""
    # runs written before ceilings per arithmetic: against the FP32 GEMM, whatever executed
    return f"{r.gemm_fraction * 100:.0f}%{mark} {r.ceiling or 'f32 GEMM (older run)'}"


def results_table(doc: RunDocument) -> Table:
    fp = doc.fingerprint
    native = (fp.get("native_precisions") or {}).get("CPU") or {}
    natives = (
        " · ".join(f"{k}: {v}" for k, v in native.items()) or f"INT8: {fp.get('int8_isa', '?')}"
    )
    ceil = ceilings_text(fp)
    title = f"{fp.get('cpu_model', '?')} · {fp.get('threads')} threads · {natives}" + (
        f" · GEMM ceilings GFLOP/s: {ceil}" if ceil else ""
    )
    notes = [
        f"run {doc.run_id} · accuracy: fold-10 PTB-XL of the variant as executed (zoo manifest)"
    ]
    t = Table(title=title)
    cols = ("model", "backend", "device", "asked", "ran as", "scenario", "median ms", "p90 ms",
            "p99 ms", "fps", "GFLOP/s", "of ceiling", "score", "AUROC")  # fmt: skip
    for c in cols:
        left = c in ("model", "backend", "device", "ran as", "of ceiling")
        t.add_column(c, justify="left" if left else "right")
    for r in sorted(doc.rows, key=lambda r: (r.flops or 0, r.model, r.backend, r.precision)):
        prec = r.precision if not (r.verification or "").startswith("FAILED") else r.precision + "!"
        score = _f(r.challenge_score, ".3f") if r.challenge_score is not None else "n/m"
        t.add_row(
            r.model, r.backend, ",".join(r.execution_devices) or r.device, prec, ran_as(r),
            r.scenario, _f(r.median_ms, ".3f"), _f(r.p90_ms, ".3f"), _f(r.p99_ms, ".3f"),
            _f(r.throughput_fps, ".0f"), _f(r.gflops, ".1f"), efficiency(r), score,
            _f(r.auroc, ".3f"),
        )  # fmt: skip
        if r.precision_note:
            notes.append(f"{r.model} {r.backend} {r.precision}: {r.precision_note}")
    above = [r for r in doc.rows if r.gemm_fraction and r.gemm_fraction > 1]
    if any(r.ceiling for r in above):
        notes.append(ABOVE_CEILING)
    if any(not r.ceiling for r in above):
        notes.append(
            "† older run: efficiency against the FP32 GEMM, whatever arithmetic executed "
            "(a model that ran bf16 or int8 can exceed it)"
        )
    missing = sorted({r.accuracy_note for r in doc.rows if r.accuracy_note})
    if missing:
        notes.append(
            "score n/m: " + "; ".join(missing) + " (ecgbench evaluate … --zoo measures it)"
        )
    if any(r.precision == "int8" for r in doc.rows):
        notes.append("int8+f32 / int8+bf16: the arithmetic of the layers INT8 leaves in float")
    t.caption = "\n".join(dict.fromkeys(notes))
    return t
