"""A/B timing of two artifacts of one model in a single interleaved run: no drift between them.

Behind ``ecgbench compare --ab OLD NEW``: one document per side, judged by the same gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgbench.backends import (
    Backend,
    LoadInfo,
    LoadSpec,
    backend_class,
    backend_for_artifact,
    get_backend,
    plan_execution,
)
from ecgbench.bench.lifecycle import Lifecycle, reraise_if_stopped
from ecgbench.bench.references import GemmCeiling
from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.fingerprint import collect_fingerprint
from ecgbench.bench.results.pairing import pair_key
from ecgbench.bench.results.schema import (
    ExecutedAs,
    Footprint,
    Latency,
    References,
    ReferenceTiming,
    ResultRow,
    Throughput,
)
from ecgbench.bench.scenarios.interleaved import LatencyScenario
from ecgbench.bench.suite import Suite
from ecgbench.bench.timing import StopRule, TimedVariant
from ecgbench.data.preprocess import Preprocessing
from ecgbench.data.synthetic import synthetic_input
from ecgbench.errors import BadInputError
from ecgbench.gate.verdicts import FLAGGED, Comparison, KeyVerdict, Verdict
from ecgbench.host import default_threads, device_arithmetic
from ecgbench.precision import NOT_VERIFIED


def _backend_for(path: Path) -> str:
    if not path.is_file():
        raise BadInputError(f"artifact not found: {path}")
    return backend_for_artifact(path)


@dataclass
class _Side:
    """One artifact loaded for A/B timing: what the lifecycle drives, and what its row says."""

    path: Path
    backend_name: str
    backend: Backend
    info: LoadInfo
    timed: TimedVariant
    x: np.ndarray
    pipeline_timed: TimedVariant | None = None


def _load_side(path: Path, device: str, threads: int, input_samples: int, x: np.ndarray) -> _Side:
    name = _backend_for(path)
    b = get_backend(name)
    # f32 on every CPU (OpenVINO's default is bf16 on some): A and B run the same arithmetic
    arith = device_arithmetic(backend_class(name).arithmetic_device(device))
    hint = plan_execution(name, "fp32", arith).hint
    spec = LoadSpec(
        artifact=path,
        device=device,
        samples=input_samples,
        threads=threads,
        inference_precision=hint,
    )
    info = b.load(spec)
    b.set_input(x)
    return _Side(path, name, b, info, TimedVariant(label=str(path), run=b.run), x)


def ab_documents(
    old: Path,
    new: Path,
    device: str = "CPU",
    threads: int | None = None,
    rule: StopRule | None = None,
    input_samples: int = 5000,
    swapped: bool = False,
) -> tuple[RunDocument, RunDocument]:
    """Time OLD and NEW interleaved (plus the GEMM reference); one document per side.

    ``swapped`` runs NEW before OLD in every round (the confirmation's order); the documents are
    still (OLD, NEW)."""
    threads = threads or default_threads()
    rule = rule or StopRule(min_duration_s=5.0, min_iters=100, warmup_s=1.0)
    fp = collect_fingerprint(threads).to_dict()
    x = synthetic_input(Preprocessing(), samples=input_samples)
    sides = [_load_side(p, device, threads, input_samples, x) for p in (old, new)]
    gemm = GemmCeiling("f32", threads)
    g = TimedVariant(label=gemm.label, run=gemm.run)
    life = Lifecycle(LatencyScenario(Suite(name="ab"), threads), rule, references=[g])
    reraise_if_stopped(life.drive(list(reversed(sides)) if swapped else sides))
    gemm_ref = ReferenceTiming.timed(gemm.label, g.samples_ns)
    gemm_ref.gflops = gemm.gflops(gemm_ref.median_ms * 1e6)
    ref = References(gemm=gemm_ref)
    docs = [
        RunDocument(
            fingerprint=dict(fp),
            rows=[_ab_row(s, device, threads, input_samples)],
            reference=ref,
            complete=True,
        )
        for s in sides
    ]
    if docs[0].rows[0].backend != docs[1].rows[0].backend:
        raise BadInputError("A/B needs two artifacts of the same kind (both .xml, .onnx or .pt)")
    return docs[0], docs[1]


def _ab_row(s: _Side, device: str, threads: int, input_samples: int) -> ResultRow:
    """A side's row: latency from whole runs (no slices, like the GEMM: A/B normalises runs)."""
    lat = Latency.from_samples(s.timed.samples_ns)
    info = s.info
    return ResultRow(
        model="A/B",
        backend=s.backend_name,
        device=device,
        precision="-",
        executed=info.inference_precision,
        scenario="latency",
        batch=1,
        input_shape=[1, 12, input_samples],
        artifact=str(s.path),
        latency=lat,
        throughput=Throughput(fps=lat.fps(1)),
        execution=ExecutedAs(
            threads=threads,
            devices=info.execution_devices,
            inference_precision=info.inference_precision,
            int8_layers=info.int8_layers,
            total_layers=info.total_layers,
            note=None if info.verified else NOT_VERIFIED,
        ),
        footprint=Footprint(
            compile_ms=info.compile_ms, first_infer_ms=(s.timed.first_call_ns or 0) / 1e6
        ),
    )


def _confirmed(first: KeyVerdict, again: KeyVerdict) -> KeyVerdict:
    """A regression only when both timings call it one; both flagged otherwise is inconclusive."""
    first_said = f"first timing ×{first.ratio:.3f} ({first.verdict})" if first.ratio else ""
    if again.verdict not in FLAGGED:
        again.note = "; ".join(p for p in (again.note, f"not confirmed: {first_said}") if p)
        return again
    if not (first.verdict == again.verdict == Verdict.REGRESSION):
        again.verdict = Verdict.INCONCLUSIVE
    again.note = "; ".join(
        p for p in (again.note, f"confirmed with A/B swapped: {first_said}") if p
    )
    return again


def confirm_ab(first: Comparison, again: Comparison) -> Comparison:
    """Flagged A/B keys judged again on a second timing with the order swapped in every round.

    On a busy machine the slot in a round is itself a bias: two byte-identical IRs read ×1.155 one
    way round and unchanged the other. A real change survives the swap; an order effect does not.
    Unflagged keys keep their first verdict, as the gate's confirmation does."""
    second = {pair_key(v.key): v for v in again.verdicts}
    out = []
    for v in first.verdicts:
        w = second.get(pair_key(v.key))
        out.append(_confirmed(v, w) if v.verdict in FLAGGED and w is not None else v)
    return Comparison(verdicts=out, drift=first.drift, settings=first.settings)
