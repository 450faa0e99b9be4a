"""The run document's rows: one per timed variant, from its samples and what loading it said."""

from __future__ import annotations

import numpy as np

from ecgbench.bench.results import ResultRow
from ecgbench.bench.suite import RunPlan
from ecgbench.bench.timing import LatencyStats, StopRule
from ecgbench.bench.variants import LoadedVariant
from ecgbench.precision import ceiling_arithmetic, matches_request


def result_rows(
    loaded: list[LoadedVariant],
    plan: RunPlan,
    threads: int,
    ceilings: dict[str, float],
    rule: StopRule,
    complete: bool,
) -> list[ResultRow]:
    """A row per variant timed at all; complete where the run was and the stop rule was met."""
    rows = []
    for it in loaded:
        s = list(it.timed.samples_ns)
        if not s:
            continue
        done = rule.done(it.timed.elapsed_ns, len(s))
        stats = LatencyStats.from_ns(s, it.batch)
        rows.append(result_row(it, plan, threads, ceilings, stats, s, complete and done))
    return rows


def result_row(
    item: LoadedVariant,
    plan: RunPlan,
    threads: int,
    ceilings: dict[str, float],
    stats: LatencyStats,
    samples_ns: list[int],
    complete: bool,
) -> ResultRow:
    """The row of one timed variant; ``ceilings``: GFLOP/s per arithmetic measured in this run."""
    achieved = item.flops * item.batch / (stats.median_ms * 1e6) if stats.median_ms else None
    executed = item.check.executed
    # The ceiling of the arithmetic that executed, measured on the CPU in this run (none for
    # rows on other devices).
    arith = ceiling_arithmetic(executed) if _on_cpu(item) else None
    ceiling = ceilings.get(arith) if arith else None
    # The runtime's own time per call, where the backend keeps one (OpenVINO), call by call beside
    # the wall samples (a Ctrl-C between the two appends can leave it one shorter).
    n_own = min(len(item.timed.runtime_ns), len(samples_ns))
    runtime_ms = overhead_ms = None
    if n_own:
        own = item.timed.runtime_ns[:n_own]
        runtime_ms = float(np.median(own)) / 1e6
        overhead_ms = float(np.median(np.subtract(samples_ns[:n_own], own))) / 1e6
    v = item.verification
    scored = item.accuracy.get("challenge_score") is not None
    return ResultRow(
        model=item.model,
        backend=item.backend_name,
        device=item.device,
        precision=item.precision,
        scenario=plan.scenario,
        batch=item.batch,
        input_shape=list(item.shape),
        artifact=str(item.artifact),
        compile_ms=item.info.compile_ms,
        first_infer_ms=(item.timed.first_call_ns or 0) / 1e6 or None,
        samples_ns=samples_ns,
        slices=[list(x) for x in item.timed.slices],
        n=stats.n,
        median_ms=stats.median_ms,
        mean_ms=stats.mean_ms,
        p90_ms=stats.p90_ms,
        p99_ms=stats.p99_ms,
        min_ms=stats.min_ms,
        iqr_ms=stats.iqr_ms,
        throughput_fps=stats.throughput_fps,
        runtime_median_ms=runtime_ms,
        call_overhead_ms=overhead_ms,
        flops=item.flops,
        params=item.params,
        gflops=achieved,
        gemm_fraction=(achieved / ceiling) if (achieved and ceiling) else None,
        ceiling=arith if ceiling else None,
        ceiling_gflops=ceiling,
        threads=threads,
        execution_devices=item.info.execution_devices,
        inference_precision=item.info.inference_precision,
        executed=executed,
        precision_as_planned=item.check.as_planned,
        precision_note=(
            item.check.summary()
            if not item.check.as_planned or not matches_request(item.precision, executed)
            else None
        ),
        int8_layers=item.info.int8_layers,
        total_layers=item.info.total_layers,
        challenge_score=item.accuracy.get("challenge_score"),
        auroc=item.accuracy.get("auroc"),
        accuracy_note=(
            item.accuracy.get("note")
            if scored
            else f"not measured for {executed or item.precision}"
        ),
        verification=v.summary() if v else None,
        complete=complete,
        extra={
            "source": item.variant.source if item.variant else "checkpoint",
            **{k: v for k, v in item.info.extra.items() if k != "runtime_precisions"},
            "runtime_precisions": item.info.extra.get("runtime_precisions", {}),
            **({"profile": item.profile} if item.profile else {}),
        },
    )


def _on_cpu(item: LoadedVariant) -> bool:
    return all(
        d.upper().startswith("CPU") or d == "cpu" or d == "CPUExecutionProvider"
        for d in item.info.execution_devices or [item.device]
    )
