"""`ecgbench compare`, `gate`, `fingerprint` and `baseline`: the latency regression gate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ecgbench.cli._app import app
from ecgbench.cli._format import err, fmt, out

baseline_app = typer.Typer(help="The committed CI latency baseline.", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")


def _print_comparison(
    cmp, markdown: Path | None, text: str | None = None, title: str = "latency gate"
) -> None:
    from ecgbench.fileio import atomic_write_text
    from ecgbench.regress import markdown_summary, precision_shown

    colour = {"regression": "red", "improvement": "green", "unchanged": "white",
              "not comparable": "yellow"}  # fmt: skip
    t = Table(title=title + (f" (drift {cmp.drift:.3f} removed)" if cmp.drift else ""))
    for c in ("verdict", "model", "backend", "device", "precision", "scenario", "baseline ms",
              "current ms", "ratio", "raw ratio", "95% CI", "p"):  # fmt: skip
        t.add_column(c)
    for v in cmp.verdicts:
        k = v.key
        ci = f"{v.ci_low:.3f}–{v.ci_high:.3f}" if v.ci_low is not None else v.note
        t.add_row(
            f"[{colour[v.verdict]}]{v.verdict}[/]", k["model"], k["backend"], k["device"],
            precision_shown(k), k["scenario"], fmt(v.baseline_ms), fmt(v.current_ms),
            fmt(v.ratio), fmt(v.raw_ratio), ci,
            "–" if v.p_value is None else f"{v.p_value:.1e}",
        )  # fmt: skip
    out.print(t)
    if cmp.machine_note:
        err.print(f"[yellow]{escape(cmp.machine_note)}[/]")
    if markdown:
        atomic_write_text(markdown, text or markdown_summary(cmp))


@app.command()
def compare(
    baseline: Annotated[Path | None, typer.Argument(help="Baseline run JSON")] = None,
    current: Annotated[Path | None, typer.Argument(help="Current run JSON")] = None,
    baseline_from: Annotated[
        str | None, typer.Option(help="Take the baseline from this store (give only CURRENT)")
    ] = None,
    machine: Annotated[
        str | None, typer.Option(help="--baseline-from: machine name or id (default: CURRENT's)")
    ] = None,
    suite: Annotated[
        str | None, typer.Option(help="--baseline-from: suite (default: CURRENT's)")
    ] = None,
    window: Annotated[
        int, typer.Option(min=1, help="--baseline-from: merge the last N runs as the baseline")
    ] = 1,
    baseline_dir: Annotated[
        Path | None,
        typer.Option(help="Choose the baseline for CURRENT's machine among these run JSONs"),
    ] = None,
    threshold: Annotated[float, typer.Option(help="Slowdown ratio that counts")] = 1.10,
    alpha: Annotated[float, typer.Option(help="Significance of the rank test")] = 0.05,
    markdown: Annotated[Path | None, typer.Option(help="Write a Markdown summary")] = None,
    allow_different_machine: Annotated[
        bool, typer.Option(help="Compare across fingerprints (relies on the normalisation)")
    ] = False,
    no_normalise: Annotated[
        bool, typer.Option("--no-normalise", help="Do not divide by the reference workload")
    ] = False,
    reference: Annotated[
        str, typer.Option(help="Reference workload: model (a fixed ConvNeXt) or gemm")
    ] = "model",
    pairing: Annotated[
        str, typer.Option(help="round: normalise slice by slice; run: whole-run medians")
    ] = "round",
    ab: Annotated[
        tuple[Path, Path] | None,
        typer.Option("--ab", help="OLD NEW artifacts (.xml/.onnx/.pt) timed interleaved now"),
    ] = None,
    device: Annotated[str, typer.Option(help="Device for --ab")] = "CPU",
    duration: Annotated[float, typer.Option(help="Seconds per side for --ab")] = 5.0,
) -> None:
    """CI latency gate: exit 0 if nothing regressed, 1 on a regression, 2 on bad input."""
    from ecgbench.bench.results import read_run
    from ecgbench.bench.timing import StopRule
    from ecgbench.errors import BadInputError, NoBaselineError
    from ecgbench.regress import GateSettings, compare_runs, fingerprint_differences

    if reference not in ("model", "gemm") or pairing not in ("round", "run"):
        raise BadInputError("--reference is model or gemm; --pairing is round or run")
    settings = GateSettings(threshold=threshold, alpha=alpha, normalise=not no_normalise,
                            reference=reference, pairing=pairing)  # fmt: skip
    if ab:
        from ecgbench.bench.ab import ab_documents

        base, cur = ab_documents(ab[0], ab[1], device=device,
                                 rule=StopRule(min_duration_s=duration, min_iters=100))  # fmt: skip
        settings = GateSettings(threshold=threshold, alpha=alpha, normalise=False)
    elif baseline_dir:
        from ecgbench.bench.baselines import baseline_candidates, choose_baseline

        cur_path = current or baseline
        if cur_path is None or (current is not None and baseline is not None):
            raise BadInputError("with --baseline-dir give only CURRENT.json")
        cur = read_run(cur_path)
        try:
            chosen, base = choose_baseline(baseline_candidates(baseline_dir), cur.fingerprint)
        except NoBaselineError as e:
            if markdown:  # the job summary says so too: the gate passed for want of a baseline
                from ecgbench.fileio import atomic_write_text

                atomic_write_text(markdown, f"## ecgbench latency gate: no baseline\n\n{e}\n")
            raise
        err.print(f"baseline for this machine: {chosen}", highlight=False)
    elif baseline_from:
        from ecgbench.bench.store import baseline_from_store

        cur_path = current or baseline
        if cur_path is None or (current is not None and baseline is not None):
            raise BadInputError("with --baseline-from give only CURRENT.json")
        cur = read_run(cur_path)
        base = baseline_from_store(
            baseline_from, machine or cur.fingerprint.get("machine_id", ""),
            suite if suite is not None else (cur.suite or None), window,
        )  # fmt: skip
    else:
        if baseline is None or current is None:
            raise BadInputError("give BASELINE.json CURRENT.json, --baseline-from URL CURRENT.json, "
                                "or --ab OLD NEW")  # fmt: skip
        base, cur = read_run(baseline), read_run(current)
    diffs = fingerprint_differences(base.fingerprint, cur.fingerprint)
    note = ""
    if diffs:
        if not allow_different_machine:
            raise BadInputError(
                "refusing to compare runs from different machines/software ("
                + "; ".join(diffs)
                + "); use --allow-different-machine to rely on the reference normalisation"
            )
        note = ("different machines (" + "; ".join(diffs) + f"): ratios rely on the {reference} "
                "reference normalisation")  # fmt: skip
    cmp = compare_runs(base, cur, settings)
    cmp.machine_note = note
    _print_comparison(cmp, markdown)
    raise typer.Exit(cmp.exit_code)


@app.command()
def gate(
    base: Annotated[
        str, typer.Option(help="Base: a git revision (origin/main, HEAD~1) or a folder")
    ],
    head: Annotated[str, typer.Option(help="Head: a git revision or a folder")] = "HEAD",
    suite: Annotated[str, typer.Option(help="Runner profile (read from head)")] = "runners/ci.toml",
    repo: Annotated[Path, typer.Option(help="The git repository")] = Path("."),
    mode: Annotated[
        str, typer.Option(help="auto (from what changed), models, code or libraries")
    ] = "auto",
    repeats: Annotated[int, typer.Option(min=3, help="code/libraries: base/head run pairs")] = 6,
    duration: Annotated[
        float | None, typer.Option(help="Seconds per variant (default: the profile's)")
    ] = None,
    threshold: Annotated[float, typer.Option(help="Slowdown ratio that counts")] = 1.10,
    alpha: Annotated[float, typer.Option(help="Significance of the signed-rank test")] = 0.05,
    markdown: Annotated[Path | None, typer.Option(help="Write a Markdown summary")] = None,
    output_dir: Annotated[
        Path | None, typer.Option(help="Keep both sides' run documents here")
    ] = None,
) -> None:
    """Same-job gate: time BASE and HEAD here, interleaved; exit 1 on a regression, 0 if none."""
    from ecgbench.bench.gate import gate_markdown, same_job_gate
    from ecgbench.regress import GateSettings

    r = same_job_gate(base, head, suite=suite, repo=repo, mode=mode, repeats=repeats,
                      duration=duration, settings=GateSettings(threshold=threshold, alpha=alpha),
                      log=lambda m: err.print(m, highlight=False))  # fmt: skip
    if output_dir:
        for i, (b, h) in enumerate(r.documents):
            b.write(output_dir / f"base-{i:02d}.json")
            h.write(output_dir / f"head-{i:02d}.json")
    text = gate_markdown(r)
    if r.mode == "none":
        from ecgbench.fileio import atomic_write_text

        out.print(f"same-job gate: {r.note}", highlight=False)
        if markdown:
            atomic_write_text(markdown, text)
        raise typer.Exit(0)
    _print_comparison(r.comparison, markdown, text, title=f"same-job gate ({r.mode})")
    for v in r.comparison.verdicts:
        if v.note and "→" in v.note:
            out.print(f"{v.key['model']} {v.key['backend']} {v.key['precision']}: {v.note}",
                      highlight=False)  # fmt: skip
    if r.note:
        out.print(f"note: {r.note}", highlight=False)
    out.print(f"ran on {r.cpu_line()}; {r.base} vs {r.head}, {r.seconds:.0f} s", highlight=False)
    raise typer.Exit(r.exit_code)


@app.command()
def fingerprint(
    key: Annotated[bool, typer.Option("--key", help="Print only the baseline key")] = False,
    suite: Annotated[
        Path | None, typer.Option(help="Runner profile whose threads the baselines use")
    ] = None,
    threads: Annotated[int | None, typer.Option(help="Threads the runs use")] = None,
) -> None:
    """This machine as the gate sees it; --key for a CI cache key of per-machine baselines."""
    from ecgbench.bench.baselines import baseline_key, describe
    from ecgbench.bench.fingerprint import collect_fingerprint
    from ecgbench.bench.suite import load_suite
    from ecgbench.host import default_threads

    if threads is None and suite is not None:
        threads = load_suite(suite).threads
    fp = collect_fingerprint(threads or default_threads()).to_dict()
    if key:
        print(baseline_key(fp))
        return
    out.print(f"{describe(fp)}\nmachine id {fp['machine_id']} · baseline key {baseline_key(fp)}",
              highlight=False)  # fmt: skip


@baseline_app.command("update")
def baseline_update(
    suite: Annotated[Path, typer.Option(help="Runner profile")] = Path("runners/ci.toml"),
    out_path: Annotated[
        Path | None, typer.Option("--out", help="One baseline file (instead of --dir)")
    ] = None,
    directory: Annotated[
        Path, typer.Option("--dir", help="Kept per machine: DIR/baseline-<machine key>.json")
    ] = Path("runners/baselines"),
) -> None:
    """Re-run the CI suite and keep it as this machine's baseline (commit the file afterwards)."""
    from ecgbench.bench.baselines import baseline_path
    from ecgbench.bench.runner import RunOptions, run_plan
    from ecgbench.bench.suite import load_suite
    from ecgbench.bench.table import results_table

    doc = run_plan(load_suite(suite), RunOptions(output=None, use_store=False),
                   log=lambda m: err.print(m, highlight=False))  # fmt: skip
    if out_path is None:
        out_path = baseline_path(directory, doc.fingerprint)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    doc.write(out_path)
    out.print(results_table(doc))
    out.print(f"baseline written to {out_path}")
