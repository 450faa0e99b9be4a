"""The rich table ``ecgbench run`` prints: a column set chosen by the width it is given.

At 80 columns it shows model, backend, precision (asked → ran), median, p99, fps and score, none
of them cut; wider terminals add columns in order of use; ``--wide`` (or 160 columns) shows all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ecgbench.bench.probes.crosscheck import ALONE_KEY, BENCHMARK_APP_KEY
from ecgbench.bench.results import score_origin
from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.schema import ResultRow
from ecgbench.precision import matches_request
from ecgbench.statistics import REPORTED, min_samples

WIDE = 160  # from this width on, every column
ABOVE_CEILING = (
    "† above the GEMM ceiling of its arithmetic: the ceiling is a practical 512³ GEMM timed in this "
    "run, not the hardware's peak, and a model's convolutions can use the hardware better"
)


def _f(v, fmt: str) -> str:
    return "–" if v is None else format(v, fmt)


def ceilings_text(fp: dict) -> str:
    c = fp.get("ceilings_gflops") or {}
    if not c and fp.get("gemm_gflops"):
        c = {"f32": fp["gemm_gflops"]}
    return ", ".join(f"{a} {g:.0f}" for a, g in c.items())


def ran_as(r: ResultRow, layers: bool = True) -> str:
    """What executed, coloured where it is not what the name says (red: not what was planned)."""
    ex = r.execution
    ran = r.executed or ex.inference_precision or "?"
    if layers and ex.int8_layers is not None and r.precision == "int8":
        ran += f" ({ex.int8_layers}/{ex.total_layers} int8)"
    if ex.as_planned is False:
        return f"[red]{escape(ran)}[/]"
    if not matches_request(r.precision, r.executed):
        return f"[yellow]{escape(ran)}[/]"
    return escape(ran)


def efficiency(r: ResultRow) -> str:
    tp = r.throughput
    if tp.gemm_fraction is None:
        return "–"
    mark = "†" if tp.gemm_fraction > 1 else ""
    # runs written before ceilings per arithmetic: against the FP32 GEMM, whatever executed
    return f"{tp.gemm_fraction * 100:.0f}%{mark} {tp.ceiling or 'f32 GEMM (older run)'}"


def percentile_cell(r: ResultRow, name: str) -> str:
    """The percentile, with ``*`` where the row had too few samples for it to be an estimate."""
    v = getattr(r.latency, f"{name}_ms")
    return _f(v, ".3f") + ("*" if r.latency.valid(name) is False else "")


def invalid_percentiles_note(
    rows: list[ResultRow], shown: frozenset[str] | None = None
) -> str | None:
    """The footnote of the ``*``: which percentiles (of those ``shown``), the samples they need."""
    bad = [
        f"{name} from n < {min_samples(q)} samples"
        for name, q in REPORTED.items()
        if (shown is None or name in shown) and any(r.latency.valid(name) is False for r in rows)
    ]
    if not bad:
        return None
    return (
        "* " + ", ".join(bad) + ": not a valid estimate (MLPerf LoadGen's rule; "
        'min_samples_for = "p99" in a suite or --min-samples-for p99 times enough calls)'
    )


def _order(r: ResultRow) -> tuple:
    return (r.footprint.flops or 0, r.model, r.backend, r.precision)


def _precision(r: ResultRow, layers: bool) -> str:
    failed = (r.accuracy.verification or "").startswith("FAILED")
    return f"{escape(r.precision)}{'!' if failed else ''} → {ran_as(r, layers)}"


def _score(r: ResultRow) -> str:
    s = r.accuracy.challenge_score
    if s is None and score_origin.not_challenge(r.accuracy.note):
        return "n/a"  # a brought model whose classes are not the Challenge's: AUROC only
    return "n/m" if s is None else score_origin.marked(f"{s:.3f}", r.accuracy.note)


@dataclass(frozen=True)
class _Col:
    """A column: header, cell of a row, and its rank among the optional ones (None: always)."""

    header: str
    cell: Callable[[ResultRow], str]
    rank: int | None = None
    left: bool = False
    replaces: str | None = None  # a fuller form of another column, shown instead of it


def _extra_ms(key: str) -> Callable[[ResultRow], str]:
    def cell(r: ResultRow) -> str:
        v = r.extra.get(key)
        return "–" if v is None else f"{float(v):.3f}"

    return cell


# What --crosscheck adds per OpenVINO row: ecgbench's own loop alone in a fresh process (wall time,
# as the median column) and benchmark_app on the same IR, bursts alternated with it.
CROSSCHECK_COLUMNS = (("fresh ms", ALONE_KEY), ("benchmark_app ms", BENCHMARK_APP_KEY))
CROSSCHECK_TOLERANCE = 0.05  # interleaved vs fresh: a gap beyond it is named in the footnote
CROSSCHECK_NOTE = (
    "fresh ms: ecgbench's loop alone in a fresh process (wall time, as median ms); "
    "benchmark_app ms: benchmark_app in a fresh process (OpenVINO's per-call latency) — it "
    "corresponds to fresh ms, not to the interleaved median"
)


def _crosschecked(doc: RunDocument) -> bool:
    return any(BENCHMARK_APP_KEY in r.extra for r in doc.rows)


def crosscheck_gaps(doc: RunDocument, tolerance: float = CROSSCHECK_TOLERANCE) -> list[str]:
    """Rows whose interleaved median is more than ``tolerance`` off the fresh process's."""
    out = []
    for r in sorted(doc.rows, key=_order):
        fresh = r.extra.get(ALONE_KEY)
        if fresh and r.latency.median_ms:
            ratio = r.latency.median_ms / float(fresh)
            if abs(ratio - 1) > tolerance:
                out.append(f"{r.model} {r.precision} {ratio:.2f}×")
    return out


def _columns(several_lengths: bool, crosschecked: bool = False) -> list[_Col]:
    def model(r: ResultRow) -> str:
        return f"{r.model} · {r.input_shape[-1]} samples" if several_lengths else r.model

    fresh = [_Col(h, _extra_ms(k), 0) for h, k in CROSSCHECK_COLUMNS] if crosschecked else []
    return [
        _Col("model", model, left=True),
        _Col("backend", lambda r: r.backend, left=True),
        _Col("device", lambda r: ",".join(r.execution.devices) or r.device, 3, left=True),
        _Col("asked → ran", lambda r: _precision(r, False), left=True),
        _Col("asked → ran as", lambda r: _precision(r, True), 4, True, "asked → ran"),
        _Col("scenario", lambda r: r.scenario, 6),
        _Col("median ms", lambda r: _f(r.latency.median_ms, ".3f")),
        *fresh,
        _Col("p90 ms", lambda r: percentile_cell(r, "p90"), 1),
        _Col("p99 ms", lambda r: percentile_cell(r, "p99")),
        _Col("fps", lambda r: _f(r.throughput.fps, ".0f")),
        _Col("GFLOP/s", lambda r: _f(r.throughput.gflops, ".1f"), 5),
        _Col("of ceiling", efficiency, 7, left=True),
        _Col("score", _score),
        _Col("AUROC", lambda r: _f(r.accuracy.auroc, ".3f"), 2),
    ]


def _title(doc: RunDocument) -> str:
    fp = doc.fingerprint
    native = (fp.get("native_precisions") or {}).get("CPU") or {}
    natives = (
        " · ".join(f"{k}: {v}" for k, v in native.items()) or f"INT8: {fp.get('int8_isa', '?')}"
    )
    ceil = ceilings_text(fp)
    return f"{fp.get('cpu_model', '?')} · {fp.get('threads')} threads · {natives}" + (
        f" · GEMM ceilings GFLOP/s: {ceil}" if ceil else ""
    )


def _notes(doc: RunDocument, headers: frozenset[str]) -> list[str]:
    """The footnotes of what the shown columns (``headers``) show, and nothing else."""
    notes = [
        f"run {doc.run_id} · accuracy: fold-10 PTB-XL of the variant as executed (zoo manifest)"
    ]
    for r in sorted(doc.rows, key=_order):
        if r.execution.note:
            notes.append(f"{r.model} {r.backend} {r.precision}: {r.execution.note}")
    shown = "of ceiling" in headers
    above = [r for r in doc.rows if shown and (r.throughput.gemm_fraction or 0) > 1]
    if any(r.throughput.ceiling for r in above):
        notes.append(ABOVE_CEILING)
    if any(not r.throughput.ceiling for r in above):
        notes.append(
            "† older run: efficiency against the FP32 GEMM, whatever arithmetic executed "
            "(a model that ran bf16 or int8 can exceed it)"
        )
    percentiles = frozenset(h.split()[0] for h in headers if h.endswith(" ms"))
    invalid = invalid_percentiles_note(doc.rows, percentiles)
    if invalid:
        notes.append(invalid)
    unscored = sorted(
        {
            r.accuracy.note
            for r in doc.rows
            if r.accuracy.challenge_score is None
            and r.accuracy.note
            and not score_origin.not_challenge(r.accuracy.note)
        }
    )
    if any(score_origin.not_challenge(r.accuracy.note) for r in doc.rows):
        notes.append("score n/a: a brought model's classes are not the Challenge's (AUROC only)")
    if unscored:  # only the notes of rows that show n/m
        notes.append(
            "score n/m: " + "; ".join(unscored) + " (ecgbench evaluate … --zoo measures it)"
        )
    elsewhere = score_origin.footnote(
        r.accuracy.note for r in doc.rows if r.accuracy.challenge_score is not None
    )
    if elsewhere:
        notes.append(elsewhere)
    if "benchmark_app ms" in headers:
        notes.append(CROSSCHECK_NOTE)
        gaps = crosscheck_gaps(doc)
        if gaps:
            notes.append(
                f"interleaved median / fresh more than {CROSSCHECK_TOLERANCE * 100:.0f} % apart (the other "
                "variants' slices "
                "change this CPU's state between calls): " + ", ".join(gaps)
            )
    if any(r.precision == "int8" for r in doc.rows):
        notes.append("int8+f32 / int8+bf16: the arithmetic of the layers INT8 leaves in float")
    return list(dict.fromkeys(notes))


def _header(c: _Col, compact: int) -> str:
    """In a narrow terminal the unit goes under the name ("median" over "ms"): 3 columns saved."""
    if compact >= 1 and c.header.endswith(" ms"):
        return c.header[: -len(" ms")] + "\nms"
    return c.header


def _table(doc: RunDocument, cols: list[_Col], cells: list[list[str]], compact: int = 0) -> Table:
    """``compact``: 0 as is; 1 units under the names; 2 also one space between columns; 3 also
    model names that may fold onto a second line. Never "…"."""
    t = Table(
        title=_title(doc),
        caption="\n".join(_notes(doc, frozenset(c.header for c in cols))),
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        padding=(0, 0) if compact >= 2 else (0, 1),  # 2: only the box's one space between columns
    )
    for c in cols:
        header = _header(c, compact)
        width = max(
            Text.from_markup(x).cell_len
            for x in [*escape(header).split("\n"), *cells[cols.index(c)]]
        )
        folds = compact >= 3 and c.header == "model"
        t.add_column(
            header,
            justify="left" if c.left else "right",
            no_wrap=not folds,
            overflow="fold",
            min_width=min(width, 12) if folds else width,
        )
    for i in range(len(doc.rows)):
        t.add_row(*(cells[j][i] for j in range(len(cols))))
    return t


@dataclass
class ResultsTable:
    """A run's rows as a table fitted, when rendered, to the width it is given."""

    doc: RunDocument
    wide: bool = False

    def fitted(self, width: int) -> Table:
        rows = sorted(self.doc.rows, key=_order)
        several = len({r.input_shape[-1] for r in rows if r.input_shape}) > 1  # --samples a,b
        every = _columns(several, _crosschecked(self.doc))
        cells = {c.header: [c.cell(r) for r in rows] for c in every}

        def build(chosen: list[_Col], compact: int = 0) -> tuple[Table, int]:
            shown = [c for c in every if c in chosen]
            t = _table(self.doc, shown, [cells[c.header] for c in shown], compact)
            con = Console(width=10_000)
            return t, con.measure(t).maximum

        core = [c for c in every if c.rank is None]
        if self.wide or width >= WIDE:
            return build([c for c in every if not any(o.replaces == c.header for o in every)])[0]
        if build(core)[1] > width:  # the core alone does not fit: make it narrower, never cut it
            for level in (1, 2):
                t, w = build(core, level)
                if w <= width:
                    return t
            return build(core, 3)[0]
        chosen = list(core)
        for c in sorted((c for c in every if c.rank is not None), key=lambda c: c.rank):
            trial = [x for x in chosen if x.header != c.replaces] + [c]
            if build(trial)[1] <= width:
                chosen = trial
        return build(chosen)[0]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.fitted(options.max_width)


def results_table(doc: RunDocument, wide: bool = False) -> ResultsTable:
    """The run's table; its columns are chosen for the console width it is printed at."""
    return ResultsTable(doc, wide)
