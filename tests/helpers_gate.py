"""Hand-made run documents with known timings for the gate's tests: samples, slices, references."""

from __future__ import annotations

import numpy as np

from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.schema import (
    Footprint,
    Latency,
    References,
    ReferenceTiming,
    ResultRow,
    Throughput,
)

FP = {
    "cpu_model": "Test CPU",
    "isa": ["avx2"],
    "threads": 2,
    "versions": {"openvino": "1", "onnxruntime": "1", "torch": "1", "nncf": "1", "onnx": "1"},
    "machine_id": "abc",
}


def latency_samples(
    median_ms: float, n: int = 400, spread: float = 0.03, seed: int = 0
) -> list[int]:
    rng = np.random.default_rng(seed)
    return (median_ms * 1e6 * (1 + spread * rng.standard_normal(n))).astype(np.int64).tolist()


def result_row(model: str, median_ms: float, seed: int, precision: str = "fp32") -> ResultRow:
    s = latency_samples(median_ms, seed=seed)
    latency = Latency.from_samples(s)
    return ResultRow(
        model=model,
        backend="openvino",
        device="CPU",
        precision=precision,
        scenario="latency",
        batch=1,
        input_shape=[1, 12, 5000],
        artifact="x.xml",
        latency=latency,
        throughput=Throughput(fps=latency.fps(1)),
        footprint=Footprint(compile_ms=1.0, first_infer_ms=1.0),
    )


def run_doc(rows: list[ResultRow], ref_ms: float = 1.0, seed: int = 0, fp: dict | None = None):
    return RunDocument(
        fingerprint=dict(fp or FP),
        rows=rows,
        reference=References(
            gemm=ReferenceTiming(label="gemm", samples_ns=latency_samples(ref_ms, seed=seed + 100)),
            model=ReferenceTiming(samples_ns=latency_samples(ref_ms, seed=seed + 7)),
        ),
        complete=True,
    )


def sliced(median_ms: float, factors: list[float], per_slice: int = 40, seed: int = 0):
    """Samples in time slices, slice r scaled by the machine's factor in round r."""
    samples: list[int] = []
    slices: list[list[int]] = []
    for r, f in enumerate(factors):
        slices.append([r, len(samples)])
        samples += latency_samples(median_ms * f, n=per_slice, spread=0.02, seed=seed + r)
    return samples, slices


def sliced_doc(key_ms: float, factors: list[float], seed: int = 0) -> RunDocument:
    row = result_row("a", key_ms, seed)
    row.latency.samples_ns, row.latency.slices = sliced(key_ms, factors, seed=seed)
    ref_s, ref_sl = sliced(1.0, factors, seed=seed + 50)
    gemm_s, gemm_sl = sliced(1.0, [1.0] * len(factors), seed=seed + 90)  # a GEMM blind to it
    return RunDocument(
        fingerprint=dict(FP),
        rows=[row],
        reference=References(
            gemm=ReferenceTiming(samples_ns=gemm_s, slices=gemm_sl),
            model=ReferenceTiming(samples_ns=ref_s, slices=ref_sl),
        ),
        complete=True,
    )


STEADY = [1.0] * 10
BUSY = [1.0, 1.6, 1.6, 1.0, 1.6, 1.6, 1.0, 1.6, 1.6, 1.0]  # a neighbour loads 6 of 10 rounds


ROUNDS = 30


def rounds_row(model: str, levels_ms: np.ndarray, seed: int) -> ResultRow:
    """20 calls per round around each round's level (2 % call-to-call spread)."""
    rng = np.random.default_rng(seed)
    samples, slices = [], []
    for rnd, lvl in enumerate(levels_ms):
        slices.append([rnd, len(samples)])
        samples += [int(v) for v in rng.normal(lvl * 1e6, lvl * 0.02e6, 20)]
    return ResultRow(
        model=model,
        backend="openvino",
        device="CPU",
        precision="fp32",
        scenario="latency",
        batch=1,
        input_shape=[1, 12, 5000],
        artifact="x.xml",
        latency=Latency.from_samples(samples, slices),
        throughput=Throughput(fps=0),
        footprint=Footprint(compile_ms=1.0, first_infer_ms=1.0),
    )


def timed_docs(
    factors: list[dict[str, float]], round_noise: dict[str, float], seed: int, drift: float = 0.5
) -> list[RunDocument]:
    """Documents timed in the same rounds: the machine's speed swings by ``drift`` round to round
    (every document alike), each key's rounds wobble by its own ``round_noise`` (log SD), and
    document d's key is ``factors[d][key]`` times slower than 2 ms."""
    rng = np.random.default_rng(seed)
    machine = 1 + drift * np.abs(np.sin(np.arange(ROUNDS) + seed))
    docs = []
    for d, slowdowns in enumerate(factors):
        rows = []
        for i, (m, slow) in enumerate(slowdowns.items()):
            lv = 2.0 * slow * machine * np.exp(rng.normal(0, round_noise.get(m, 0.01), ROUNDS))
            rows.append(rounds_row(m, lv, seed * 100 + 10 * d + i))
        docs.append(RunDocument(fingerprint={}, rows=rows, complete=True))
    return docs


def timed_pair(
    slowdowns: dict[str, float], round_noise: dict[str, float], seed: int, drift: float = 0.5
) -> tuple[RunDocument, RunDocument]:
    """Base and head timed in the same rounds; head ``slowdowns[key]`` times slower."""
    base, head = timed_docs([dict.fromkeys(slowdowns, 1.0), slowdowns], round_noise, seed, drift)
    return base, head
