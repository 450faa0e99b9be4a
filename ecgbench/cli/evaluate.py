"""`ecgbench evaluate`: Challenge metrics of variants as executed, with intervals and paired drops."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ecgbench.cli._app import app
from ecgbench.cli._format import err, fmt, out
from ecgbench.cli.export import SmoothQuantOption, export_options
from ecgbench.errors import BadInputError, EcgbenchError

if TYPE_CHECKING:  # the command imports its libraries when it runs
    from ecgbench.accuracy.scores import VariantScores
    from ecgbench.export.build import ExportOptions
    from ecgbench.metrics.bootstrap import Interval, PairedDrop
    from ecgbench.zoo import Zoo


def _with_ci(point: float, interval: Interval | PairedDrop | None, signed: bool = False) -> str:
    """``0.450 [0.412, 0.489]``: a score and its 95% interval ("–" where undefined)."""

    def f(x: float) -> str:
        if x != x:  # NaN
            return "–"
        return f"{x:+.3f}" if signed else f"{x:.3f}"

    return f(point) + ("" if interval is None else f" [{f(interval.lo)}, {f(interval.hi)}]")


def _scores_table(title: str, scored: list[VariantScores], intervals: bool) -> Table:
    t = Table(title=title)
    ci = " [95% CI]" if intervals else ""
    for c in ("model", "backend", "asked", "ran as", "records", "challenge", "AUROC"):
        t.add_column(c + (ci if c in ("challenge", "AUROC") else ""))
    for c in ("AUPRC", "accuracy", "F1"):
        t.add_column(c)
    for vs in scored:
        sc, iv = vs.scores, vs.intervals
        if intervals:
            cs = _with_ci(sc.challenge_score, iv.challenge_score if iv else None)
            auc = _with_ci(sc.auroc, iv.auroc if iv else None)
        else:
            cs, auc = fmt(sc.challenge_score, 4), fmt(sc.auroc, 4)
        ran = (vs.model, vs.backend, vs.precision, vs.executed or "?", str(vs.n_records))
        t.add_row(*ran, cs, auc, fmt(sc.auprc, 4), fmt(sc.accuracy, 4), fmt(sc.f_measure, 4))
    return t


def _drops_table(paired: list[VariantScores], max_drop: float | None = None) -> Table:
    target = (
        ""
        if max_drop is None
        else f"; --max-drop {max_drop:g}: within / over it with the whole interval, or undecided"
    )
    t = Table(
        title="drop against FP32 (paired bootstrap)",
        caption="drop = FP32 − variant on the same resampled records; tie: the 95% interval "
        "contains 0, the drop is not distinguishable from zero" + target,
    )
    for c in ("model", "backend", "asked", "ran as", "challenge", "AUROC"):
        t.add_column(c + (" drop [95% CI]" if c in ("challenge", "AUROC") else ""))
    if max_drop is not None:
        t.add_column(f"challenge vs --max-drop {max_drop:g}")
    for vs in paired:
        cells = [f"{_with_ci(d.point, d, signed=True)} {d.verdict}" for d in vs.drop_vs_fp32]
        if max_drop is not None:
            score = next(d for d in vs.drop_vs_fp32 if d.metric == "challenge_score")
            cells.append(score.against(max_drop))
        t.add_row(vs.model, vs.backend, vs.precision, vs.executed or "?", *cells)
    return t


def _by_fold_line(vs: VariantScores) -> str:
    """Each fold on its own: a cross-fitted fold 9 far above fold 10 is leftover optimism."""
    cf = vs.crossfit
    parts = []
    for f, s in (cf.by_fold if cf else {}).items():
        how = "cross-fitted" if cf and int(f) in cf.val_folds else "checkpoint thresholds"
        ci = s["challenge_score_ci95"]
        span = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
        parts.append(
            f"fold {f} ({how}, {s['n_records']} records) {fmt(s['challenge_score'], 3)}{span}"
        )
    line = f"{vs.model} {vs.backend} {vs.precision} challenge by fold: " + "; ".join(parts)
    g = cf.gap.get("challenge_score") if cf else None
    if g and g["ci95"]:
        lo, hi = g["ci95"]
        verdict = "optimism or fold shift beyond noise" if g["distinguishable"] else "tie"
        point = "–" if g["point"] is None else f"{g['point']:+.3f}"
        line += f"; fold {'+'.join(map(str, cf.val_folds))} − rest {point} [{lo:+.3f}, {hi:+.3f}] {verdict}"
    return line


# ``evaluate``'s longer options, named once (the signature stays readable)
Int8RestOpt = Annotated[
    str, typer.Option(help="INT8 on OpenVINO: float arithmetic of the rest, e.g. f32,bf16")
]
StoreInZooOpt = Annotated[bool, typer.Option("--zoo", help="Record the scores in the zoo manifest")]
CalibrationOpt = Annotated[
    Path | None, typer.Option(help="INT8: calibrate on these records instead of the zoo's")
]
MaxDropOpt = Annotated[
    float | None, typer.Option(help="INT8: the accuracy-controlled variant with this max drop")
]
BootstrapOpt = Annotated[
    int, typer.Option(min=0, help="Record resamples for the 95% intervals (0: no intervals)")
]
ThresholdsOpt = Annotated[
    str,
    typer.Option(
        help="checkpoint: the shipped thresholds; crossfit: validation-fold records get "
        "5-fold cross-fitted ones (e.g. --folds 9,10)"
    ),
]


@app.command()
def evaluate(
    model: Annotated[str, typer.Option(help="Zoo name, checkpoint path, or all")],
    data: Annotated[Path, typer.Option(help="Record folder")],
    precision: Annotated[str, typer.Option(help="fp32, bf16, fp16, int8 (or all)")] = "fp32",
    backend: Annotated[str, typer.Option(help="openvino, onnxruntime, torch (or all)")] = "torch",
    int8_rest: Int8RestOpt = "f32",
    folds: Annotated[str | None, typer.Option(help="Folds to score, e.g. 10")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write scores as JSON")] = None,
    outputs: Annotated[Path | None, typer.Option(help="Write Challenge output files here")] = None,
    store_in_zoo: StoreInZooOpt = False,
    weights: Annotated[Path | None, typer.Option(help="Challenge weights.csv")] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Export cache folder")] = None,
    calibration: CalibrationOpt = None,
    max_drop: MaxDropOpt = None,
    bootstrap: BootstrapOpt = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap resamples")] = 0,
    smooth_quant: SmoothQuantOption = None,
    thresholds: ThresholdsOpt = "checkpoint",
) -> None:
    """Challenge metrics of exact variants (model × backend × precision) on a record folder.

    Scores come with 95% percentile bootstrap intervals over records; each non-FP32 variant also
    gets its paired drop against the FP32 of the same model and backend scored in the same call.
    """
    from ecgbench.backends import BACKENDS
    from ecgbench.data.folds import parse_folds
    from ecgbench.export.build import parse_precisions
    from ecgbench.fileio import atomic_write_json
    from ecgbench.precision import PRECISIONS
    from ecgbench.zoo import Zoo

    z = Zoo()
    names = z.names() if model == "all" else [m.strip() for m in model.split(",")]
    backends = list(BACKENDS) if backend == "all" else backend.split(",")
    precs = parse_precisions(precision, PRECISIONS)
    rests = [r.strip().lower() for r in int8_rest.split(",") if r.strip()] or ["f32"]
    brought = [m for m in names if m in z.entries and z.entries[m].brought]
    if brought:  # scored by their cards' classes (evaluate_brought.py), then the trained ones
        _check_backends(backends)
        if thresholds != "checkpoint" or outputs is not None or max_drop is not None:
            raise BadInputError(
                f"{brought[0]} is a brought model: it is decided at its card's thresholds "
                "(no --thresholds crossfit, --outputs or --max-drop)"
            )
        opts = export_options(cache_dir, False, calibration, 300, max_drop)
        results = _evaluate_brought(
            z, brought, backends, precs, data, folds, opts, bootstrap, seed, store_in_zoo,
            precision == "all", weights, rests,
        )  # fmt: skip
        names = [m for m in names if m not in brought]
        if not names:
            if json_out:
                atomic_write_json(json_out, results[0] if len(results) == 1 else results)
            return
    combos = _combos(names, backends, precs)
    if store_in_zoo and (calibration or max_drop is not None):
        raise EcgbenchError("--zoo records the zoo's own variants; drop --calibration/--max-drop")
    opts = export_options(cache_dir, False, calibration, 300, max_drop, smooth_quant)
    fold_t = parse_folds(folds) if folds else None
    scored = _score_combos(
        z, combos, rests, data, fold_t, opts, outputs=outputs, weights=weights,
        bootstrap=bootstrap, seed=seed, thresholds=thresholds, asked_all=precision == "all",
        store_in_zoo=store_in_zoo,
    )  # fmt: skip
    _print_scored(scored, data, folds, bootstrap, max_drop)
    results = _results(scored, max_drop)
    if json_out:
        atomic_write_json(json_out, results[0] if len(results) == 1 else results)


def _check_backends(backends: list[str]) -> None:
    """Every asked backend is known: an unknown one is bad input before anything runs."""
    from ecgbench.backends import precisions_of

    for b in backends:
        precisions_of(b)


def _evaluate_brought(
    z: Zoo,
    brought: list[str],
    backends: list[str],
    precs: list[str],
    data: Path,
    folds: str | None,
    opts: ExportOptions,
    bootstrap: int,
    seed: int,
    store_in_zoo: bool,
    asked_all: bool,
    weights: Path | None,
    rests: list[str],
) -> list[dict[str, Any]]:
    """The brought models, scored by their cards' classes (evaluate_brought.py) before the rest."""
    from ecgbench.cli.evaluate_brought import evaluate_brought_models
    from ecgbench.data.folds import parse_folds

    return evaluate_brought_models(
        brought, backends, precs, data, parse_folds(folds) if folds else None, opts, z,
        bootstrap, seed, store_in_zoo, "ecgbench " + " ".join(sys.argv[1:]),
        asked_all, str(weights) if weights else None, rests,
    )  # fmt: skip


def _combos(names: list[str], backends: list[str], precs: list[str]) -> list[tuple[str, str, str]]:
    """Every (model, backend, precision) asked that its backend runs; none at all is an error."""
    from ecgbench.backends import BACKENDS, precisions_of, precisions_summary

    combos = [
        (m, b, p)
        for m in names
        for b in backends
        for p in precs
        if b not in BACKENDS or p in precisions_of(b)
    ]
    if not combos:
        raise EcgbenchError(f"no backend runs that precision ({precisions_summary()})")
    return combos


def _score_combos(
    z: Zoo,
    combos: list[tuple[str, str, str]],
    rests: list[str],
    data: Path,
    fold_t: tuple[int, ...] | None,
    opts: ExportOptions,
    *,
    outputs: Path | None,
    weights: Path | None,
    bootstrap: int,
    seed: int,
    thresholds: str,
    asked_all: bool,
    store_in_zoo: bool,
) -> list[VariantScores]:
    """Score each variant (and INT8 rest) in turn, pairing with FP32 and recording as they come."""
    from ecgbench.accuracy.evaluate import Fp32Pairing, evaluate_variant, store_variant_scores
    from ecgbench.backends import int8_rest_is_chosen
    from ecgbench.precision import PrecisionUnsupportedError
    from ecgbench.variant import Variant

    scored = []
    pairing = Fp32Pairing(bootstrap, seed)
    command = "ecgbench " + " ".join(sys.argv[1:])
    for m, b, p in combos:
        for rest in rests if (p == "int8" and int8_rest_is_chosen(b)) else ["f32"]:
            sub = Variant(m, b, p).slug + (f"-{rest}" if rest != "f32" else "")
            try:
                vs = evaluate_variant(
                    m,
                    b,
                    p,
                    data,
                    fold_t,
                    opts,
                    outputs_dir=(outputs / sub) if outputs and len(combos) > 1 else outputs,
                    weights_path=str(weights) if weights else None,
                    zoo=z,
                    int8_rest=rest,
                    bootstrap=bootstrap,
                    seed=seed,
                    thresholds=thresholds,
                )
            except PrecisionUnsupportedError as e:
                if not asked_all:
                    raise
                err.print(f"[yellow]skipped[/] {m} {b} {p}: {escape(str(e))}")
                continue
            scored.append(vs)
            for prob in vs.skipped:
                err.print(f"[yellow]skipped[/] {prob}")
            # a variant scored before its FP32 gets its drop (and its manifest entry) now
            paired = pairing.add(vs)
            if store_in_zoo:
                for v in [vs, *(u for u in paired if u is not vs)]:
                    store_variant_scores(z, v, command)
    return scored


def _print_scored(
    scored: list[VariantScores],
    data: Path,
    folds: str | None,
    bootstrap: int,
    max_drop: float | None,
) -> None:
    """The scores table, each cross-fitted variant's folds, and the paired drops against FP32."""
    title = f"Challenge metrics on {data}" + (f" folds {folds}" if folds else "")
    if scored and scored[0].crossfit:
        title = f"Challenge metrics on {data} {scored[0].crossfit.evaluated_on}"
    out.print(_scores_table(title, scored, bootstrap > 0))
    for vs in scored:
        if vs.crossfit and vs.crossfit.by_fold:
            out.print(_by_fold_line(vs))
    with_drops = [vs for vs in scored if vs.drop_vs_fp32]
    if with_drops:
        out.print(_drops_table(with_drops, max_drop))


def _results(scored: list[VariantScores], max_drop: float | None) -> list[dict[str, Any]]:
    """The scores as JSON dicts, each with its verdict against --max-drop when one was given."""
    results = [vs.to_dict() for vs in scored]
    if max_drop is not None:  # the accuracy target read with the paired interval
        for vs, r in zip(scored, results, strict=True):
            for d in vs.drop_vs_fp32:
                if d.metric == "challenge_score":
                    r["vs_max_drop"] = {"max_drop": max_drop, "verdict": d.against(max_drop)}
    return results
