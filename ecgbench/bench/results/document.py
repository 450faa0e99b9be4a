"""Benchmark results: one JSON document per run, and a tidy store pandas reads directly.

Run document (``--output FILE.json``), schema 2 (``bench/results/schema.py``; schema 1 still reads)::

    {"schema": 2, "run_id": str, "created": ISO-8601, "complete": bool, "command", "suite",
     "fingerprint": {cpu_model, isa, int8_isa, threads, versions, machine_id, gemm_gflops, ...},
     "reference": {"gemm": {"label": "reference:gemm-f32-openvino", "arithmetic", "executed",
                            "as_asked", "n", "median_ms", "gflops", "samples_ns", "slices"},
                   "ceilings": {arithmetic: {...}},
                   "model": {"label": "reference:convnext-f32", "median_ms", "samples_ns", ...}},
     "rows": [{"model", "backend", "device", "precision", "executed", "scenario", "batch",
               "input_shape", "artifact", "complete",
               "latency": {"n", "median_ms", "mean_ms", "p90_ms", "p99_ms", "min_ms", "max_ms",
                           "iqr_ms", "std_ms", "runtime_median_ms", "call_overhead_ms",
                           "samples_ns": [...], "slices": [[round, first sample index], ...],
                           "percentiles_valid": {"p90": bool, "p99": bool},
                           "p99_interval_ms": [lo, hi] | null},
               "throughput": {"fps", "gflops", "gemm_fraction", "ceiling", "ceiling_gflops"},
               "accuracy": {"challenge_score", "auroc", "challenge_score_ci95": [lo, hi] | null,
                            "auroc_ci95", "drop_vs_fp32_ci95", "drop_vs_fp32", "note",
                            "verification"},
               "execution": {"threads", "devices", "inference_precision", "as_planned", "note",
                             "int8_layers", "total_layers"},
               "footprint": {"compile_ms", "first_infer_ms", "flops", "params",
                             and with ``run --footprint``: "model_bytes", "rss_baseline_mb",
                             "peak_rss_compile_mb", "peak_rss_infer_mb", "compile_cold_ms",
                             "compile_warm_ms", "first_result_ms"},
               "stream": null | {"policy", "seconds", "hop_s", "window_s", "windows", "processed",
                          "late", "dropped", "missed", "deadline_miss_rate", "realtime_factor",
                          "realtime_factor_ci95", "service_median_ms", "background",
                          "service_ns", "statuses"},
               "extra": {...}}]}

Runs also land in the results store, a SQL database behind one URL (``bench/store/database.py``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ecgbench.bench.results.schema import References, ResultRow, row_dict
from ecgbench.bench.results.schema_v1 import upgrade_v1
from ecgbench.errors import BadInputError
from ecgbench.fileio import atomic_write_json
from ecgbench.names import check_run_id
from ecgbench.numbers import check_samples

SCHEMA = 2
STORE_ENV = "ECGBENCH_RESULTS"  # a database URL or a folder (its ecgbench.db)
_REQUIRED = {
    1: {"model", "backend", "device", "precision", "samples_ns"},
    2: {"model", "backend", "device", "precision", "latency"},
}


def default_store() -> str:
    """``$ECGBENCH_RESULTS``, else one per-user folder (the XDG data directory on Linux,
    ``~/.local/share/ecgbench``): the same store from whatever folder a command runs in."""
    if os.environ.get(STORE_ENV):
        return os.environ[STORE_ENV]
    from platformdirs import user_data_dir

    return user_data_dir("ecgbench", appauthor=False)


@dataclass
class RunDocument:
    fingerprint: dict[str, Any]
    rows: list[ResultRow] = field(default_factory=list)
    reference: References = field(default_factory=References)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    created: str = field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    )
    complete: bool = False
    command: str = ""
    suite: str = ""  # the suite's name ("adhoc" for a command line)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "run_id": self.run_id,
            "created": self.created,
            "complete": self.complete,
            "command": self.command,
            "suite": self.suite,
            "fingerprint": self.fingerprint,
            "reference": asdict(self.reference),
            "rows": [row_dict(r) for r in self.rows],
        }

    def write(self, path: str | os.PathLike[str]) -> None:
        atomic_write_json(path, self.to_dict())


def read_run(path: str | os.PathLike[str]) -> RunDocument:
    """Read and check a run document; any problem is one clear line."""
    p = Path(path)
    if not p.is_file():
        raise BadInputError(f"results file not found: {p}")
    try:
        d = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadInputError(f"{p}: not valid JSON ({e})") from None
    return read_run_dict(d, str(p), p.stem)


def read_run_dict(d: Any, p: str, default_id: str = "") -> RunDocument:
    """A parsed run document (schema 1 or 2) -> :class:`RunDocument`; ``p`` names it in errors."""
    if (
        not isinstance(d, dict)
        or d.get("schema") not in tuple(_REQUIRED)
        or not isinstance(d.get("rows"), list)
    ):
        raise BadInputError(f"{p}: not an ecgbench results document (schema {SCHEMA})")
    for i, r in enumerate(d["rows"]):
        if not isinstance(r, dict):
            raise BadInputError(f"{p}: row {i} is not an object")
        missing = _REQUIRED[d["schema"]] - set(r)
        if missing:
            raise BadInputError(f"{p}: row {i} lacks {', '.join(sorted(missing))}")
    if d["schema"] == 1:
        d = upgrade_v1(d)
    _check_numbers_and_names(d, p)
    rows = []
    for i, r in enumerate(d["rows"]):
        try:
            rows.append(ResultRow.from_dict(r))
        except TypeError as e:
            raise BadInputError(f"{p}: row {i} is malformed ({e})") from None
    try:
        reference = References.from_dict(d.get("reference") or {})
    except TypeError as e:
        raise BadInputError(f"{p}: the reference is malformed ({e})") from None
    return RunDocument(
        fingerprint=d.get("fingerprint", {}),
        rows=rows,
        reference=reference,
        run_id=d.get("run_id", default_id),
        created=d.get("created", ""),
        complete=bool(d.get("complete", False)),
        command=d.get("command", ""),
        suite=d.get("suite", ""),
    )


def _check_numbers_and_names(d: dict[str, Any], p: str) -> None:
    """Samples finite and positive, the fingerprint an object, the run id a plain name: a NaN or a
    zero sample would fake a verdict, a run id becomes ``<run_id>.json`` on ``store export``."""
    if "run_id" in d:
        try:
            check_run_id(d["run_id"])
        except BadInputError as e:
            raise BadInputError(f"{p}: {e}") from None
    if not isinstance(d.get("fingerprint", {}), dict):
        raise BadInputError(f"{p}: the fingerprint is not an object")
    for i, r in enumerate(d["rows"]):
        lat = r.get("latency")
        if not isinstance(lat, dict):
            raise BadInputError(f"{p}: row {i} latency is not an object")
        check_samples(f"{p}: row {i} latency.samples_ns", lat.get("samples_ns", []))
    ref = d.get("reference") or {}
    if not isinstance(ref, dict):
        raise BadInputError(f"{p}: the reference is not an object")
    for k in ("gemm", "model"):
        if isinstance(ref.get(k), dict):
            check_samples(f"{p}: reference {k} samples_ns", ref[k].get("samples_ns", []))


def tidy_rows(doc: RunDocument) -> list[dict[str, Any]]:
    """Rows flat, under their schema-1 names, with run and machine columns (no raw samples);
    the score's interval as ``challenge_score_ci_low/high`` and its paired drop against FP32 as
    ``score_drop_ci_low/high`` and ``score_drop_verdict`` (not store columns)."""
    fp = doc.fingerprint
    out = []
    for r in doc.rows:
        d = r.flat()
        ci = r.accuracy.challenge_score_ci95 or (None, None)
        d["challenge_score_ci_low"], d["challenge_score_ci_high"] = ci
        drop = r.accuracy.drop_vs_fp32_ci95 or (None, None)
        d["score_drop_ci_low"], d["score_drop_ci_high"] = drop
        d["score_drop_verdict"] = r.accuracy.drop_vs_fp32
        d["input_shape"] = "x".join(map(str, r.input_shape))
        d["execution_devices"] = ",".join(r.execution.devices)
        # enough samples for the percentile to be an estimate (statistics.py); not a store
        # column (the store keeps the document, which has them)
        d["p90_valid"] = r.latency.valid("p90")
        d["p99_valid"] = r.latency.valid("p99")
        d.update(
            run_id=doc.run_id,
            created=doc.created,
            machine_id=fp.get("machine_id", ""),
            cpu_model=fp.get("cpu_model", ""),
            hostname=fp.get("hostname", ""),
            int8_isa=fp.get("int8_isa", ""),
            gemm_gflops=fp.get("gemm_gflops"),
        )
        out.append(d)
    return out
