"""`ecgbench devices`, `run`, `speedup` and `profile`: timing on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ecgbench.cli._app import app
from ecgbench.cli._format import err, out, print_wide


@app.command()
def devices() -> None:
    """What OpenVINO, ONNX Runtime and PyTorch can run on here."""
    from ecgbench.host import cpu_info, onnxruntime_providers, openvino_devices, torch_devices
    from ecgbench.precision import Arithmetic, int8_isa

    model, isa = cpu_info()
    out.print(f"CPU: {model}; ISA: {', '.join(isa)}; INT8: {int8_isa(isa)}")
    t = Table(title="OpenVINO devices")
    for c in ("device", "full name", "executes natively", "capabilities", "properties"):
        t.add_column(c)
    for d in openvino_devices():
        arith = Arithmetic(d.name, frozenset(d.capabilities), tuple(isa))
        t.add_row(
            d.name,
            d.full_name,
            arith.describe(),
            ", ".join(d.capabilities),
            "; ".join(f"{k}={v}" for k, v in d.properties.items()),
        )
    out.print(t)
    out.print("ONNX Runtime providers: " + ", ".join(onnxruntime_providers()))
    out.print("torch devices: " + ", ".join(torch_devices()))
    out.print(
        "absent here: "
        + (
            ", ".join(
                d
                for d in ("GPU", "NPU")
                if d not in {x.name.split(".")[0] for x in openvino_devices()}
            )
            or "none"
        )
    )


# ``run``'s longer options, named once (the signature stays readable)
PrecisionOpt = Annotated[
    str, typer.Option(help="fp32, bf16, fp16, int8, or all (what executes, not what is stored)")
]
Int8RestOpt = Annotated[
    str, typer.Option(help="INT8: arithmetic of the layers left in float (f32, bf16, f16)")
]
ScenarioOpt = Annotated[
    str, typer.Option(help="latency, throughput, or stream (windows in wall-clock time)")
]
MinSamplesForOpt = Annotated[
    str | None,
    typer.Option(help="Time enough calls for this percentile (p90: 64, p99: 662); also --suite"),
]
InputSamplesOpt = Annotated[
    str | None,
    typer.Option(
        "--input-samples",
        "--samples",
        help="Input length in samples (default: 10 s); 1250,2500,5000: one row each "
        "(--samples: the older name, still accepted)",
    ),
]
StoreOpt = Annotated[
    str | None, typer.Option(help="Results store: sqlite:///F.db, postgresql://…, or a folder")
]
MachineNameOpt = Annotated[
    str | None, typer.Option(help="Name this machine in the store (default: CPU + hash)")
]
CrosscheckRoundsOpt = Annotated[
    int, typer.Option(min=1, help="Cross-check: rounds of 1 s bursts per IR (each ~3 s)")
]
ProfileOpt = Annotated[
    bool, typer.Option(help="OpenVINO rows: per-layer performance counters after timing")
]
StreamSecondsOpt = Annotated[
    float | None, typer.Option(help="Stream: wall-clock seconds per variant (default 20)")
]
HopOpt = Annotated[
    float | None, typer.Option(help="Stream: a new window every HOP seconds (default 2)")
]
WindowOpt = Annotated[
    float | None, typer.Option(help="Stream: window seconds (default: the model's record)")
]
BackgroundOpt = Annotated[
    int | None, typer.Option(help="Stream: CPU-burning processes beside it (default 0)")
]
StreamPreprocessOpt = Annotated[
    str | None,
    typer.Option(
        help="Stream: raw samples arrive and each window also runs the causal preprocessing: "
        "fir (linear phase, the zero-phase shape delayed) or iir (default none: preprocessed "
        "windows)"
    ),
]
FootprintOpt = Annotated[
    bool,
    typer.Option(
        "--footprint", help="Also memory and cold/warm start-up, per variant in fresh processes"
    ),
]
WideOpt = Annotated[
    bool, typer.Option("--wide", help="Every column, whatever the terminal's width")
]
PipelineOpt = Annotated[
    bool,
    typer.Option(
        "--pipeline",
        help="Also time each variant end to end: raw record window -> the model's "
        "preprocessing -> inference -> activation and thresholds",
    ),
]
PipelineDataOpt = Annotated[
    Path | None,
    typer.Option(
        help="--pipeline: raw records that feed it (default $ECGBENCH_DATA; else the "
        "synthetic ECG, said in the table)"
    ),
]


@app.command()
def run(
    device: Annotated[str, typer.Option(help="CPU, GPU, NPU, AUTO, HETERO:GPU,CPU, …")] = "CPU",
    precision: PrecisionOpt = "fp32",
    int8_rest: Int8RestOpt = "f32",
    model: Annotated[str, typer.Option(help="Zoo name(s), checkpoint path, or all")] = "all",
    backend: Annotated[str, typer.Option(help="openvino, onnxruntime, torch, or all")] = "all",
    batch: Annotated[int, typer.Option(help="Batch size")] = 1,
    threads: Annotated[int | None, typer.Option(help="Threads (default: all usable cores)")] = None,
    scenario: ScenarioOpt = "latency",
    duration: Annotated[float, typer.Option(help="Minimum timed seconds per variant")] = 5.0,
    min_iters: Annotated[int, typer.Option(help="Minimum timed calls per variant")] = 100,
    min_samples_for: MinSamplesForOpt = None,
    warmup: Annotated[float, typer.Option(help="Warm-up seconds per variant")] = 1.0,
    input_samples: InputSamplesOpt = None,
    suite: Annotated[Path | None, typer.Option(help="Suite TOML (runners/*.toml)")] = None,
    output: Annotated[Path | None, typer.Option(help="Write the run document (JSON)")] = None,
    store: StoreOpt = None,
    machine_name: MachineNameOpt = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not add to the store")] = False,
    crosscheck: Annotated[bool, typer.Option(help="Also run benchmark_app on each IR")] = False,
    crosscheck_rounds: CrosscheckRoundsOpt = 32,
    cache_dir: Annotated[Path | None, typer.Option(help="Export cache folder")] = None,
    calibration: Annotated[Path | None, typer.Option(help="INT8 calibration records")] = None,
    profile: ProfileOpt = False,
    stream_seconds: StreamSecondsOpt = None,
    hop_s: HopOpt = None,
    window_s: WindowOpt = None,
    background: BackgroundOpt = None,
    stream_preprocess: StreamPreprocessOpt = None,
    footprint: FootprintOpt = False,
    wide: WideOpt = False,
    pipeline: PipelineOpt = False,
    data: PipelineDataOpt = None,
) -> None:
    """Benchmark zoo variants: export (cached), time interleaved, print and store the rows."""
    from ecgbench.bench.runner import RunOptions, run_plan
    from ecgbench.bench.suite import Suite
    from ecgbench.export.build import ExportOptions

    one, many = _input_lengths(input_samples) if suite is None else (None, ())
    flags = Suite(
        models=tuple(m.strip() for m in model.split(",")),
        backends=tuple(b.strip() for b in backend.lower().split(",")),
        devices=(device,),
        precisions=tuple(p.strip() for p in precision.lower().split(",")),
        batch=(batch,),
        threads=threads,
        scenario=scenario,
        duration=duration,
        min_iters=min_iters,
        min_samples_for=min_samples_for,
        warmup=warmup,
        input_samples=one,
        lengths=many,
        int8_rest=int8_rest.lower(),
        skip_unsupported=precision.lower() == "all",
    )
    stream = {"seconds": stream_seconds, "hop_s": hop_s, "window_s": window_s}
    stream |= {"background": background, "preprocess": stream_preprocess}
    plan = _run_plan(suite, flags, {k: v for k, v in stream.items() if v is not None})
    plan = _with_probes(plan, footprint, pipeline)
    opts = RunOptions(
        export=ExportOptions(cache_dir=cache_dir, calibration_dir=calibration),
        output=output,
        store=store,
        machine_name=machine_name,
        use_store=not no_store,
        crosscheck=crosscheck,
        crosscheck_rounds=crosscheck_rounds,
        profile=profile,
        data=_pipeline_data(data) if plan.pipeline else None,
    )
    try:
        doc = run_plan(plan, opts, log=lambda m: err.print(m, highlight=False))
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]: finished rows were written")
        raise typer.Exit(130) from None
    _print_run(doc, plan, wide)


def _run_plan(suite: Path | None, flags, stream: dict):  # Suite -> RunPlan
    """The suite file's plan (its ``min_samples_for`` overridden by the flag), else the flags';
    the stream's settings given as flags over the plan's."""
    from dataclasses import replace

    from ecgbench.bench.scenarios.stream.config import StreamConfig
    from ecgbench.bench.suite import expand_all, load_suite

    if suite:
        plan = load_suite(suite)
        if flags.min_samples_for is not None:
            plan = replace(plan, min_samples_for=flags.min_samples_for).validate()
    else:
        plan = replace(expand_all(flags), name="adhoc")
    if stream or plan.scenario == "stream":
        plan = replace(plan, stream=replace(plan.stream or StreamConfig(), **stream)).validate()
    return plan


def _with_probes(plan, footprint: bool, pipeline: bool):  # RunPlan -> RunPlan
    from dataclasses import replace

    plan = replace(plan, footprint=plan.footprint or footprint)
    return replace(plan, pipeline=True).validate() if pipeline else plan


def _input_lengths(input_samples: str | None) -> tuple[int | None, tuple[int, ...]]:
    """``--input-samples``: one length (the run's input) or several (one row per length)."""
    from ecgbench.bench.lengths import parse_lengths, split_lengths

    lengths = parse_lengths(input_samples, "--input-samples") if input_samples else None
    return split_lengths(lengths) if lengths else (None, ())


def _print_run(doc, plan, wide: bool) -> None:  # RunDocument, RunPlan
    """The run's tables: latency, then stream, footprint and end-to-end where they were measured."""
    from ecgbench.bench.tables.footprint import footprint_table
    from ecgbench.bench.tables.latency import results_table

    if wide:
        print_wide(results_table(doc, wide=True).fitted(10_000))
    else:
        out.print(results_table(doc))
    if plan.scenario == "stream":
        from ecgbench.bench.tables.stream import stream_table

        out.print(stream_table(doc) or "no window streamed")
    extra = footprint_table(doc)
    if extra is not None:
        out.print(extra)
    if plan.pipeline:
        from ecgbench.bench.tables.pipeline import pipeline_note, pipeline_table

        out.print(pipeline_table(doc) or "no end-to-end row timed")
        out.print(pipeline_note(doc), style="dim", highlight=False)


def _pipeline_data(data: Path | None) -> Path | None:
    """--data, else $ECGBENCH_DATA, else None (the synthetic ECG); a folder that is not one is
    one line."""
    from ecgbench.errors import BadInputError
    from ecgbench.export.sources import default_data_dir

    d = data if data is not None else default_data_dir()
    if d is not None and not d.is_dir():
        raise BadInputError(f"--data {d}: no such folder")
    return d


@app.command()
def speedup(
    results: Annotated[Path, typer.Argument(help="A run document (ecgbench run --output)")],
    base: Annotated[str, typer.Option(help="Base precision, or backend/precision")] = "fp32",
) -> None:
    """Each variant's time over its base variant's in the same run: ratio, 95% CI, or a tie."""
    from ecgbench.bench.results.document import read_run
    from ecgbench.report.speedup import speedups

    b_backend, _, b_prec = base.rpartition("/")
    rows = speedups(read_run(results), b_prec.lower(), b_backend.lower() or None)
    t = Table(title=f"time relative to {base} in the same run (rounds paired; 95% CI by rounds)")
    for c in (
        "model",
        "backend",
        "asked",
        "ran as",
        "ms",
        "base",
        "base ms",
        "time ratio",
        "95% CI",
        "speed-up",
        "verdict",
        "rounds",
    ):
        t.add_column(c, justify="left" if c in ("model", "backend", "base", "verdict") else "right")
    colour = {"faster": "green", "slower": "red", "tie": "white"}
    for s in rows:
        t.add_row(
            s.model,
            s.backend,
            s.precision,
            s.executed or "?",
            f"{s.median_ms:.3f}",
            s.base,
            f"{s.base_ms:.3f}",
            f"{s.time_ratio:.3f}",
            f"{s.ci_low:.3f}–{s.ci_high:.3f}",
            f"×{s.speedup:.2f}",
            f"[{colour[s.verdict]}]{s.verdict}[/]",
            str(s.rounds),
        )
    out.print(t)
    out.print(
        "time ratio: the median over rounds of this variant's round level over the base's in the "
        "same round (paired), not ms / base ms: the two differ when the machine's speed drifts "
        "between rounds, and the paired ratio is the one that cancels the drift. "
        "faster / slower: the 95% CI excludes 1; tie: it holds 1. Overlapping box-plot bars "
        "(unpaired) can still be a paired 'faster'.",
        style="dim",
        highlight=False,
    )


@app.command()
def profile(
    model: Annotated[str, typer.Option(help="Zoo name or checkpoint path")],
    precision: Annotated[str, typer.Option(help="fp32, bf16, fp16 or int8")] = "int8",
    device: Annotated[str, typer.Option(help="OpenVINO device")] = "CPU",
    int8_rest: Annotated[str, typer.Option(help="INT8: arithmetic of the float layers")] = "f32",
    threads: Annotated[int | None, typer.Option(help="Threads (default: all usable cores)")] = None,
    inferences: Annotated[int, typer.Option(min=1, help="Profiled inferences")] = 50,
    top: Annotated[int, typer.Option(min=1, help="Slowest layers to show")] = 12,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the profile")] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Export cache folder")] = None,
) -> None:
    """Where an OpenVINO variant's time goes: slowest layers, their kernels, time per arithmetic."""
    from ecgbench.bench.probes.profile import profile_variant
    from ecgbench.fileio import atomic_write_json

    p = profile_variant(
        model,
        precision.lower(),
        device,
        int8_rest.lower(),
        threads,
        inferences,
        cache_dir=cache_dir,
    )
    t = Table(title=f"{p.label}: ran {p.executed}; {p.total_ms:.3f} ms of layer time per inference")
    for c in ("layer", "type", "kernel (exec_type)", "arithmetic", "ms", "share"):
        t.add_column(c, justify="right" if c in ("ms", "share") else "left")
    total = p.total_ms or float("nan")  # a plugin that keeps no times reports zeros
    for layer in p.top(top):
        t.add_row(
            escape(layer.name[:60]),
            layer.layer_type,
            layer.exec_type,
            layer.arithmetic,
            f"{layer.ms:.4f}",
            f"{layer.ms / total:.1%}",
        )
    out.print(t)
    out.print(
        "time per arithmetic: "
        + " · ".join(f"{a} {ms:.3f} ms ({ms / total:.0%})" for a, ms in p.by_arithmetic.items()),
        highlight=False,
    )
    out.print(
        "time per layer type: "
        + " · ".join(f"{k} {ms:.3f}" for k, ms in list(p.by_layer_type.items())[:8]),
        highlight=False,
    )
    if json_out:
        atomic_write_json(json_out, p.to_dict(top=max(top, 15)))
