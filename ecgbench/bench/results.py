"""Benchmark results: one JSON document per run, and a tidy store pandas reads directly.

Run document (``--output FILE.json``)::

    {"schema": 1, "run_id": str, "created": ISO-8601, "complete": bool,
     "fingerprint": {cpu_model, isa, int8_isa, threads, versions, machine_id, gemm_gflops, ...},
     "reference": {"label": "reference:gemm-f32-openvino", "median_ms", "gflops", "samples_ns",
                   "ceilings": {arithmetic: {...}}, "model": {"label": "reference:convnext-f32", ...}},
     "rows": [{"model", "backend", "device", "precision", "scenario", "batch", "input_shape",
               "artifact", "compile_ms", "first_infer_ms", "samples_ns": [...], "n", "median_ms",
               "mean_ms", "p90_ms", "p99_ms", "min_ms", "iqr_ms", "throughput_fps",
               "runtime_median_ms", "call_overhead_ms", "flops",
               "gflops", "gemm_fraction", "ceiling", "ceiling_gflops", "execution_devices",
               "inference_precision", "executed", "precision_as_planned", "precision_note",
               "int8_layers", "total_layers", "challenge_score", "auroc", "accuracy_note", "complete",
               "slices": [[round, first sample index], ...], ...}]}

Runs also land in the results store, a SQL database behind one URL (``bench/store.py``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ecgbench.errors import BadInputError
from ecgbench.fileio import atomic_write_json

SCHEMA = 1
STORE_ENV = "ECGBENCH_RESULTS"  # a database URL or a folder (its ecgbench.db)
# ``precision`` is what was asked for, ``executed`` what ran (f32, bf16, int8+f32, ...): a row that
# ran another arithmetic is another key, never compared as the same thing.
ROW_KEY = (
    "model", "backend", "device", "precision", "executed", "scenario", "batch", "input_shape",
)  # fmt: skip


def default_store() -> str:
    return os.environ.get(STORE_ENV, "results")


@dataclass
class ResultRow:
    model: str
    backend: str
    device: str
    precision: str
    scenario: str
    batch: int
    input_shape: list[int]
    artifact: str
    compile_ms: float
    first_infer_ms: float | None
    samples_ns: list[int]
    n: int
    median_ms: float
    mean_ms: float
    p90_ms: float
    p99_ms: float
    min_ms: float
    iqr_ms: float
    throughput_fps: float
    # OpenVINO only: the median of the runtime's own per-inference latency (what benchmark_app
    # reports) and the median per-call difference to the wall time above (the Python binding and
    # what the runtime does outside its own timer).
    runtime_median_ms: float | None = None
    call_overhead_ms: float | None = None
    flops: int | None = None
    params: int | None = None
    gflops: float | None = None  # achieved: model FLOPs x batch / median
    # achieved over the GEMM ceiling of the arithmetic that executed (``ceiling``: f32 / bf16 /
    # f16 / int8), timed on the CPU in the same run; None for rows on other devices
    gemm_fraction: float | None = None
    ceiling: str | None = None
    ceiling_gflops: float | None = None
    threads: int | None = None
    execution_devices: list[str] = field(default_factory=list)
    inference_precision: str | None = None  # the float arithmetic that executed (f32/bf16/f16)
    executed: str | None = None  # what ran as one label: f32, bf16, f16, int8+f32, int8+bf16
    precision_as_planned: bool | None = None  # executed == what ecgbench asked the runtime for
    precision_note: str | None = None  # why executed differs from the name, where it does
    int8_layers: int | None = None
    total_layers: int | None = None
    challenge_score: float | None = None  # accuracy of this variant (zoo manifest, fold 10)
    auroc: float | None = None
    accuracy_note: str | None = None  # "not measured for bf16": no score of another arithmetic
    verification: str | None = None
    complete: bool = True
    slices: list[list[int]] = field(default_factory=list)  # [round, first sample index]
    extra: dict[str, Any] = field(default_factory=dict)

    def key(self) -> tuple:
        return tuple(
            tuple(getattr(self, k)) if k == "input_shape" else getattr(self, k) for k in ROW_KEY
        )


@dataclass
class RunDocument:
    fingerprint: dict[str, Any]
    rows: list[ResultRow] = field(default_factory=list)
    reference: dict[str, Any] = field(default_factory=dict)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    created: str = field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    )
    complete: bool = False
    command: str = ""
    suite: str = ""  # the runner profile's name ("adhoc" for a command line)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "run_id": self.run_id,
            "created": self.created,
            "complete": self.complete,
            "command": self.command,
            "suite": self.suite,
            "fingerprint": self.fingerprint,
            "reference": self.reference,
            "rows": [asdict(r) for r in self.rows],
        }

    def write(self, path: str | os.PathLike[str]) -> None:
        atomic_write_json(path, self.to_dict())


_ROW_FIELDS = set(ResultRow.__dataclass_fields__)


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
    """A parsed run document -> :class:`RunDocument`; ``p`` names it in error messages."""
    if not isinstance(d, dict) or d.get("schema") != SCHEMA or not isinstance(d.get("rows"), list):
        raise BadInputError(f"{p}: not an ecgbench results document (schema {SCHEMA})")
    rows = []
    for i, r in enumerate(d["rows"]):
        if not isinstance(r, dict):
            raise BadInputError(f"{p}: row {i} is not an object")
        missing = {"model", "backend", "device", "precision", "samples_ns"} - set(r)
        if missing:
            raise BadInputError(f"{p}: row {i} lacks {', '.join(sorted(missing))}")
        if "executed" not in r:  # schema-1 documents written before rows kept it
            r = {**r, "executed": _executed_of_old_row(r)}
        try:
            rows.append(ResultRow(**{k: v for k, v in r.items() if k in _ROW_FIELDS}))
        except TypeError as e:
            raise BadInputError(f"{p}: row {i} is malformed ({e})") from None
    return RunDocument(
        fingerprint=d.get("fingerprint", {}),
        rows=rows,
        reference=d.get("reference", {}),
        run_id=d.get("run_id", default_id),
        created=d.get("created", ""),
        complete=bool(d.get("complete", False)),
        command=d.get("command", ""),
        suite=d.get("suite", ""),
    )


def _executed_of_old_row(r: dict[str, Any]) -> str | None:
    """Older rows: OpenVINO kept its inference precision; ONNX Runtime and torch ran f32."""
    from ecgbench.precision import executed_label

    ip = r.get("inference_precision")
    if ip is None and r.get("backend") in ("onnxruntime", "torch"):
        ip = "f32"
    return executed_label(str(r.get("precision")), ip)


def tidy_rows(doc: RunDocument) -> list[dict[str, Any]]:
    fp = doc.fingerprint
    out = []
    # a shallow copy of the scalar fields: asdict() deep-copied every raw sample only to drop it
    # (16 s of a 100-run fleet report)
    names = [f.name for f in fields(ResultRow) if f.name not in ("samples_ns", "slices", "extra")]
    for r in doc.rows:
        d = {n: getattr(r, n) for n in names}
        d["input_shape"] = "x".join(map(str, r.input_shape))
        d["execution_devices"] = ",".join(r.execution_devices)
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


def append_to_store(
    doc: RunDocument, store: str | os.PathLike[str] | None = None, machine_name: str | None = None
) -> str:
    """Add a run to the results store (one transaction; replaces an earlier version of the run)."""
    from ecgbench.bench.store import ResultsStore

    st = ResultsStore(store)
    try:
        st.add_run(doc, machine_name)
    finally:
        st.close()
    return st.url


def load_store(store: str | os.PathLike[str] | None = None, **filters: Any):  # -> pd.DataFrame
    """Every stored row (without raw samples) with run and machine columns; see ResultsStore."""
    from ecgbench.bench.store import ResultsStore

    st = ResultsStore(store, create=False)
    try:
        df = st.frame(**filters)
    finally:
        st.close()
    if df.empty:
        raise BadInputError(f"no results in the store {st.url} (run `ecgbench run` first)")
    return df
