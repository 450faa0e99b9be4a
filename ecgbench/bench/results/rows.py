"""The run document's rows: one per timed variant, from its samples and what loading it said."""

from __future__ import annotations

from ecgbench.bench.probes.pipeline import pipeline_result
from ecgbench.bench.results.schema import (
    Accuracy,
    ExecutedAs,
    Footprint,
    Latency,
    ResultRow,
    Throughput,
)
from ecgbench.bench.suite import Suite
from ecgbench.bench.timing import StopRule
from ecgbench.bench.variants import LoadedVariant
from ecgbench.precision import ceiling_arithmetic, matches_request
from ecgbench.statistics import ABOVE, TIE, interval_verdict


def result_rows(
    loaded: list[LoadedVariant],
    plan: Suite,
    threads: int,
    ceilings: dict[str, float],
    rule: StopRule,
    complete: bool,
) -> list[tuple[LoadedVariant, ResultRow]]:
    """A row per variant timed at all, beside it; complete where the run was and the stop rule
    was met."""
    rows = []
    for it in loaded:
        if not it.timed.samples_ns:
            continue
        done = rule.done(it.timed.elapsed_ns, len(it.timed.samples_ns))
        row = result_row(it, plan, threads, ceilings, complete and done)
        e2e = it.pipeline_timed
        if it.pipeline is not None and e2e is not None and e2e.samples_ns:
            row.pipeline = pipeline_result(it.pipeline, e2e, it.timed)
            row.complete = row.complete and rule.done(e2e.elapsed_ns, len(e2e.samples_ns))
        rows.append((it, row))
    return rows


def result_row(
    item: LoadedVariant,
    plan: Suite,
    threads: int,
    ceilings: dict[str, float],
    complete: bool,
) -> ResultRow:
    """The row of one timed variant; ``ceilings``: GFLOP/s per arithmetic measured in this run."""
    t = item.timed
    lat = Latency.from_samples(t.samples_ns, t.slices, t.runtime_ns)
    return ResultRow(
        model=item.model,
        backend=item.backend_name,
        device=item.device,
        precision=item.precision,
        executed=item.check.executed,
        scenario=plan.scenario,
        batch=item.batch,
        input_shape=list(item.shape),
        artifact=str(item.artifact),
        complete=complete,
        latency=lat,
        throughput=_throughput(item, lat, ceilings),
        accuracy=_accuracy(item),
        execution=_executed_as(item, threads),
        footprint=Footprint(
            compile_ms=item.info.compile_ms,
            first_infer_ms=(t.first_call_ns or 0) / 1e6 or None,
            flops=item.flops,
            params=item.params,
        ),
        extra={
            "source": item.variant.source if item.variant else "checkpoint",
            **{k: v for k, v in item.info.extra.items() if k != "runtime_precisions"},
            "runtime_precisions": item.info.extra.get("runtime_precisions", {}),
        },
    )


def _throughput(item: LoadedVariant, lat: Latency, ceilings: dict[str, float]) -> Throughput:
    """Achieved GFLOP/s against the measured ceiling of the arithmetic that executed."""
    achieved = item.flops * item.batch / (lat.median_ms * 1e6) if lat.median_ms else None
    # The ceiling of the arithmetic that executed, measured on the CPU in this run (none for
    # rows on other devices).
    arith = ceiling_arithmetic(item.check.executed) if _on_cpu(item) else None
    ceiling = ceilings.get(arith) if arith else None
    return Throughput(
        fps=lat.fps(item.batch),
        gflops=achieved,
        gemm_fraction=(achieved / ceiling) if (achieved and ceiling) else None,
        ceiling=arith if ceiling else None,
        ceiling_gflops=ceiling,
    )


def _accuracy(item: LoadedVariant) -> Accuracy:
    """The manifest's scores of the executed variant, with why there are none where none."""
    v = item.verification
    # a brought model whose classes are not the Challenge's is scored by AUROC alone
    scored = (
        item.accuracy.get("challenge_score") is not None or item.accuracy.get("challenge") == "n/a"
    )
    drop = _paired_drop(item.accuracy)  # the manifest's paired drop against FP32
    return Accuracy(
        challenge_score=item.accuracy.get("challenge_score"),
        auroc=item.accuracy.get("auroc"),
        challenge_score_ci95=_interval(item.accuracy.get("challenge_score_ci95")),
        auroc_ci95=_interval(item.accuracy.get("auroc_ci95")),
        drop_vs_fp32_ci95=_interval(drop.get("ci95")),
        drop_vs_fp32=_drop_verdict(drop),
        note=(
            item.accuracy.get("note")
            if scored
            else f"not measured for {item.check.executed or item.precision}"
        ),
        verification=v.summary() if v else None,
    )


def _executed_as(item: LoadedVariant, threads: int) -> ExecutedAs:
    """What the runtime says ran, with a note where it is not what was planned or requested."""
    return ExecutedAs(
        threads=item.info.threads or threads,  # what ran, where the runtime says it
        devices=item.info.execution_devices,
        inference_precision=item.info.inference_precision,
        as_planned=item.check.as_planned,
        note=(
            item.check.summary()
            if not item.check.as_planned
            or not item.check.verified
            or not matches_request(item.precision, item.check.executed)
            else None
        ),
        int8_layers=item.info.int8_layers,
        total_layers=item.info.total_layers,
    )


def _interval(v: object) -> list[float] | None:
    """A manifest's ``[lo, hi]`` as floats; anything else (absent, malformed) is no interval."""
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v):
        return [float(v[0]), float(v[1])]
    return None


def _paired_drop(accuracy: dict) -> dict:
    """The manifest's paired drop of the Challenge score against FP32 (empty where none)."""
    drops = accuracy.get("drop_vs_fp32")
    d = drops.get("challenge_score") if isinstance(drops, dict) else None
    return d if isinstance(d, dict) else {}


def _drop_verdict(d: dict) -> str | None:
    """tie / drop / gain, as ``ecgbench evaluate`` calls it (0 inside or outside the interval)."""
    ci = _interval(d.get("ci95"))
    if ci is None:
        return None
    v = interval_verdict(ci[0], ci[1])
    return "tie" if v == TIE else ("drop" if v == ABOVE else "gain")


def _on_cpu(item: LoadedVariant) -> bool:
    return all(
        d.upper().startswith("CPU") or d == "cpu" or d == "CPUExecutionProvider"
        for d in item.info.execution_devices or [item.device]
    )
