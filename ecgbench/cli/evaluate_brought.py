"""`ecgbench evaluate` for brought models: AUROC, AUPRC, F1 with intervals, drops against FP32."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from ecgbench.cli._format import err, out


def _ci(point: float | None, bounds: list[float] | None, signed: bool = False) -> str:
    def f(x: float | None) -> str:
        if x is None or x != x:
            return "–"
        return f"{x:+.3f}" if signed else f"{x:.3f}"

    return f(point) + (f" [{f(bounds[0])}, {f(bounds[1])}]" if bounds else "")


def _scores_table(title: str, scored: list[Any]) -> Table:
    na = any(s.challenge_score is None for s in scored)
    t = Table(
        title=title, caption="challenge n/a: the classes are not the Challenge's 26" if na else None
    )
    for c in ("model", "backend", "asked", "ran as", "records", "challenge"):
        t.add_column(c)
    for c in ("AUROC", "AUPRC", "F1"):
        t.add_column(f"{c} [95% CI]")
    for s in scored:
        d = s.to_dict()
        cs = "n/a" if s.challenge_score is None else _ci(s.challenge_score, s.challenge_ci95)
        t.add_row(
            s.model,
            s.backend,
            s.precision,
            s.executed or "?",
            str(s.n_records),
            cs,
            *(_ci(d[m], d.get(f"{m}_ci95")) for m in ("auroc", "auprc", "f_measure")),
        )
    return t


def _drops_table(scored: list[Any]) -> Table:
    t = Table(
        title="drop against FP32 (paired bootstrap)",
        caption="drop = FP32 − variant on the same resampled records; tie: the 95% interval "
        "contains 0",
    )
    metrics = {
        "challenge_score": "challenge",
        "auroc": "AUROC",
        "auprc": "AUPRC",
        "f_measure": "F1",
    }
    for c in ("model", "backend", "asked", "ran as", *metrics.values()):
        t.add_column(c + (" drop [95% CI]" if c in metrics.values() else ""))
    for s in scored:
        by = {d.metric: d for d in s.drop_vs_fp32}
        cells = [
            f"{_ci(by[m].point, by[m].bounds(), signed=True)} {by[m].verdict}" if m in by else "n/a"
            for m in metrics
        ]
        t.add_row(s.model, s.backend, s.precision, s.executed or "?", *cells)
    return t


def _one(
    m: str,
    b: str,
    p: str,
    rest: str,
    data: Path,
    folds: tuple[int, ...] | None,
    opts: Any,
    zoo: Any,
    bootstrap: int,
    seed: int,
    weights: str | None,
    asked_all: bool,
) -> Any:
    """One variant's scores, or None (and a line) when it cannot be made or run here."""
    from ecgbench.accuracy.brought import evaluate_brought
    from ecgbench.export.brought import VariantUnavailable
    from ecgbench.precision import PrecisionUnsupportedError

    try:
        s = evaluate_brought(
            m, b, p, data, folds, opts, zoo, int8_rest=rest, bootstrap=bootstrap, seed=seed,
            weights_path=weights,
        )  # fmt: skip
    except (PrecisionUnsupportedError, VariantUnavailable) as e:
        if not asked_all and not isinstance(e, VariantUnavailable):
            raise
        err.print(f"[yellow]skipped[/] {m} {b} {p}: {escape(str(e))}")
        return None
    for prob in s.skipped:
        err.print(f"[yellow]skipped[/] {prob}")
    return s


def evaluate_brought_models(
    names: list[str],
    backends: list[str],
    precisions: list[str],
    data: Path,
    folds: tuple[int, ...] | None,
    opts: Any,
    zoo: Any,
    bootstrap: int,
    seed: int,
    store_in_zoo: bool,
    command: str,
    asked_all: bool,
    weights: str | None,
    int8_rests: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Score every (brought model, backend, precision); print the tables; the results as dicts."""
    from ecgbench.accuracy.brought import pair_with_fp32, store_brought_scores
    from ecgbench.backends import backend_class, int8_rest_is_chosen, precisions_of

    scored = []
    for m in names:
        for b in backends:
            if backend_class(b).RUNS_CHECKPOINT:
                err.print(f"[yellow]skipped[/] {m} {b}: a brought model has no PyTorch form")
                continue
            for p in precisions:
                if p not in precisions_of(b):
                    continue
                for rest in (
                    (int8_rests or ["f32"]) if (p == "int8" and int8_rest_is_chosen(b)) else ["f32"]
                ):
                    s = _one(
                        m, b, p, rest, data, folds, opts, zoo, bootstrap, seed, weights, asked_all
                    )
                    if s is not None:
                        scored.append(s)
    pair_with_fp32(scored, bootstrap, seed, weights)
    if store_in_zoo:
        for s in scored:
            store_brought_scores(zoo, s, command)
    title = f"accuracy on {data}" + (f" folds {','.join(map(str, folds))}" if folds else "")
    out.print(_scores_table(title, scored))
    with_drops = [s for s in scored if s.drop_vs_fp32]
    if with_drops:
        out.print(_drops_table(with_drops))
    return [s.to_dict() for s in scored]
