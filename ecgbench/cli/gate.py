"""`ecgbench compare` and `gate`: the latency gate."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from ecgbench.cli._app import app
from ecgbench.cli._format import err, out
from ecgbench.cli._gate_options import (
    AbConfirmOption,
    AbOption,
    AccuracyRecordsOption,
    AllowDifferentMachineOption,
    BaselineDirOption,
    BaselineFromOption,
    BaseOption,
    DataOption,
    GateConfirmOption,
    GateDurationOption,
    MachineOption,
    MaxScoreDropOption,
    MinAgreementOption,
    ModeOption,
    MultiplicityOption,
    NoNormaliseOption,
    OutputDirOption,
    PairingOption,
    PowerOption,
    ReferenceOption,
    StoreSuiteOption,
    WindowOption,
    ZooOption,
)

if TYPE_CHECKING:
    from ecgbench.bench.results.document import RunDocument
    from ecgbench.gate.accuracy import AccuracySettings
    from ecgbench.gate.same_job import GateResult
    from ecgbench.gate.verdicts import Comparison, GateSettings


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
    baseline_from: BaselineFromOption = None,
    machine: MachineOption = None,
    suite: StoreSuiteOption = None,
    window: WindowOption = 1,
    baseline_dir: BaselineDirOption = None,
    threshold: Annotated[float, typer.Option(help="Slowdown ratio that counts")] = 1.10,
    alpha: Annotated[float, typer.Option(help="Significance of the rank test")] = 0.05,
    markdown: Annotated[Path | None, typer.Option(help="Write a Markdown summary")] = None,
    allow_different_machine: AllowDifferentMachineOption = False,
    no_normalise: NoNormaliseOption = False,
    reference: ReferenceOption = "model",
    pairing: PairingOption = "round",
    ab: AbOption = None,
    power: PowerOption = 0.8,
    multiplicity: MultiplicityOption = "none",
    device: Annotated[str, typer.Option(help="Device for --ab")] = "CPU",
    duration: Annotated[float, typer.Option(help="Seconds per side for --ab")] = 5.0,
    confirm: AbConfirmOption = True,
) -> None:
    """CI latency gate against a baseline run.

    Exit 0: nothing regressed; 1: a regression; 2: bad input; 3: no baseline for this machine;
    4: inconclusive (no regression, but a key's noise would hide a threshold-sized slowdown)."""
    from ecgbench.gate.verdicts import compare_runs, flagged_keys

    settings = _compare_settings(
        threshold, alpha, no_normalise, reference, pairing, power, multiplicity
    )
    if ab:
        base, cur = _ab_runs(ab, device, duration)
        settings = replace(settings, normalise=False)
    elif baseline_dir:
        cur_path = _current_only(baseline, current, "--baseline-dir")
        base, cur = _baseline_dir_runs(cur_path, baseline_dir, markdown)
    elif baseline_from:
        cur_path = _current_only(baseline, current, "--baseline-from")
        base, cur = _store_runs(cur_path, baseline_from, machine, suite, window)
    else:
        base, cur = _file_runs(baseline, current)
    note = _machine_note(base, cur, allow_different_machine, reference)
    cmp = compare_runs(base, cur, settings)
    if ab and confirm and flagged_keys(cmp):
        cmp = _confirm_ab(cmp, ab, device, duration, settings)
    cmp.machine_note = note
    _print_comparison(cmp, markdown)
    raise typer.Exit(cmp.exit_code)


def _compare_settings(
    threshold: float,
    alpha: float,
    no_normalise: bool,
    reference: str,
    pairing: str,
    power: float,
    multiplicity: str,
) -> GateSettings:
    """compare's options as the gate's settings; bad choices fail (exit 2) before any timing."""
    from ecgbench.errors import BadInputError
    from ecgbench.gate.verdicts import GateSettings

    if reference not in ("model", "gemm") or pairing not in ("round", "run"):
        raise BadInputError("--reference is model or gemm; --pairing is round or run")
    return GateSettings(
        threshold=threshold,
        alpha=alpha,
        normalise=not no_normalise,
        reference=reference,
        pairing=pairing,
        power=power,
        multiplicity=multiplicity,
    )


def _ab_runs(
    ab: tuple[Path, Path], device: str, duration: float
) -> tuple[RunDocument, RunDocument]:
    """--ab: both artifacts timed interleaved now, so the two sides need no stored baseline."""
    from ecgbench.bench.timing import StopRule
    from ecgbench.gate.ab import ab_documents

    ab_rule = StopRule(min_duration_s=duration, min_iters=100)
    return ab_documents(ab[0], ab[1], device=device, rule=ab_rule)


def _current_only(baseline: Path | None, current: Path | None, flag: str) -> Path:
    """The one run JSON given when ``flag`` supplies the baseline; two (or none) is bad input."""
    from ecgbench.errors import BadInputError

    cur_path = current or baseline
    if cur_path is None or (current is not None and baseline is not None):
        raise BadInputError(f"with {flag} give only CURRENT.json")
    return cur_path


def _baseline_dir_runs(
    cur_path: Path, baseline_dir: Path, markdown: Path | None
) -> tuple[RunDocument, RunDocument]:
    """--baseline-dir: the baseline recorded on CURRENT's machine, the one fair comparison."""
    from ecgbench.bench.results.document import read_run
    from ecgbench.errors import NoBaselineError
    from ecgbench.gate.baselines import baseline_candidates, choose_baseline

    cur = read_run(cur_path)
    try:
        chosen, base = choose_baseline(baseline_candidates(baseline_dir), cur.fingerprint)
    except NoBaselineError as e:
        if markdown:  # the job summary says so too: the gate passed for want of a baseline
            from ecgbench.fileio import atomic_write_text

            atomic_write_text(markdown, f"## ecgbench latency gate: no baseline\n\n{e}\n")
        raise
    err.print(f"baseline for this machine: {chosen}", highlight=False)
    return base, cur


def _store_runs(
    cur_path: Path, baseline_from: str, machine: str | None, suite: str | None, window: int
) -> tuple[RunDocument, RunDocument]:
    """--baseline-from: the store's last runs of CURRENT's machine and suite, unless named."""
    from ecgbench.bench.results.document import read_run
    from ecgbench.bench.store.documents import baseline_from_store

    cur = read_run(cur_path)
    base = baseline_from_store(
        baseline_from,
        machine or cur.fingerprint.get("machine_id", ""),
        suite if suite is not None else (cur.suite or None),
        window,
    )
    return base, cur


def _file_runs(baseline: Path | None, current: Path | None) -> tuple[RunDocument, RunDocument]:
    """BASELINE.json CURRENT.json, the plain form; anything less says which forms there are."""
    from ecgbench.bench.results.document import read_run
    from ecgbench.errors import BadInputError

    if baseline is None or current is None:
        raise BadInputError(
            "give BASELINE.json CURRENT.json, --baseline-from URL CURRENT.json, or --ab OLD NEW"
        )
    return read_run(baseline), read_run(current)


def _machine_note(
    base: RunDocument, cur: RunDocument, allow_different_machine: bool, reference: str
) -> str:
    """Runs from different machines only compare through the reference: refuse, or say so."""
    from ecgbench.bench.results.fingerprint import Fingerprint
    from ecgbench.errors import BadInputError

    diffs = Fingerprint.from_dict(base.fingerprint).differences(
        Fingerprint.from_dict(cur.fingerprint)
    )
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
    return note


def _confirm_ab(
    cmp: Comparison, ab: tuple[Path, Path], device: str, duration: float, settings: GateSettings
) -> Comparison:
    """--ab flagged a key: time B before A too, so the order of the two is not what failed."""
    from ecgbench.bench.timing import StopRule
    from ecgbench.gate.ab import ab_documents, confirm_ab
    from ecgbench.gate.verdicts import compare_runs

    ab_rule = StopRule(min_duration_s=duration, min_iters=100)
    err.print("compare --ab: flagged; re-timing with A and B swapped to confirm")
    again = ab_documents(ab[0], ab[1], device=device, rule=ab_rule, swapped=True)
    cmp = confirm_ab(cmp, compare_runs(*again, settings))
    for v in cmp.verdicts:
        err.print(f"compare --ab: {v.verdict} after the swapped timing ({v.note})")
    return cmp


@app.command()
def gate(
    base: BaseOption,
    head: Annotated[str, typer.Option(help="Head: a git revision or a folder")] = "HEAD",
    suite: Annotated[str, typer.Option(help="Suite (read from head)")] = "runners/ci.toml",
    repo: Annotated[Path, typer.Option(help="The git repository")] = Path("."),
    mode: ModeOption = "auto",
    repeats: Annotated[int, typer.Option(min=3, help="code/libraries: base/head run pairs")] = 6,
    duration: GateDurationOption = None,
    threshold: Annotated[float, typer.Option(help="Slowdown ratio that counts")] = 1.10,
    alpha: Annotated[float, typer.Option(help="Significance of the signed-rank test")] = 0.05,
    markdown: Annotated[Path | None, typer.Option(help="Write a Markdown summary")] = None,
    output_dir: OutputDirOption = None,
    power: PowerOption = 0.8,
    multiplicity: MultiplicityOption = "none",
    confirm: GateConfirmOption = True,
    zoo: ZooOption = None,
    data: DataOption = None,
    max_score_drop: MaxScoreDropOption = 0.01,
    min_agreement: MinAgreementOption = 0.99,
    accuracy_records: AccuracyRecordsOption = 200,
) -> None:
    """Same-job gate: time BASE and HEAD here, interleaved, and judge HEAD.

    Exit 0: nothing regressed; 1: a latency or an accuracy regression (latency confirmed by
    re-timing); 2: bad input; 4: inconclusive (no regression, but a key's noise would hide a
    threshold-sized slowdown, or a score drop's interval holds the tolerance)."""
    from ecgbench.gate.render import gate_markdown
    from ecgbench.gate.same_job import same_job_gate
    from ecgbench.gate.verdicts import GateSettings

    acc = _accuracy_settings(max_score_drop, min_agreement, accuracy_records)
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
        _write_documents(r, output_dir)
    text = gate_markdown(r, max_score_drop)
    if r.mode == "none":
        _print_nothing_timed(r, markdown, text)
        raise typer.Exit(0)
    _print_gate(r, markdown, text, data, max_score_drop)
    raise typer.Exit(r.exit_code)


def _accuracy_settings(
    max_score_drop: float, min_agreement: float, accuracy_records: int
) -> AccuracySettings:
    """The accuracy guard's tolerances, checked so a bad one fails before anything is timed."""
    from ecgbench.gate.accuracy import AccuracySettings

    acc = AccuracySettings(
        max_score_drop=max_score_drop, min_agreement=min_agreement, records=accuracy_records
    )
    acc.validate()
    return acc


def _write_documents(r: GateResult, output_dir: Path) -> None:
    """--output-dir: each base/head pair's run documents, kept to look into a verdict later."""
    for i, (b, h) in enumerate(r.documents):
        b.write(output_dir / f"base-{i:02d}.json")
        h.write(output_dir / f"head-{i:02d}.json")


def _print_nothing_timed(r: GateResult, markdown: Path | None, text: str) -> None:
    """Nothing that runs differs: say so (and in the summary), since no table follows."""
    from ecgbench.fileio import atomic_write_text

    out.print(f"same-job gate: {r.note}", highlight=False)
    if markdown:
        atomic_write_text(markdown, text)


def _print_gate(
    r: GateResult, markdown: Path | None, text: str, data: Path | None, max_score_drop: float
) -> None:
    """The latency verdicts, the accuracy guard's and where they ran: what a reviewer reads."""
    from ecgbench.gate.render import accuracy_headline, accuracy_table, changed_notes, cpu_line

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
