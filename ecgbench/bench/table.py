"""The rich table ``ecgbench run`` prints."""

from __future__ import annotations

from rich.table import Table

from ecgbench.bench.results import RunDocument


def _f(v, fmt: str) -> str:
    return "–" if v is None else format(v, fmt)


def results_table(doc: RunDocument) -> Table:
    fp = doc.fingerprint
    gemm = fp.get("gemm_gflops")
    title = (
        f"{fp.get('cpu_model', '?')} · {fp.get('threads')} threads · INT8: {fp.get('int8_isa', '?')}"
        + (f" · FP32 GEMM ceiling {gemm:.1f} GFLOP/s" if gemm else "")
    )
    t = Table(title=title, caption=f"run {doc.run_id} · accuracy: fold-10 PTB-XL (zoo manifest)")
    cols = ("model", "backend", "device", "precision", "scenario", "median ms", "p90 ms", "p99 ms",
            "fps", "GFLOP/s", "of GEMM", "ran as", "score", "AUROC")  # fmt: skip
    for c in cols:
        t.add_column(
            c, justify="left" if c in ("model", "backend", "device", "ran as") else "right"
        )
    for r in sorted(doc.rows, key=lambda r: (r.flops or 0, r.model, r.backend, r.precision)):
        ran = r.inference_precision or ""
        if r.int8_layers is not None and r.precision == "int8":
            ran += f" ({r.int8_layers}/{r.total_layers} int8)"
        prec = r.precision if not (r.verification or "").startswith("FAILED") else r.precision + "!"
        t.add_row(
            r.model, r.backend, ",".join(r.execution_devices) or r.device, prec, r.scenario,
            _f(r.median_ms, ".3f"), _f(r.p90_ms, ".3f"), _f(r.p99_ms, ".3f"),
            _f(r.throughput_fps, ".0f"), _f(r.gflops, ".1f"),
            _f(r.gemm_fraction * 100 if r.gemm_fraction else None, ".0f") + "%",
            ran, _f(r.challenge_score, ".3f"), _f(r.auroc, ".3f"),
        )  # fmt: skip
    return t
