"""``ecgbench run``: export on demand, load every variant, time them interleaved, store the rows."""

from __future__ import annotations

import shlex
import signal
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecgbench.backends.base import Backend, LoadInfo, LoadSpec, get_backend
from ecgbench.bench.fingerprint import GemmReference, ModelReference, collect_fingerprint
from ecgbench.bench.results import ResultRow, RunDocument, append_to_store
from ecgbench.bench.suite import RunPlan, variant_name
from ecgbench.bench.timing import LatencyStats, StopRule, TimedVariant, time_interleaved
from ecgbench.data.synthetic import synthetic_input
from ecgbench.devices import check_openvino_device
from ecgbench.errors import BadInputError
from ecgbench.export.pipeline import ExportedVariant, ExportOptions, ModelExporter
from ecgbench.nets.flops import measure_complexity
from ecgbench.progress import progress_bar
from ecgbench.zoo import Zoo, checkpoint_from

FORMAT_OF = {"openvino": "openvino", "onnxruntime": "onnx"}


@dataclass
class RunOptions:
    export: ExportOptions = field(default_factory=ExportOptions)
    output: Path | None = None
    store: Path | None = None  # None: the default store (./results)
    use_store: bool = True
    crosscheck: bool = False
    crosscheck_rounds: int = 32  # ABBA rounds of 1 s bursts per OpenVINO row
    verify: bool = True
    show_progress: bool = True
    command: str = ""


@dataclass
class _Loaded:
    model: str
    backend_name: str
    device: str
    precision: str
    batch: int
    shape: tuple[int, int, int]
    artifact: Path
    backend: Backend
    info: LoadInfo
    flops: int
    params: int
    variant: ExportedVariant | None
    timed: TimedVariant
    accuracy: dict[str, Any]
    x: np.ndarray


@contextmanager
def _signals_as_interrupt():
    """SIGTERM (a CI runner cancelling the job) stops the run like Ctrl-C: finished rows are kept.

    SIGINT is handled explicitly too: a process started in the background of a non-interactive
    shell inherits SIGINT as ignored, and Python then never raises KeyboardInterrupt for it.
    """

    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def default_threads() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _check_devices(plan: RunPlan) -> None:
    """Fail early, before any export, on an absent or unknown device."""
    if "openvino" in plan.backends:
        for d in plan.devices:
            check_openvino_device(d)


def _load_all(plan: RunPlan, opts: RunOptions, zoo: Zoo, threads: int, log) -> list[_Loaded]:
    names = zoo.names() if "all" in plan.models else list(plan.models)
    if not names:
        raise BadInputError("no models to run: the zoo is empty and no checkpoint was given")
    loaded: list[_Loaded] = []
    exporters: dict[str, ModelExporter] = {}
    complexity: dict[tuple[str, int], tuple[int, int]] = {}
    for model, bname, device, precision, batch in plan.jobs(names):
        name, ckpt, ckpt_path = checkpoint_from(model, zoo)
        samples = (
            plan.samples_by_variant.get(variant_name(name, bname, precision))
            or plan.samples
            or ckpt.preprocessing.eval_samples
        )
        shape = (batch, ckpt.config.in_channels, samples)
        variant = None
        if bname == "torch":
            artifact = ckpt_path
        else:
            if name not in exporters:
                exporters[name] = ModelExporter(
                    name, ckpt, ckpt_path, opts.export, zoo.entries.get(name)
                )
            variant = exporters[name].variant(FORMAT_OF[bname], precision)
            if opts.verify and variant.verification is None:
                v = exporters[name].verify(variant)
                if not v.passed:
                    log(
                        f"[red bold]VERIFICATION FAILED[/] {name} {bname} {precision}: {v.summary()}"
                    )
            artifact = variant.path
        backend = get_backend(bname)
        info = backend.load(
            LoadSpec(
                artifact=artifact,
                device=device,
                batch=batch,
                channels=ckpt.config.in_channels,
                samples=samples,
                threads=threads,
                scenario=plan.scenario,
                static_shape=plan.static_shape,
                checkpoint=ckpt_path,
            )
        )
        x = synthetic_input(ckpt.preprocessing, batch=batch, samples=samples)
        backend.set_input(x)
        if (name, samples) not in complexity:
            cx = measure_complexity(ckpt.config, (1, ckpt.config.in_channels, samples))
            complexity[(name, samples)] = (cx.flops, cx.params)
        flops, params = complexity[(name, samples)]
        entry = zoo.entries.get(name)
        acc = (entry.variants.get(f"{bname}-{precision}", {}) if entry else {}) or {}
        label = f"{name} {bname} {device} {precision} b{batch}"
        loaded.append(
            _Loaded(
                model=name,
                backend_name=bname,
                device=device,
                precision=precision,
                batch=batch,
                shape=shape,
                artifact=artifact,
                backend=backend,
                info=info,
                flops=flops,
                params=params,
                variant=variant,
                timed=TimedVariant(
                    label=label, run=backend.run, runtime_probe=backend.runtime_probe()
                ),
                accuracy=acc,
                x=x,
            )
        )
    return loaded


def _row(
    item: _Loaded, plan: RunPlan, threads: int, gemm_gflops: float | None, stats: LatencyStats,
    samples_ns: list[int], complete: bool,
) -> ResultRow:  # fmt: skip
    achieved = item.flops * item.batch / (stats.median_ms * 1e6) if stats.median_ms else None
    # The runtime's own time per call, where the backend keeps one (OpenVINO), call by call beside
    # the wall samples (a Ctrl-C between the two appends can leave it one shorter).
    n_own = min(len(item.timed.runtime_ns), len(samples_ns))
    runtime_ms = overhead_ms = None
    if n_own:
        own = item.timed.runtime_ns[:n_own]
        runtime_ms = float(np.median(own)) / 1e6
        overhead_ms = float(np.median(np.subtract(samples_ns[:n_own], own))) / 1e6
    v = item.variant.verification if item.variant else None
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
        gemm_fraction=(achieved / gemm_gflops) if (achieved and gemm_gflops) else None,
        threads=threads,
        execution_devices=item.info.execution_devices,
        inference_precision=item.info.inference_precision,
        int8_layers=item.info.int8_layers,
        total_layers=item.info.total_layers,
        challenge_score=item.accuracy.get("challenge_score"),
        auroc=item.accuracy.get("auroc"),
        verification=v.summary() if v else None,
        complete=complete,
        extra={
            "source": item.variant.source if item.variant else "checkpoint",
            **{k: v for k, v in item.info.extra.items() if k != "runtime_precisions"},
            "runtime_precisions": item.info.extra.get("runtime_precisions", {}),
        },
    )


def run_plan(plan: RunPlan, opts: RunOptions, zoo: Zoo | None = None, log=print) -> RunDocument:
    """Time every job of ``plan``; always returns (and writes) a valid document, even on Ctrl-C."""
    plan.validate()
    zoo = zoo or Zoo()
    threads = plan.threads or default_threads()
    _check_devices(plan)
    fp = collect_fingerprint(threads)
    doc = RunDocument(fingerprint=fp.to_dict(), command=opts.command or shlex.join(sys.argv))
    loaded = _load_all(plan, opts, zoo, threads, log)
    gemm = GemmReference(threads)
    gemm_timed = TimedVariant(label=gemm.label, run=gemm.run)
    ref_model = ModelReference(threads)
    ref_timed = TimedVariant(label=ref_model.label, run=ref_model.run)
    rule = StopRule(
        min_duration_s=plan.duration,
        min_iters=plan.min_iters,
        warmup_s=plan.warmup,
        round_s=plan.round_s,
        settle_s=plan.settle_s,
    )
    interrupted = False

    def build_doc(complete: bool) -> RunDocument:
        gemm_gflops = None
        if gemm_timed.samples_ns:
            gstats = LatencyStats.from_ns(gemm_timed.samples_ns)
            gemm_gflops = gemm.gflops(gstats.median_ms * 1e6)
            doc.reference = {
                "label": gemm.label,
                "n": gemm.n,
                "median_ms": gstats.median_ms,
                "gflops": gemm_gflops,
                "samples_ns": list(gemm_timed.samples_ns),
                "slices": [list(x) for x in gemm_timed.slices],
            }
        doc.fingerprint["gemm_gflops"] = gemm_gflops
        if ref_timed.samples_ns:
            doc.reference["model"] = {
                "label": ref_model.label,
                "median_ms": LatencyStats.from_ns(ref_timed.samples_ns).median_ms,
                "samples_ns": list(ref_timed.samples_ns),
                "slices": [list(x) for x in ref_timed.slices],
            }
        rows = []
        for it in loaded:
            s = list(it.timed.samples_ns)
            if not s:
                continue
            done = rule.done(it.timed.elapsed_ns, len(s))
            stats = LatencyStats.from_ns(s, it.batch)
            rows.append(_row(it, plan, threads, gemm_gflops, stats, s, complete and done))
        doc.rows = rows
        doc.complete = complete
        return doc

    last_write = [time.monotonic()]

    def checkpoint_write(rnd: int, _variants) -> None:
        if opts.output and time.monotonic() - last_write[0] > 5.0:
            build_doc(False).write(opts.output)
            last_write[0] = time.monotonic()

    try:
        with _signals_as_interrupt(), progress_bar(opts.show_progress) as bar:
            if plan.scenario == "latency":
                variants = [it.timed for it in loaded] + [gemm_timed, ref_timed]
                total = len(variants) * plan.duration
                task = bar.add_task("timing (interleaved)", total=total)

                def on_round(rnd: int, vs) -> None:
                    done = sum(min(v.elapsed_ns / 1e9, plan.duration) for v in vs)
                    bar.update(task, completed=done)
                    checkpoint_write(rnd, vs)

                time_interleaved(variants, rule, on_round=on_round)
            else:
                _run_throughput(loaded, plan, gemm_timed, rule, bar)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for it in loaded:
            it.backend.close()
    build_doc(not interrupted)
    if plan.scenario == "latency" and opts.crosscheck and not interrupted:
        from ecgbench.bench.crosscheck import crosscheck_rows

        crosscheck_rows(doc, threads, log, rounds=opts.crosscheck_rounds)
    if opts.output:
        doc.write(opts.output)
    if opts.use_store and doc.rows:
        append_to_store(doc, opts.store)
    if interrupted:
        raise KeyboardInterrupt
    return doc


def _run_throughput(loaded: list[_Loaded], plan: RunPlan, gemm_timed, rule: StopRule, bar) -> None:
    """Each variant with all its parallelism, one after another (they would compete otherwise)."""
    time_interleaved([gemm_timed], StopRule(1.0, 10, 0.2, 0.25))
    task = bar.add_task("throughput", total=len(loaded))
    for it in loaded:
        x = it.x
        it.backend.run_throughput(x, 8)  # warm-up
        t0 = time.perf_counter_ns()
        stamps: list[int] = []
        while True:
            stamps += it.backend.run_throughput(x, 32)
            if rule.done(time.perf_counter_ns() - t0, len(stamps)):
                break
        # Inter-completion intervals: their mean is 1/throughput; the first one starts at t0.
        intervals = np.diff(np.asarray([t0, *sorted(stamps)])).tolist()
        it.timed.samples_ns.extend(int(v) for v in intervals)
        it.timed.elapsed_ns = int(sum(intervals))
        it.timed.first_call_ns = it.timed.first_call_ns or 0
        bar.advance(task)
