"""From a run plan to loaded variants: every job planned, exported (cached), verified and loaded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecgbench.backends import (
    Backend,
    LoadInfo,
    LoadSpec,
    backend_class,
    format_of,
    get_backend,
    plan_execution,
)
from ecgbench.bench.lengths import check_model_lengths, lengths_of
from ecgbench.bench.model_facts import ModelFacts, model_facts
from ecgbench.bench.options import RunOptions
from ecgbench.bench.results.score_origin import other_cpu_note
from ecgbench.bench.suite import Suite
from ecgbench.bench.timing import TimedVariant
from ecgbench.errors import BadInputError, EcgbenchError
from ecgbench.export.brought import VariantUnavailable
from ecgbench.export.build import ExportedVariant
from ecgbench.export.digest import artifact_digest, score_is_of
from ecgbench.export.verify import Verification
from ecgbench.host import cpu_description, device_arithmetic, device_kind
from ecgbench.precision import (
    Arithmetic,
    Execution,
    ExecutionCheck,
    PrecisionUnsupportedError,
    executed_label,
)
from ecgbench.variant import Variant
from ecgbench.zoo import Zoo


@dataclass
class LoadedVariant:
    """One job exported, verified and loaded: what timing runs and what its row reports."""

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
    layout: str = "NCL"  # of ``x`` (a brought model's card may say "NLC"); ``shape`` is NCL
    # run --pipeline: the end-to-end call on the same loaded backend, timed in the same rounds
    pipeline: Any = None  # bench.probes.pipeline.EndToEnd
    card: Any = None  # ModelCard: its preprocessing (--pipeline, the stream's causal path)
    preprocess_ns: list[int] = field(default_factory=list)  # the stream's causal path, per window
    pipeline_timed: TimedVariant | None = None


Job = tuple[str, str, str, str, int, Execution]
# what a job loads: the file, the exported variant it is (none: a checkpoint), its verification
_Source = tuple[Path, ExportedVariant | None, Verification | None]


def plan_jobs(plan: Suite, names: list[str], log) -> list[Job]:
    """Every (model, backend, device, precision, batch) with how it executes; before any export.

    A precision the device does not execute is an error when named on the command line, and a
    note (one per backend, device and precision) when it came from ``all`` or a profile.
    """
    arith: dict[tuple[str, str], Arithmetic] = {}
    jobs: list[Job] = []
    noted: set[tuple[str, str, str]] = set()
    for model, bname, device, precision, batch in plan.jobs(names):
        dev = backend_class(bname).arithmetic_device(device)
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
    backend: str, precision: str, device: str, ex: Execution, plan: Suite
) -> str | None:
    """Verification runs on the CPU: a GPU/NPU row's hint (f16) is re-planned for the CPU."""
    if device_kind(device) == "CPU" or not backend_class(backend).OPENVINO_DEVICES:
        return ex.hint
    try:
        return plan_execution(backend, precision, device_arithmetic("CPU"), plan.int8_rest).hint
    except PrecisionUnsupportedError:
        return None  # the CPU's own default for that artifact


def load_variants(
    plan: Suite, opts: RunOptions, zoo: Zoo, threads: int, log
) -> list[LoadedVariant]:
    """Export (cached), verify and load every job of ``plan`` from ``zoo``; nothing timed yet."""
    names = zoo.names() if "all" in plan.models else list(plan.models)
    if not names:
        raise BadInputError("no models to run: the zoo is empty and no checkpoint was given")
    jobs = plan_jobs(plan, names, log)
    here = cpu_description()
    if not jobs:
        raise BadInputError("nothing to run: no requested precision executes on this device")
    loaded: list[LoadedVariant] = []
    facts: dict[str, ModelFacts] = {}
    exporters: dict[str, Any] = {}
    complexity: dict[tuple[str, int], tuple[int, int]] = {}
    windows: dict[tuple[str, int], Any] = {}
    for job in jobs:
        model, bname, _, precision, _, _ = job
        if model not in facts:
            facts[model] = model_facts(model, zoo, opts.export)
        mf = facts[model]
        lengths = lengths_of(
            plan.input_samples,
            plan.lengths,
            plan.input_samples_by_variant.get(Variant(mf.name, bname, precision).name),
            mf.samples,
        )
        if not plan.lengths:  # one length: refused; of several, one too short is a skipped line
            check_model_lengths(mf.name, mf.min_samples, lengths)
        source = _artifact_for(job, mf, plan, opts, exporters, log)
        if source is None:
            continue
        for samples in lengths:
            item = _load_at_length(
                job, mf, samples, source, plan, threads, zoo, here, complexity, log
            )
            if item is None:
                continue
            loaded.append(item)
            if plan.pipeline:
                _attach_pipeline(loaded[-1], mf, samples, opts, windows)
    if not loaded:
        raise BadInputError("nothing to run: no variant loaded at the input lengths asked")
    return loaded


def _artifact_for(
    job: Job,
    mf: ModelFacts,
    plan: Suite,
    opts: RunOptions,
    exporters: dict[str, Any],
    log,
) -> _Source | None:
    """The file a job loads (exported and verified once per job); None (one line) to skip it."""
    _, bname, device, precision, _, ex = job
    name = mf.name
    if backend_class(bname).RUNS_CHECKPOINT:
        if mf.checkpoint is None:
            log(f"[yellow]skipped[/] {name} {bname}: a brought model has no PyTorch form")
            return None
        return mf.checkpoint, None, None
    if name not in exporters:
        exporters[name] = mf.exporter()
    try:
        variant = exporters[name].variant(format_of(bname), ex.artifact)
    except VariantUnavailable as e:
        log(f"[yellow]skipped[/] {name} {bname} {precision}: {e}")
        return None
    verification = None
    if opts.verify:
        verification = exporters[name].verify(
            variant, _verification_hint(bname, precision, device, ex, plan), precision
        )
        if not verification.passed:
            log(
                f"[red bold]VERIFICATION FAILED[/] {name} {bname} {precision}: "
                f"{verification.summary()}"
            )
    return variant.path, variant, verification


def _load_at_length(
    job: Job,
    mf: ModelFacts,
    samples: int,
    source: _Source,
    plan: Suite,
    threads: int,
    zoo: Zoo,
    here: str,
    complexity: dict[tuple[str, int], tuple[int, int]],
    log,
) -> LoadedVariant | None:
    """One job loaded at one input length, its execution checked; None where a length skips."""
    _, bname, device, precision, batch, ex = job
    artifact, variant, verification = source
    name = mf.name
    backend = get_backend(bname)
    spec = _load_spec(job, mf, samples, artifact, plan, threads)
    shape = (batch, mf.channels, samples)  # [batch, leads, samples] whatever the layout
    label = f"{name} {bname} {device} {precision} b{batch}"
    if plan.lengths:
        label += f" {samples} samples"
        got = _load_or_skip(backend, spec, mf.synthetic, label, log)
        if got is None:
            return None
        info, x = got
    else:
        info = backend.load(spec)
        x = mf.synthetic(batch, samples)
        backend.set_input(x)
    executed = executed_label(precision, info.inference_precision, info.int8_layers)
    check = ExecutionCheck(ex, executed, verified=info.verified)
    if not check.as_planned:
        log(f"[red bold]PRECISION[/] {name} {bname} {device}: {check.summary()}")
    if (name, samples) not in complexity:
        complexity[(name, samples)] = mf.complexity(samples)
    flops, params = complexity[(name, samples)]
    acc = _manifest_scores(zoo, name, bname, precision, check.executed, artifact, here)
    return LoadedVariant(
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
        timed=TimedVariant(label=label, run=backend.run, runtime_probe=backend.runtime_probe()),
        accuracy=acc,
        x=x,
        check=check,
        verification=verification,
        layout=mf.layout,
        card=mf.card,
    )


def _load_spec(
    job: Job, mf: ModelFacts, samples: int, artifact: Path, plan: Suite, threads: int
) -> LoadSpec:
    """How the backend loads a job at one length: the plan's scenario, shape and arithmetic hint."""
    _, _, device, _, batch, ex = job
    return LoadSpec(
        artifact=artifact,
        device=device,
        batch=batch,
        channels=mf.channels,
        samples=samples,
        threads=threads,
        # the stream runs one request at a time, as the latency scenario does
        scenario="latency" if plan.scenario == "stream" else plan.scenario,
        static_shape=plan.static_shape,
        inference_precision=ex.hint,
        layout=mf.layout,
    )


def _manifest_scores(
    zoo: Zoo, name: str, bname: str, precision: str, executed: str | None, artifact: Path, here: str
) -> dict[str, Any]:
    """The zoo's score of these exact artifact bytes as executed, noted when from another CPU."""
    entry = zoo.entries.get(name)
    acc = entry.scores_for(bname, precision, executed) if entry else {}
    bundled = entry.artifacts.get(f"{format_of(bname)}-{precision}") if entry else None
    if acc and not score_is_of(acc, artifact_digest(artifact), bundled):
        acc = {}  # another artifact's score (e.g. INT8 calibrated on other records)
    if acc.get("measured_on") and acc["measured_on"] != here:
        # INT8 (and any) scores can differ by CPU: shown, and said where they come from
        acc = {**acc, "note": other_cpu_note(acc["measured_on"])}
    return acc


def _attach_pipeline(
    item: LoadedVariant, mf: ModelFacts, samples: int, opts: RunOptions, cache: dict
) -> None:
    """The end-to-end call of ``item`` (run --pipeline), called once here so that a record the
    model cannot take is one line before any timing."""
    from ecgbench.bench.probes.pipeline import EndToEnd, record_windows, synthetic_windows

    key = (mf.name, samples)
    if key not in cache:
        seconds = samples / mf.card.fs
        cache[key] = (
            record_windows(opts.data, mf.card, seconds)
            if opts.data is not None
            else synthetic_windows(mf.card, seconds)
        )
    e2e = EndToEnd(item.backend, mf.card, cache[key], item.batch, samples)
    try:
        e2e.run()
    except EcgbenchError:
        raise
    except Exception as e:  # each runtime raises its own types; the line says what it said
        raise BadInputError(f"--pipeline {item.timed.label}: {_first_line(e)}") from None
    item.pipeline = e2e
    item.pipeline_timed = e2e.timed(item.timed.label)


def _load_or_skip(
    backend: Backend,
    spec: LoadSpec,
    synthetic: Callable[[int, int], np.ndarray],
    label: str,
    log,
) -> tuple[LoadInfo, np.ndarray] | None:
    """Load and call once at one of several lengths; None (and one line) when it cannot take it.

    A length an artifact cannot take (a graph that fails to compile or run at that shape, or an
    input too short for the synthetic signal's filters) skips
    that row, not the run: the other lengths still give the fit its points."""
    try:
        info = backend.load(spec)
        x = synthetic(spec.batch, spec.samples)
        backend.set_input(x)
        backend.run()
    except Exception as e:  # each runtime raises its own types; the line says what it said
        log(f"[yellow]skipped[/] {label}: {_first_line(e)}")
        return None
    return info, x


def _first_line(e: Exception) -> str:
    said = str(e).strip().splitlines()
    return said[0][:300] if said else type(e).__name__
