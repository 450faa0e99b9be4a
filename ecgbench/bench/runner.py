"""``ecgbench run``: export on demand, load every variant, time them interleaved, store the rows."""

from __future__ import annotations

import shlex
import sys

from ecgbench.backends import backend_class
from ecgbench.bench.lifecycle import Lifecycle, Log, Probe, Scenario, reraise_if_stopped, stop_rule
from ecgbench.bench.options import RunOptions
from ecgbench.bench.references import ReferenceWorkloads
from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.fingerprint import collect_fingerprint
from ecgbench.bench.results.writer import RunWriter
from ecgbench.bench.store.database import append_to_store
from ecgbench.bench.suite import Suite
from ecgbench.bench.variants import load_variants
from ecgbench.host import check_openvino_device, default_threads, device_arithmetic
from ecgbench.zoo import Zoo


def run_plan(plan: Suite, opts: RunOptions, zoo: Zoo | None = None, log=print) -> RunDocument:
    """Time every job of ``plan``; always returns (and writes) a valid document, even on Ctrl-C."""
    plan.validate()
    zoo = zoo or Zoo()
    threads = plan.threads or default_threads()
    _check_devices(plan)
    doc = _new_document(plan, opts, threads)
    scenario = scenario_for(plan, threads, zoo, log)
    plan = scenario.prepare(plan)
    loaded = load_variants(plan, opts, zoo, threads, log)
    refs = (
        ReferenceWorkloads.build(threads, device_arithmetic("CPU"), log)
        if scenario.times_references
        else ReferenceWorkloads.none()
    )
    life = Lifecycle(
        scenario,
        stop_rule(plan),
        references=scenario.references(refs),
        probes=_probes(scenario, plan, opts, threads),
        show_progress=opts.show_progress,
        log=log,
    )
    writer = RunWriter(doc, scenario, loaded, refs, opts.output, every_s=scenario.write_every_s)
    finished = life.drive(loaded, writer.maybe_write)
    pairs = writer.build(complete=finished)
    if finished:
        _, finished = life.measure(pairs, writer.save)
    else:
        writer.save(doc.rows)
    if opts.use_store and doc.rows:
        append_to_store(doc, opts.store, opts.machine_name)
    reraise_if_stopped(finished)
    return doc


def scenario_for(plan: Suite, threads: int, zoo: Zoo, log: Log = print) -> Scenario:
    """The plan's scenario (``latency``, ``throughput`` or ``stream``)."""
    if plan.scenario == "stream":  # opt-in: windows in wall-clock time (scenarios/stream/)
        from ecgbench.bench.scenarios.stream.scenario import StreamScenario

        return StreamScenario.of(plan, threads, zoo, log)
    from ecgbench.bench.scenarios.interleaved import LatencyScenario, ThroughputScenario

    cls = LatencyScenario if plan.scenario == "latency" else ThroughputScenario
    return cls(plan, threads)


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


def _probes(scenario: Scenario, plan: Suite, opts: RunOptions, threads: int) -> list[Probe]:
    """The probes asked for that measure beside ``scenario``, in the order they run."""
    from ecgbench.bench.probes.crosscheck import CrosscheckProbe
    from ecgbench.bench.probes.footprint import FootprintProbe
    from ecgbench.bench.probes.profile import ProfileProbe

    asked: list[Probe] = []
    if opts.profile:
        asked.append(ProfileProbe(threads))
    if plan.footprint:
        asked.append(FootprintProbe(plan, threads))
    if opts.crosscheck:
        asked.append(CrosscheckProbe(threads, rounds=opts.crosscheck_rounds))
    return [p for p in asked if p.name in scenario.probes]
