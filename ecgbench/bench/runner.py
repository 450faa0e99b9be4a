"""``ecgbench run``: export on demand, load every variant, time them interleaved, store the rows."""

from __future__ import annotations

import shlex
import sys

from ecgbench.backends import LoadSpec, backend_class, can_profile
from ecgbench.bench.options import RunOptions
from ecgbench.bench.probes.footprint import DEFAULT_CALLS, measure_footprint
from ecgbench.bench.references import ReferenceWorkloads
from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.fingerprint import collect_fingerprint
from ecgbench.bench.results.writer import RunWriter
from ecgbench.bench.rounds import signals_as_interrupt, stop_rule, time_all
from ecgbench.bench.store.database import append_to_store
from ecgbench.bench.suite import Suite
from ecgbench.bench.variants import LoadedVariant, load_variants
from ecgbench.errors import EcgbenchError
from ecgbench.host import check_openvino_device, default_threads, device_arithmetic
from ecgbench.zoo import Zoo


def run_plan(plan: Suite, opts: RunOptions, zoo: Zoo | None = None, log=print) -> RunDocument:
    """Time every job of ``plan``; always returns (and writes) a valid document, even on Ctrl-C."""
    plan.validate()
    zoo = zoo or Zoo()
    threads = plan.threads or default_threads()
    _check_devices(plan)
    doc = _new_document(plan, opts, threads)
    if plan.scenario == "stream":  # opt-in: windows in wall-clock time (bench/stream/scenario.py)
        from ecgbench.bench.stream.scenario import run_stream

        return run_stream(plan, opts, zoo, threads, doc, log)
    loaded = load_variants(plan, opts, zoo, threads, log)
    refs = ReferenceWorkloads.build(threads, device_arithmetic("CPU"), log)
    rule = stop_rule(plan)
    writer = RunWriter(doc, plan, threads, loaded, refs, rule, opts.output)
    finished = time_all(loaded, refs, plan, rule, writer.maybe_write, opts.show_progress)
    writer.build(complete=finished)
    if opts.profile and finished:
        finished = _profile(loaded, threads, writer, log)
    if plan.footprint and finished:
        finished = _footprint(loaded, plan, threads, writer, log)
    if plan.scenario == "latency" and opts.crosscheck and finished:
        from ecgbench.bench.probes.crosscheck import crosscheck_rows

        crosscheck_rows(doc, threads, log, rounds=opts.crosscheck_rounds)
    writer.write()
    if opts.use_store and doc.rows:
        append_to_store(doc, opts.store, opts.machine_name)
    if not finished:
        raise KeyboardInterrupt
    return doc


def _check_devices(plan: Suite) -> None:
    """Fail early, before any export, on an absent or unknown device."""
    if any(backend_class(b).OPENVINO_DEVICES for b in plan.backends):
        for d in plan.devices:
            check_openvino_device(d)


def _new_document(plan: Suite, opts: RunOptions, threads: int) -> RunDocument:
    """No rows yet; the fingerprint is taken before anything loads."""
    fp = collect_fingerprint(threads)
    doc = RunDocument(
        fingerprint=fp.to_dict(), command=opts.command or shlex.join(sys.argv), suite=plan.name
    )
    if opts.machine_name:
        doc.fingerprint["machine_name"] = opts.machine_name
    return doc


def _profile(loaded: list[LoadedVariant], threads: int, writer: RunWriter, log) -> bool:
    """Per-layer profiles after timing; False when Ctrl-C stopped them (the rows stay complete)."""
    writer.write()  # the timed rows are safe before profiling recompiles every variant
    finished = True
    try:
        with signals_as_interrupt():
            _profile_rows(loaded, threads, log)
    except KeyboardInterrupt:
        finished = False  # the profiles stop where they stopped
    writer.build(complete=True)
    return finished


def _footprint(
    loaded: list[LoadedVariant], plan: Suite, threads: int, writer: RunWriter, log
) -> bool:
    """Memory and start-up of every variant, each in fresh processes, after timing (so that they
    never run beside the timed calls); False when Ctrl-C stopped them."""
    writer.write()
    finished = True
    try:
        with signals_as_interrupt():
            _measure_footprints(loaded, plan, threads, log)
    except KeyboardInterrupt:
        finished = False
    writer.build(complete=True)
    return finished


def _measure_footprints(
    loaded: list[LoadedVariant], plan: Suite, threads: int, log, infer_calls: int = DEFAULT_CALLS
) -> None:
    """Each loaded variant's footprint, as it was loaded for timing, into ``item.footprint``."""
    for it in loaded:
        spec = LoadSpec(
            artifact=it.artifact,
            device=it.device,
            batch=it.batch,
            channels=it.shape[1],
            samples=it.shape[2],
            threads=threads,
            scenario=plan.scenario,
            static_shape=plan.static_shape,
            inference_precision=it.check.planned.hint,
            layout=it.layout,
        )
        label = f"{it.model} {it.backend_name} {it.device} {it.precision} b{it.batch}"
        try:
            it.footprint = measure_footprint(it.backend_name, spec, infer_calls)
        except EcgbenchError as e:  # one variant's failure leaves the others' footprints
            log(f"[yellow]footprint[/] {label}: {e}")
            continue
        f = it.footprint
        log(
            f"footprint {label}: peak RSS compile {f.peak_rss_compile_mb:.1f} MB, "
            f"infer {f.peak_rss_infer_mb:.1f} MB above {f.rss_baseline_mb:.1f} MB; compile cold "
            f"{f.compile_cold_ms:.0f} ms, warm {f.compile_warm_ms:.0f} ms"
        )


def _profile_rows(loaded: list[LoadedVariant], threads: int, log) -> None:
    """Per-layer counters of every OpenVINO row, each from its own compilation after timing."""
    from ecgbench.bench.probes.profile import profile_openvino

    for it in loaded:
        if not can_profile(it.backend_name):
            continue
        try:
            p = profile_openvino(
                it.artifact,
                it.x,
                it.check.planned.hint,
                it.device,
                threads,
                label=f"{it.model} {it.precision} b{it.batch} {it.device}",
                precision=it.precision,
            )
        except (EcgbenchError, RuntimeError) as e:  # a device that keeps no counters, say
            log(f"[yellow]profile[/] {it.model} openvino {it.precision} {it.device}: {e}")
            continue
        it.profile = p.to_dict()
        split = ", ".join(f"{a} {ms:.2f}" for a, ms in p.by_arithmetic.items())
        log(f"profile {it.model} openvino {it.precision} ({p.executed}): ms per arithmetic {split}")
