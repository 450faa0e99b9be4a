"""A comparison as a rich table (the terminal) and as Markdown (a CI job summary).

Both are drawn from one list of columns, so the terminal and the job summary cannot disagree on
what a cell says; Markdown leaves out the columns a summary has no room for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.table import Table

from ecgbench.gate.changes import CODE, LIBRARIES, MODELS, NONE
from ecgbench.gate.verdicts import Comparison, KeyVerdict
from ecgbench.markup import md, terminal
from ecgbench.statistics import Verdict

if TYPE_CHECKING:
    from ecgbench.gate.accuracy import AccuracyVerdict
    from ecgbench.gate.same_job import GateResult

# verdict -> (rich colour, Markdown icon)
STYLE = {
    Verdict.REGRESSION: ("red", "🔴"),
    Verdict.IMPROVEMENT: ("green", "🟢"),
    Verdict.UNCHANGED: ("white", "⚪"),
    Verdict.INCONCLUSIVE: ("magenta", "🟡"),
    Verdict.NOT_COMPARABLE: ("yellow", "⚠️"),
}
PAIRING = {
    "round": "round by round (each time slice against the reference's slice of the same round)",
    "run": "by the whole-run reference ratio",
}
SAME_JOB_HOW = {
    MODELS: "one process, base and head interleaved round by round",
    CODE: "whole runs alternating base/head in this environment",
    LIBRARIES: "whole runs alternating, each side in its own environment",
}


def precision_shown(key: dict[str, Any]) -> str:
    """``fp32 (f32)``: what was asked for and what ran."""
    ex = key.get("executed")
    return f"{key['precision']} ({ex})" if ex else str(key["precision"])


def _num(x: float | None, spec: str) -> str:
    return "–" if x is None or x != x else format(x, spec)  # None or NaN


def _ci(v: KeyVerdict) -> str:
    return f"{v.ci_low:.3f}–{v.ci_high:.3f}" if v.ci_low is not None else v.note


@dataclass(frozen=True)
class Column:
    header: str
    cell: Callable[[KeyVerdict], str]
    markdown: bool = True  # also in the Markdown summary (the terminal shows every column)
    numeric: bool = False  # right-aligned in Markdown


COLUMNS = (
    Column("model", lambda v: v.key["model"]),
    Column("backend", lambda v: v.key["backend"]),
    Column("device", lambda v: v.key["device"]),
    Column("precision", lambda v: precision_shown(v.key)),
    Column("scenario", lambda v: v.key["scenario"], markdown=False),
    Column("baseline ms", lambda v: _num(v.baseline_ms, ".3f"), numeric=True),
    Column("current ms", lambda v: _num(v.current_ms, ".3f"), numeric=True),
    Column("ratio", lambda v: _num(v.ratio, ".3f"), numeric=True),
    Column("raw ratio", lambda v: _num(v.raw_ratio, ".3f"), markdown=False, numeric=True),
    Column("95% CI", _ci),
    Column("p", lambda v: _num(v.p_value, ".1e"), numeric=True),
    Column("detectable ×", lambda v: _num(v.min_detectable, ".2f"), numeric=True),
)


# --------------------------------------------------------------------------- terminal
def comparison_table(cmp: Comparison, title: str = "latency gate") -> Table:
    t = Table(title=title + (f" (drift {cmp.drift:.3f} removed)" if cmp.drift else ""))
    t.add_column("verdict")
    for c in COLUMNS:
        t.add_column(c.header)
    for v in cmp.verdicts:
        cells = (terminal(c.cell(v)) for c in COLUMNS)
        t.add_row(f"[{STYLE[v.verdict][0]}]{v.verdict}[/]", *cells)
    return t


def changed_notes(cmp: Comparison) -> list[str]:
    """Same-job rows whose input or executed arithmetic differs between base and head."""
    return [
        f"{v.key['model']} {v.key['backend']} {v.key['precision']}: {v.note}"
        for v in cmp.verdicts
        if v.note and "→" in v.note
    ]


def cpu_line(fp: dict[str, Any]) -> str:
    """The machine a gate ran on, in one line."""
    from ecgbench.precision import int8_isa

    return (
        f"{fp.get('cpu_model', '?')} · {fp.get('threads', '?')} threads · "
        f"INT8: {int8_isa(fp.get('isa', []))} · machine {fp.get('machine_id', '?')}"
    )


# --------------------------------------------------------------------------- Markdown
def _md_row(cells: Sequence[str]) -> str:
    """A table row; every cell is data, escaped (a name cannot end a cell or start a heading)."""
    return "|" + "".join(f" {md(c)} |" if c else " |" for c in cells)


def headline(cmp: Comparison) -> str:
    """The run's verdict in a few words, as the exit code says it."""
    n_reg, n_inc = len(cmp.regressions), len(cmp.inconclusive)
    if n_reg:
        return f"{n_reg} regression(s)"
    if n_inc:
        return f"no regression, {n_inc} inconclusive (noise above the threshold)"
    return "no regression"


def legend(cmp: Comparison) -> str:
    """What 'detectable' and 'inconclusive' mean, in one line under the table."""
    s = cmp.settings
    return (
        f"detectable ×: the smallest slowdown this key's noise lets the gate catch "
        f"{s.power:.0%} of the time; inconclusive: above ×{s.threshold:.2f}, so this run "
        "can neither pass nor fail that key (exit 4)."
    )


def comparison_markdown(cmp: Comparison, title: str = "ecgbench latency gate") -> str:
    lines = [f"## {title}: {headline(cmp)}", ""]
    s = cmp.settings
    drift = f"{cmp.drift:.3f}" if cmp.drift else "n/a"
    lines.append(
        f"Threshold ×{s.threshold:.2f}, α={s.alpha}; machine drift ({s.reference} reference, "
        f"current / baseline) {drift}"
        + (f"; ratios normalised {PAIRING[s.pairing]}." if cmp.drift and s.normalise else ".")
    )
    if cmp.machine_note:
        lines.append(f"\n> {md(cmp.machine_note)}")
    cols = [c for c in COLUMNS if c.markdown]
    lines += [
        "",
        _md_row(["", *(c.header for c in cols)]),
        "|" + "|".join(["---", *("---:" if c.numeric else "---" for c in cols)]) + "|",
    ]
    for v in cmp.verdicts:
        lines.append(_md_row([f"{STYLE[v.verdict][1]} {v.verdict}", *(c.cell(v) for c in cols)]))
    lines += ["", legend(cmp)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- accuracy guard
ACCURACY_STYLE = {
    "accuracy regression": ("red", "🔴"),
    "inconclusive": ("magenta", "🟡"),
    "unchanged": ("white", "⚪"),
    "not scored": ("yellow", "⚠️"),
}


def _drop(v: AccuracyVerdict) -> str:
    if v.identical:
        return "identical sources: inherits base's"
    if v.drop is None:
        return "–"
    return f"{v.drop:+.3f} [{v.drop_lo:+.3f}, {v.drop_hi:+.3f}] {v.metric}"


ACCURACY_COLUMNS: tuple[tuple[str, Callable[[AccuracyVerdict], str]], ...] = (
    ("model", lambda v: v.model),
    ("backend", lambda v: v.backend),
    ("precision", lambda v: v.precision),
    ("records", lambda v: str(v.n_records) if v.n_records else "–"),
    ("agreement", lambda v: _num(v.agreement, ".4f")),
    ("max |Δp|", lambda v: _num(v.max_abs_delta, ".2g")),
    ("drop base − head, 95% CI", _drop),
    ("note", lambda v: v.note),
)


def accuracy_table(verdicts: Sequence[AccuracyVerdict]) -> Table:
    t = Table(title="accuracy guard (same records, base and head)")
    t.add_column("verdict")
    for header, _ in ACCURACY_COLUMNS:
        t.add_column(header)
    for v in verdicts:
        cells = (terminal(cell(v)) for _, cell in ACCURACY_COLUMNS)
        t.add_row(f"[{ACCURACY_STYLE[v.verdict][0]}]{v.verdict}[/]", *cells)
    return t


def accuracy_headline(verdicts: Sequence[AccuracyVerdict], max_drop: float) -> str:
    reg = sum(v.verdict == "accuracy regression" for v in verdicts)
    inc = sum(v.verdict == "inconclusive" for v in verdicts)
    if reg:
        return f"{reg} accuracy regression(s) (paired drop above {max_drop:g}, or agreement)"
    if inc:
        return f"no accuracy regression, {inc} inconclusive (the interval holds {max_drop:g})"
    return "no accuracy regression"


def accuracy_markdown(verdicts: Sequence[AccuracyVerdict], max_drop: float) -> str:
    head = ["", *(h for h, _ in ACCURACY_COLUMNS)]
    lines = [
        f"### Accuracy guard: {accuracy_headline(verdicts, max_drop)}",
        "",
        _md_row(head),
        "|" + "---|" * len(head),
    ]
    for v in verdicts:
        icon = ACCURACY_STYLE[v.verdict][1]
        lines.append(_md_row([f"{icon} {v.verdict}", *(cell(v) for _, cell in ACCURACY_COLUMNS)]))
    return "\n".join(lines) + "\n"


def gate_markdown(r: GateResult, max_score_drop: float = 0.01) -> str:
    """The same-job gate's job summary: the comparison, where it ran, and what changed."""
    changed = ", ".join(map(md, r.change.files[:8])) + (" …" if len(r.change.files) > 8 else "")
    if r.mode == NONE:
        return (
            f"## ecgbench same-job gate: nothing to time\n\n**Base:** {md(r.base)} · **Head:** "
            f"{md(r.head)}  \n**Changed:** {changed or '(nothing)'}  \n{md(r.note)}\n"
        )
    summary = comparison_markdown(r.comparison, title=f"ecgbench same-job gate ({r.mode})")
    head, _, rest = summary.partition("\n")
    info = (
        f"\n\n**Ran on:** {md(cpu_line(r.fingerprint))}  \n**Base:** {md(r.base)} · "
        f"**Head:** {md(r.head)} · "
        f"{SAME_JOB_HOW[r.mode]} · {r.seconds:.0f} s  \n**Changed:** {changed or '(nothing)'}"
    )
    if r.note:
        info += f"  \n**Note:** {md(r.note)}"
    notes = changed_notes(r.comparison)
    tail = (
        ("\nWhat else changed between base and head:\n\n" + "".join(f"- {md(n)}\n" for n in notes))
        if notes
        else ""
    )
    acc = ("\n" + accuracy_markdown(r.accuracy, max_score_drop)) if r.accuracy else ""
    return head + info + rest + tail + acc
