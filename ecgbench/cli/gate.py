"""`ecgbench compare`, `gate`, `fingerprint`, `baseline`: the latency gate."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from ecgbench.cli._app import app
from ecgbench.cli._format import err, out

if TYPE_CHECKING:
    from ecgbench.gate.compare import Comparison

baseline_app = typer.Typer(help="The committed CI latency baseline.", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")


# (GateSettings checks the values: one line, exit 2)
PowerOption = Annotated[
    float, typer.Option(help="Power at which a key's detectable slowdown is stated")
]
MultiplicityOption = Annotated[
    str, typer.Option(help="none (each key at alpha) or holm (the run's keys jointly)")
]


def _print_comparison(
    cmp: Comparison, markdown: Path | None, text: str | None = None, title: str = "latency gate"
) -> None:
    from ecgbench.fileio import atomic_write_text
    from ecgbench.gate.render import comparison_markdown, comparison_table, headline, legend

    out.print(comparison_table(cmp, title))
    out.print(f"{title}: {headline(cmp)}", highlight=False)
    out.print(legend(cmp), highlight=False, style="dim")
    if cmp.machine_note:
        err.print(f"[yellow]{escape(cmp.machine_note)}[/]")
    if markdown:
        atomic_write_text(markdown, text or comparison_markdown(cmp))


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
    power: PowerOption = 0.8,
    multiplicity: MultiplicityOption = "none",
    device: Annotated[str, typer.Option(help="Device for --ab")] = "CPU",
    duration: Annotated[float, typer.Option(help="Seconds per side for --ab")] = 5.0,
    confirm: Annotated[
        bool,
        typer.Option(help="--ab: re-time a flagged key with A and B swapped before failing"),
    ] = True,
) -> None:
    """CI latency gate against a baseline run.

    Exit 0: nothing regressed; 1: a regression; 2: bad input; 3: no baseline for this machine;
    4: inconclusive (no regression, but a key's noise would hide a threshold-sized slowdown)."""
    from ecgbench.bench.results.document import read_run
    from ecgbench.bench.timing import StopRule
    from ecgbench.errors import BadInputError, NoBaselineError
    from ecgbench.gate.compare import GateSettings, compare_runs, fingerprint_differences
    from ecgbench.gate.paired import flagged_keys

    if reference not in ("model", "gemm") or pairing not in ("round", "run"):
        raise BadInputError("--reference is model or gemm; --pairing is round or run")
    settings = GateSettings(
        threshold=threshold,
        alpha=alpha,
        normalise=not no_normalise,
        reference=reference,
        pairing=pairing,
        power=power,
        multiplicity=multiplicity,
    )
    if ab:
        from ecgbench.gate.ab import ab_documents

        ab_rule = StopRule(min_duration_s=duration, min_iters=100)
        base, cur = ab_documents(ab[0], ab[1], device=device, rule=ab_rule)
        settings = replace(settings, normalise=False)
    elif baseline_dir:
        from ecgbench.gate.baselines import baseline_candidates, choose_baseline

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
        from ecgbench.bench.store.documents import baseline_from_store

        cur_path = current or baseline
        if cur_path is None or (current is not None and baseline is not None):
            raise BadInputError("with --baseline-from give only CURRENT.json")
        cur = read_run(cur_path)
        base = baseline_from_store(
            baseline_from,
            machine or cur.fingerprint.get("machine_id", ""),
            suite if suite is not None else (cur.suite or None),
            window,
        )
    else:
        if baseline is None or current is None:
            raise BadInputError(
                "give BASELINE.json CURRENT.json, --baseline-from URL CURRENT.json, or --ab OLD NEW"
            )
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
        note = (
            "different machines (" + "; ".join(diffs) + f"): ratios rely on the {reference} "
            "reference normalisation"
        )
    cmp = compare_runs(base, cur, settings)
    if ab and confirm and flagged_keys(cmp):
        from ecgbench.gate.ab import ab_documents, confirm_ab

        err.print("compare --ab: flagged; re-timing with A and B swapped to confirm")
        again = ab_documents(ab[0], ab[1], device=device, rule=ab_rule, swapped=True)
        cmp = confirm_ab(cmp, compare_runs(*again, settings))
        for v in cmp.verdicts:
            err.print(f"compare --ab: {v.verdict} after the swapped timing ({v.note})")
    cmp.machine_note = note
    _print_comparison(cmp, markdown)
    raise typer.Exit(cmp.exit_code)


@app.command()
def gate(
    base: Annotated[
        str, typer.Option(help="Base: a git revision (origin/main, HEAD~1) or a folder")
    ],
    head: Annotated[str, typer.Option(help="Head: a git revision or a folder")] = "HEAD",
    suite: Annotated[str, typer.Option(help="Suite (read from head)")] = "runners/ci.toml",
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
    power: PowerOption = 0.8,
    multiplicity: MultiplicityOption = "none",
    confirm: Annotated[
        bool, typer.Option(help="Re-time flagged keys before failing (--no-confirm: once)")
    ] = True,
    zoo: Annotated[
        str | None,
        typer.Option(
            help="The zoo folder in each side (your own repository's models/ and cards, "
            "ecgbench installed as a package): both zoos timed in one process"
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="Real records: every timed key whose model differs is also scored, base and "
            "head on the same records (the accuracy guard; off without it)"
        ),
    ] = None,
    max_score_drop: Annotated[
        float, typer.Option(help="Accuracy regression: the paired drop's interval above this")
    ] = 0.01,
    min_agreement: Annotated[
        float, typer.Option(help="Accuracy regression without labels: agreement below this")
    ] = 0.99,
    accuracy_records: Annotated[
        int, typer.Option(help="Records scored per side (evenly spread over fold 10)")
    ] = 200,
) -> None:
    """Same-job gate: time BASE and HEAD here, interleaved, and judge HEAD.

    Exit 0: nothing regressed; 1: a latency or an accuracy regression (latency confirmed by
    re-timing); 2: bad input; 4: inconclusive (no regression, but a key's noise would hide a
    threshold-sized slowdown, or a score drop's interval holds the tolerance)."""
    from ecgbench.gate.accuracy import AccuracySettings
    from ecgbench.gate.compare import GateSettings
    from ecgbench.gate.render import (
        accuracy_headline,
        accuracy_table,
        changed_notes,
        cpu_line,
        gate_markdown,
    )
    from ecgbench.gate.same_job import same_job_gate

    acc = AccuracySettings(
        max_score_drop=max_score_drop, min_agreement=min_agreement, records=accuracy_records
    )
    acc.validate()

    r = same_job_gate(
        base,
        head,
        suite=suite,
        repo=repo,
        mode=mode,
        repeats=repeats,
        duration=duration,
        settings=GateSettings(
            threshold=threshold,
            alpha=alpha,
            power=power,
            multiplicity=multiplicity,
            confirm=confirm,
        ),
        log=lambda m: err.print(m, highlight=False),
        zoo=zoo,
        data=data,
        accuracy=acc,
    )
    if output_dir:
        for i, (b, h) in enumerate(r.documents):
            b.write(output_dir / f"base-{i:02d}.json")
            h.write(output_dir / f"head-{i:02d}.json")
    text = gate_markdown(r, max_score_drop)
    if r.mode == "none":
        from ecgbench.fileio import atomic_write_text

        out.print(f"same-job gate: {r.note}", highlight=False)
        if markdown:
            atomic_write_text(markdown, text)
        raise typer.Exit(0)
    _print_comparison(r.comparison, markdown, text, title=f"same-job gate ({r.mode})")
    for line in changed_notes(r.comparison):
        out.print(line, highlight=False)
    if r.note:
        out.print(f"note: {r.note}", highlight=False)
    if r.accuracy:
        out.print(accuracy_table(r.accuracy))
        line = accuracy_headline(r.accuracy, max_score_drop)
        out.print(f"accuracy guard: {line} ({r.accuracy_seconds:.0f} s)", highlight=False)
    elif data is None:
        out.print("accuracy guard: off (no --data records)", highlight=False, style="dim")
    where = f"ran on {cpu_line(r.fingerprint)}; {r.base} vs {r.head}, {r.seconds:.0f} s"
    out.print(where, highlight=False)
    raise typer.Exit(r.exit_code)


@app.command()
def fingerprint(
    key: Annotated[bool, typer.Option("--key", help="Print only the baseline key")] = False,
    suite: Annotated[
        Path | None, typer.Option(help="Suite whose threads the baselines use")
    ] = None,
    threads: Annotated[int | None, typer.Option(help="Threads the runs use")] = None,
) -> None:
    """This machine as the gate sees it; --key for a CI cache key of per-machine baselines."""
    from ecgbench.bench.results.fingerprint import collect_fingerprint
    from ecgbench.bench.suite import load_suite
    from ecgbench.gate.baselines import baseline_key, describe
    from ecgbench.host import default_threads

    if threads is None and suite is not None:
        threads = load_suite(suite).threads
    fp = collect_fingerprint(threads or default_threads()).to_dict()
    if key:
        print(baseline_key(fp))
        return
    out.print(
        f"{describe(fp)}\nmachine id {fp['machine_id']} · baseline key {baseline_key(fp)}",
        highlight=False,
    )


@baseline_app.command("update")
def baseline_update(
    suite: Annotated[Path, typer.Option(help="Suite")] = Path("runners/ci.toml"),
    out_path: Annotated[
        Path | None, typer.Option("--out", help="One baseline file (instead of --dir)")
    ] = None,
    directory: Annotated[
        Path, typer.Option("--dir", help="Kept per machine: DIR/baseline-<machine key>.json")
    ] = Path("runners/baselines"),
) -> None:
    """Re-run the CI suite and keep it as this machine's baseline (commit the file afterwards)."""
    from ecgbench.bench.runner import RunOptions, run_plan
    from ecgbench.bench.suite import load_suite
    from ecgbench.bench.tables.latency import results_table
    from ecgbench.gate.baselines import baseline_path

    doc = run_plan(
        load_suite(suite),
        RunOptions(output=None, use_store=False),
        log=lambda m: err.print(m, highlight=False),
    )
    if out_path is None:
        out_path = baseline_path(directory, doc.fingerprint)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    doc.write(out_path)
    out.print(results_table(doc))
    out.print(f"baseline written to {out_path}")
