"""The rich table ``ecgbench run`` prints."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from ecgbench.bench.percentiles import REPORTED, min_samples
from ecgbench.bench.results import RunDocument
from ecgbench.bench.schema import ResultRow
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
    ex = r.execution
    ran = r.executed or ex.inference_precision or "?"
    if ex.int8_layers is not None and r.precision == "int8":
        ran += f" ({ex.int8_layers}/{ex.total_layers} int8)"
    if ex.as_planned is False:
        return f"[red]{escape(ran)}[/]"
    if not matches_request(r.precision, r.executed):
        return f"[yellow]{escape(ran)}[/]"
    return escape(ran)


def efficiency(r: ResultRow) -> str:
    tp = r.throughput
    if tp.gemm_fraction is None:
        return "–"
    mark = "†" if tp.gemm_fraction > 1 else ""
    # runs written before ceilings per arithmetic: against the FP32 GEMM, whatever executed
    return f"{tp.gemm_fraction * 100:.0f}%{mark} {tp.ceiling or 'f32 GEMM (older run)'}"


def percentile_cell(r: ResultRow, name: str) -> str:
    """The percentile, with ``*`` where the row had too few samples for it to be an estimate."""
    v = getattr(r.latency, f"{name}_ms")
    return _f(v, ".3f") + ("*" if r.latency.valid(name) is False else "")


def invalid_percentiles_note(rows: list[ResultRow]) -> str | None:
    """The footnote of the ``*``: which percentiles, and the sample counts they need."""
    bad = [
        f"{name} from n < {min_samples(q)} samples"
        for name, q in REPORTED.items()
        if any(r.latency.valid(name) is False for r in rows)
    ]
    if not bad:
        return None
    return (
        "* " + ", ".join(bad) + ": not a valid estimate (MLPerf LoadGen's rule; "
        'min_samples_for = "p99" in a suite or --min-samples-for p99 times enough calls)'
    )


def _order(r: ResultRow) -> tuple:
    return (r.footprint.flops or 0, r.model, r.backend, r.precision)


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
    cols = (
        "model",
        "backend",
        "device",
        "asked",
        "ran as",
        "scenario",
        "median ms",
        "p90 ms",
        "p99 ms",
        "fps",
        "GFLOP/s",
        "of ceiling",
        "score",
        "AUROC",
    )
    for c in cols:
        left = c in ("model", "backend", "device", "ran as", "of ceiling")
        t.add_column(c, justify="left" if left else "right")
    several = len({r.input_shape[-1] for r in doc.rows if r.input_shape}) > 1  # --samples a,b
    for r in sorted(doc.rows, key=_order):
        lat, tp, acc = r.latency, r.throughput, r.accuracy
        failed = (acc.verification or "").startswith("FAILED")
        prec = r.precision + "!" if failed else r.precision
        score = _f(acc.challenge_score, ".3f") if acc.challenge_score is not None else "n/m"
        t.add_row(
            f"{r.model} · {r.input_shape[-1]} samples" if several else r.model,
            r.backend,
            ",".join(r.execution.devices) or r.device,
            prec,
            ran_as(r),
            r.scenario,
            _f(lat.median_ms, ".3f"),
            percentile_cell(r, "p90"),
            percentile_cell(r, "p99"),
            _f(tp.fps, ".0f"),
            _f(tp.gflops, ".1f"),
            efficiency(r),
            score,
            _f(acc.auroc, ".3f"),
        )
        if r.execution.note:
            notes.append(f"{r.model} {r.backend} {r.precision}: {r.execution.note}")
    above = [r for r in doc.rows if (r.throughput.gemm_fraction or 0) > 1]
    if any(r.throughput.ceiling for r in above):
        notes.append(ABOVE_CEILING)
    if any(not r.throughput.ceiling for r in above):
        notes.append(
            "† older run: efficiency against the FP32 GEMM, whatever arithmetic executed "
            "(a model that ran bf16 or int8 can exceed it)"
        )
    invalid = invalid_percentiles_note(doc.rows)
    if invalid:
        notes.append(invalid)
    missing = sorted({r.accuracy.note for r in doc.rows if r.accuracy.note})
    if missing:
        notes.append(
            "score n/m: " + "; ".join(missing) + " (ecgbench evaluate … --zoo measures it)"
        )
    if any(r.precision == "int8" for r in doc.rows):
        notes.append("int8+f32 / int8+bf16: the arithmetic of the layers INT8 leaves in float")
    t.caption = "\n".join(dict.fromkeys(notes))
    return t
