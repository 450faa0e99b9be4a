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

from ecgbench.backends import Backend, LoadInfo, LoadSpec, format_of, get_backend
from ecgbench.bench.fingerprint import collect_fingerprint
from ecgbench.bench.references import (
    GemmCeiling,
    ModelReference,
    build_ceilings,
    ceiling_arithmetics,
)
from ecgbench.bench.results import ResultRow, RunDocument, append_to_store
from ecgbench.bench.suite import RunPlan
from ecgbench.bench.timing import LatencyStats, StopRule, TimedVariant, time_interleaved
from ecgbench.data.synthetic import synthetic_input
from ecgbench.errors import BadInputError
from ecgbench.export.build import ExportedVariant, ExportOptions
from ecgbench.export.pipeline import ModelExporter
from ecgbench.export.verify import Verification
from ecgbench.host import (
    check_openvino_device,
    cpu_description,
    default_threads,
    device_arithmetic,
    device_kind,
)
from ecgbench.nets.flops import measure_complexity
from ecgbench.precision import (
    Arithmetic,
    Execution,
    ExecutionCheck,
    PrecisionUnsupportedError,
    ceiling_arithmetic,
    executed_label,
    matches_request,
    plan_execution,
)
from ecgbench.progress import progress_bar
from ecgbench.variant import Variant
from ecgbench.zoo import Zoo, checkpoint_from


@dataclass
class RunOptions:
    export: ExportOptions = field(default_factory=ExportOptions)
    output: Path | None = None
    store: str | None = None  # a database URL or folder; None: $ECGBENCH_RESULTS or ./results
    machine_name: str | None = None  # how the store names this machine (default: from the CPU)
    use_store: bool = True
    crosscheck: bool = False
    crosscheck_rounds: int = 32  # ABBA rounds of 1 s bursts per OpenVINO row
    profile: bool = False  # OpenVINO rows: per-layer counters after timing (row.extra["profile"])
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
    check: ExecutionCheck
    verification: Verification | None = None
    profile: dict[str, Any] | None = None


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


def _check_devices(plan: RunPlan) -> None:
    """Fail early, before any export, on an absent or unknown device."""
    if "openvino" in plan.backends:
        for d in plan.devices:
            check_openvino_device(d)


Job = tuple[str, str, str, str, int, Execution]


def plan_jobs(plan: RunPlan, names: list[str], log) -> list[Job]:
    """Every (model, backend, device, precision, batch) with how it executes; before any export.

    A precision the device does not execute is an error when named on the command line, and a
    note (one per backend, device and precision) when it came from ``all`` or a profile.
    """
    arith: dict[tuple[str, str], Arithmetic] = {}
    jobs: list[Job] = []
    noted: set[tuple[str, str, str]] = set()
    for model, bname, device, precision, batch in plan.jobs(names):
        dev = device if bname == "openvino" else "CPU"
        if (bname, dev) not in arith:
            arith[(bname, dev)] = device_arithmetic(dev)
        try:
            ex = plan_execution(bname, precision, arith[(bname, dev)], plan.int8_rest)
        except PrecisionUnsupportedError as e:
            if not plan.skip_unsupported:
                raise
            if (bname, device, precision) not in noted:
                noted.add((bname, device, precision))
                log(f"[yellow]skipped[/] {bname} {precision} on {device}: {e}")
            continue
        jobs.append((model, bname, device, precision, batch, ex))
    return jobs


def _verification_hint(
    backend: str, precision: str, device: str, ex: Execution, plan: RunPlan
) -> str | None:
    """Verification runs on the CPU: a GPU/NPU row's hint (f16) is re-planned for the CPU."""
    if device_kind(device) == "CPU" or backend != "openvino":
        return ex.hint
    try:
        return plan_execution(backend, precision, device_arithmetic("CPU"), plan.int8_rest).hint
    except PrecisionUnsupportedError:
        return None  # the CPU's own default for that artifact


def load_variants(plan: RunPlan, opts: RunOptions, zoo: Zoo, threads: int, log) -> list[_Loaded]:
    """Export (cached), verify and load every job of ``plan`` from ``zoo``; nothing timed yet."""
    names = zoo.names() if "all" in plan.models else list(plan.models)
    if not names:
        raise BadInputError("no models to run: the zoo is empty and no checkpoint was given")
    jobs = plan_jobs(plan, names, log)
    here = cpu_description()
    if not jobs:
        raise BadInputError("nothing to run: no requested precision executes on this device")
    loaded: list[_Loaded] = []
    exporters: dict[str, ModelExporter] = {}
    complexity: dict[tuple[str, int], tuple[int, int]] = {}
    for model, bname, device, precision, batch, ex in jobs:
        name, ckpt, ckpt_path = checkpoint_from(model, zoo)
        samples = (
            plan.samples_by_variant.get(Variant(name, bname, precision).name)
            or plan.samples
            or ckpt.preprocessing.eval_samples
        )
        shape = (batch, ckpt.config.in_channels, samples)
        variant = None
        verification = None
        if bname == "torch":
            artifact = ckpt_path
        else:
            if name not in exporters:
                exporters[name] = ModelExporter(
                    name, ckpt, ckpt_path, opts.export, zoo.entries.get(name)
                )
            variant = exporters[name].variant(format_of(bname), ex.artifact)
            if opts.verify:
                verification = exporters[name].verify(
                    variant, _verification_hint(bname, precision, device, ex, plan), precision
                )
                if not verification.passed:
                    log(
                        f"[red bold]VERIFICATION FAILED[/] {name} {bname} {precision}: "
                        f"{verification.summary()}"
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
                inference_precision=ex.hint,
            )
        )
        check = ExecutionCheck(ex, executed_label(precision, info.inference_precision))
        if not check.as_planned:
            log(f"[red bold]PRECISION[/] {name} {bname} {device}: {check.summary()}")
        x = synthetic_input(ckpt.preprocessing, batch=batch, samples=samples)
        backend.set_input(x)
        if (name, samples) not in complexity:
            cx = measure_complexity(ckpt.config, (1, ckpt.config.in_channels, samples))
            complexity[(name, samples)] = (cx.flops, cx.params)
        flops, params = complexity[(name, samples)]
        entry = zoo.entries.get(name)
        acc = entry.scores_for(bname, precision, check.executed) if entry else {}
        if acc.get("measured_on") and acc["measured_on"] != here:
            # INT8 (and any) scores can differ by CPU: shown, and said where they come from
            acc = {**acc, "note": f"score measured on {acc['measured_on']}"}
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
                check=check,
                verification=verification,
            )
        )
    return loaded


def result_row(
    item: _Loaded, plan: RunPlan, threads: int, ceilings: dict[str, float], stats: LatencyStats,
    samples_ns: list[int], complete: bool,
) -> ResultRow:  # fmt: skip
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


def _on_cpu(item: _Loaded) -> bool:
    return all(d.upper().startswith("CPU") or d == "cpu" or d == "CPUExecutionProvider"
               for d in item.info.execution_devices or [item.device])  # fmt: skip


def _ceiling_doc(c: GemmCeiling, t: TimedVariant) -> dict[str, Any]:
    st = LatencyStats.from_ns(t.samples_ns)
    return {
        "label": c.label,
        "arithmetic": c.arithmetic,
        "executed": c.executed,
        "as_asked": c.as_asked,
        "n": c.n,
        "median_ms": st.median_ms,
        "gflops": c.gflops(st.median_ms * 1e6),
        "samples_ns": list(t.samples_ns),
        "slices": [list(x) for x in t.slices],
    }


def run_plan(plan: RunPlan, opts: RunOptions, zoo: Zoo | None = None, log=print) -> RunDocument:
    """Time every job of ``plan``; always returns (and writes) a valid document, even on Ctrl-C."""
    plan.validate()
    zoo = zoo or Zoo()
    threads = plan.threads or default_threads()
    _check_devices(plan)
    fp = collect_fingerprint(threads)
    doc = RunDocument(
        fingerprint=fp.to_dict(), command=opts.command or shlex.join(sys.argv), suite=plan.name
    )
    if opts.machine_name:
        doc.fingerprint["machine_name"] = opts.machine_name
    loaded = load_variants(plan, opts, zoo, threads, log)
    cpu = device_arithmetic("CPU")
    ceilings = build_ceilings(threads, ceiling_arithmetics(cpu.float_types(), cpu.executes("int8")))
    for c in ceilings:
        if not c.as_asked:
            log(f"[yellow]ceiling[/] the {c.arithmetic} GEMM executed as {c.executed}")
    ceiling_timed = [TimedVariant(label=c.label, run=c.run) for c in ceilings]
    gemm, gemm_timed = ceilings[0], ceiling_timed[0]  # f32: the gate's "gemm" reference
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
        per_arith: dict[str, float] = {}
        if gemm_timed.samples_ns:
            doc.reference = _ceiling_doc(gemm, gemm_timed)
            gemm_gflops = doc.reference["gflops"]
            doc.reference["ceilings"] = {
                c.arithmetic: _ceiling_doc(c, t)
                for c, t in zip(ceilings, ceiling_timed, strict=True)
                if t.samples_ns
            }
            per_arith = {a: d["gflops"] for a, d in doc.reference["ceilings"].items()}
        doc.fingerprint["gemm_gflops"] = gemm_gflops
        doc.fingerprint["ceilings_gflops"] = per_arith
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
            rows.append(result_row(it, plan, threads, per_arith, stats, s, complete and done))
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
                variants = [it.timed for it in loaded] + [*ceiling_timed, ref_timed]
                total = len(variants) * plan.duration
                task = bar.add_task("timing (interleaved)", total=total)

                def on_round(rnd: int, vs) -> None:
                    done = sum(min(v.elapsed_ns / 1e9, plan.duration) for v in vs)
                    bar.update(task, completed=done)
                    checkpoint_write(rnd, vs)

                time_interleaved(variants, rule, on_round=on_round)
            else:
                _run_throughput(loaded, plan, ceiling_timed, rule, bar)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for it in loaded:
            it.backend.close()
    build_doc(not interrupted)
    if opts.profile and not interrupted:
        if opts.output:  # the timed rows are safe before profiling recompiles every variant
            doc.write(opts.output)
        try:
            with _signals_as_interrupt():
                _profile_rows(loaded, threads, log)
        except KeyboardInterrupt:
            interrupted = True  # the rows are complete; profiles stop where they stopped
        build_doc(True)
    if plan.scenario == "latency" and opts.crosscheck and not interrupted:
        from ecgbench.bench.crosscheck import crosscheck_rows

        crosscheck_rows(doc, threads, log, rounds=opts.crosscheck_rounds)
    if opts.output:
        doc.write(opts.output)
    if opts.use_store and doc.rows:
        append_to_store(doc, opts.store, opts.machine_name)
    if interrupted:
        raise KeyboardInterrupt
    return doc


def _profile_rows(loaded: list[_Loaded], threads: int, log) -> None:
    """Per-layer counters of every OpenVINO row, each from its own compilation after timing."""
    from ecgbench.bench.profile import profile_openvino
    from ecgbench.errors import EcgbenchError

    for it in loaded:
        if it.backend_name != "openvino":
            continue
        try:
            p = profile_openvino(
                it.artifact, it.x, it.check.planned.hint, it.device, threads,
                label=f"{it.model} {it.precision} b{it.batch} {it.device}", precision=it.precision,
            )  # fmt: skip
        except (EcgbenchError, RuntimeError) as e:  # a device that keeps no counters, say
            log(f"[yellow]profile[/] {it.model} openvino {it.precision} {it.device}: {e}")
            continue
        it.profile = p.to_dict()
        split = ", ".join(f"{a} {ms:.2f}" for a, ms in p.by_arithmetic.items())
        log(f"profile {it.model} openvino {it.precision} ({p.executed}): ms per arithmetic {split}")


def _run_throughput(
    loaded: list[_Loaded], plan: RunPlan, ceilings: list[TimedVariant], rule: StopRule, bar
) -> None:
    """Each variant with all its parallelism, one after another (they would compete otherwise)."""
    time_interleaved(ceilings, StopRule(1.0, 10, 0.2, 0.25))
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
