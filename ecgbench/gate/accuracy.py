"""The gate's accuracy guard: a head that got faster by getting wrong fails too.

A latency gate alone rewards a broken quantization: INT8 calibrated on zeros, or a preset that
collapses a layer, is no slower. MLPerf requires an accuracy run beside every performance run; so
for every key the gate timed, base's and head's variant answer the same real records here:

- always: decision agreement and max |Δ probability| between base and head;
- with labels: the paired score drop base − head on the same bootstrap resamples (the Challenge
  score for a model with the Challenge's classes, a brought model's macro AUROC otherwise).

The verdict reads the drop's interval against ``max_score_drop`` like the latency rule reads a
ratio's: wholly above it is an ``accuracy regression``, straddling it is ``inconclusive``. Without
labels, agreement below ``min_agreement`` is a regression. With labels the paired drop decides and
agreement is reported: a retrained head may decide differently and better. A key whose sources
(checkpoint, a brought model's files, the bundled artifact) have the same sha256 on both sides is
never re-scored: it inherits base's answer, ``unchanged``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ecgbench.errors import BadInputError
from ecgbench.numbers import Range, check_number

if TYPE_CHECKING:
    from ecgbench.data.causal import Streaming

UNCHANGED = "unchanged"
REGRESSION = "accuracy regression"
INCONCLUSIVE = "inconclusive"
NOT_SCORED = "not scored"

Log = Callable[[str], None]


@dataclass(frozen=True)
class AccuracySettings:
    max_score_drop: float = 0.01  # a paired drop wholly above this is a regression
    min_agreement: float = 0.99  # without labels: decision agreement below this is one
    folds: tuple[int, ...] = (10,)  # of a PTB-XL-style folder (metadata.csv); else every record
    records: int | None = 200  # at most this many, evenly spread (the CI cost: docs/gate.md)
    bootstrap: int = 1000
    seed: int = 0

    def validate(self) -> None:
        check_number("--max-score-drop", self.max_score_drop, Range(lo=0))
        check_number("--min-agreement", self.min_agreement, Range(lo=0, hi=1, lo_open=True))
        if self.records is not None:
            check_number("--accuracy-records", self.records, Range(lo=10))
        check_number("bootstrap resamples", self.bootstrap, Range(lo=100))


@dataclass(frozen=True)
class SideOutputs:
    """What one side's variant answered on each record (labels None: the records carry none)."""

    names: tuple[str, ...]
    binary: np.ndarray
    probs: np.ndarray
    labels: np.ndarray | None
    metric: str  # "challenge_score" or "auroc"
    drop: Callable[[SideOutputs, SideOutputs], Any]  # (base, head) -> PairedDrop


@dataclass(frozen=True)
class AccuracyVerdict:
    model: str
    backend: str
    precision: str
    verdict: str
    identical: bool = False  # same sources on both sides: inherited, not re-scored
    n_records: int = 0
    agreement: float | None = None  # share of (record, class) decisions that agree
    max_abs_delta: float | None = None  # of the probabilities
    metric: str | None = None
    drop: float | None = None  # base − head (positive: head is worse)
    drop_lo: float | None = None
    drop_hi: float | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- pure parts
def source_digest(entry: Any, backend: str, precision: str) -> str:
    """One sha256 over what a variant is made from: checkpoint (or brought files) and, when the
    zoo bundles this format and precision, the bundled files."""
    from ecgbench.backends import format_of

    parts = [entry.sha256, *sorted(entry.files.values())]
    bundled = entry.artifacts.get(f"{format_of(backend)}-{precision}") or {}
    parts += sorted((bundled.get("files") or {}).values())
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def agreement(base: SideOutputs, head: SideOutputs) -> tuple[float, float]:
    """(share of decisions that agree, max |Δ probability|) on the same records."""
    same = np.asarray(base.binary, bool) == np.asarray(head.binary, bool)
    delta = np.abs(np.asarray(base.probs, np.float64) - np.asarray(head.probs, np.float64))
    return float(same.mean()), float(delta.max()) if delta.size else 0.0


def accuracy_verdict(agree: float, drop: Any | None, s: AccuracySettings) -> str:
    """The rule: with a paired drop, its interval against the tolerance; without, agreement."""
    if drop is None:
        return UNCHANGED if agree >= s.min_agreement else REGRESSION
    where = drop.against(s.max_score_drop)
    return {"within": UNCHANGED, "over": REGRESSION}.get(where, INCONCLUSIVE)


def has_labels(side: SideOutputs) -> bool:
    return side.labels is not None and bool(np.asarray(side.labels).any())


def compare_sides(base: SideOutputs, head: SideOutputs) -> tuple[float, float, Any | None]:
    """(decision agreement, max |Δp|, the paired drop base − head, None without labels)."""
    agree, delta = agreement(base, head)
    d = base.drop(base, head) if has_labels(base) and base.metric == head.metric else None
    return agree, delta, d


def judge(
    key: tuple[str, str, str], base: SideOutputs, head: SideOutputs, s: AccuracySettings
) -> AccuracyVerdict:
    if base.names != head.names:
        return AccuracyVerdict(
            *key,
            INCONCLUSIVE,
            note="base and head did not read the same records (their preprocessing differs)",
        )
    agree, delta, d = compare_sides(base, head)
    return AccuracyVerdict(
        *key,
        accuracy_verdict(agree, d, s),
        n_records=len(base.names),
        agreement=agree,
        max_abs_delta=delta,
        metric=base.metric if d is not None else None,
        drop=None if d is None else float(d.point),
        drop_lo=None if d is None else float(d.lo),
        drop_hi=None if d is None else float(d.hi),
        note="" if has_labels(base) else "no labels: decision agreement only",
    )


# --------------------------------------------------------------------------- scoring one side
def _trained_outputs(
    zoo, key, data: Path, s: AccuracySettings, int8_rest: str, causal: Streaming | None = None
) -> SideOutputs:
    from ecgbench.accuracy.evaluate import evaluate_variant
    from ecgbench.metrics.bootstrap import paired_drop

    model, backend, precision = key
    vs = evaluate_variant(
        model,
        backend,
        precision,
        data,
        folds=s.folds,
        zoo=zoo,
        show_progress=False,
        int8_rest=int8_rest,
        bootstrap=0,
        limit=s.records,
        causal=causal,
        require_labels=False,  # unlabelled records: decision agreement only
    )
    o = vs.outputs
    assert o is not None

    def drop(a: SideOutputs, b: SideOutputs):
        return paired_drop(
            a.labels, a.binary, a.probs, b.binary, b.probs, o.weights, s.bootstrap, s.seed
        )[0]

    return SideOutputs(o.names, o.binary, o.probs, o.labels, "challenge_score", drop)


def _brought_outputs(
    zoo, key, data: Path, s: AccuracySettings, int8_rest: str, causal: Streaming | None = None
) -> SideOutputs:
    from ecgbench.accuracy.brought import evaluate_brought
    from ecgbench.metrics.card_scores import card_paired_drops

    model, backend, precision = key
    bs = evaluate_brought(
        model,
        backend,
        precision,
        data,
        folds=s.folds,
        zoo=zoo,
        int8_rest=int8_rest,
        bootstrap=0,
        causal=causal,
        require_labels=False,
    )

    def drop(a: SideOutputs, b: SideOutputs):
        drops = card_paired_drops(a.labels, (a.binary, a.probs), (b.binary, b.probs), s.bootstrap)
        return next(x for x in drops if x.metric == "auroc")

    return SideOutputs(bs.names, bs.binary, bs.probs, bs.labels, "auroc", drop)


def side_outputs(
    zoo,
    key: tuple[str, str, str],
    data: Path,
    s: AccuracySettings,
    int8_rest: str = "f32",
    causal: Streaming | None = None,
) -> SideOutputs:
    score = _brought_outputs if zoo.get(key[0]).brought else _trained_outputs
    return score(zoo, key, data, s, int8_rest, causal)


# --------------------------------------------------------------------------- the guard
def accuracy_guard(
    keys: list[tuple[str, str, str, str | None]],
    base_zoo: Path,
    head_zoo: Path,
    data: Path,
    s: AccuracySettings,
    log: Log = print,
) -> list[AccuracyVerdict]:
    """Judge head's accuracy against base's for each (model, backend, precision, executed)."""
    from ecgbench.zoo import Zoo

    s.validate()
    if not Path(data).is_dir():
        raise BadInputError(f"--data {data}: not a folder of records")
    bz, hz = Zoo(base_zoo), Zoo(head_zoo)
    verdicts = []
    for model, backend, precision, executed in keys:
        key = (model, backend, precision)
        if model not in bz.entries or model not in hz.entries:
            side = "base" if model not in bz.entries else "head"
            verdicts.append(AccuracyVerdict(*key, NOT_SCORED, note=f"not in {side}'s zoo"))
            continue
        if source_digest(bz.get(model), backend, precision) == source_digest(
            hz.get(model), backend, precision
        ):
            verdicts.append(AccuracyVerdict(*key, UNCHANGED, identical=True))
            continue
        rest = "bf16" if (executed or "").endswith("bf16") else "f32"
        log(f"gate: {model} {backend} {precision} differs: scoring base and head on {data}")
        try:
            b = side_outputs(bz, key, Path(data), s, rest)
            h = side_outputs(hz, key, Path(data), s, rest)
        except BadInputError as e:
            verdicts.append(AccuracyVerdict(*key, NOT_SCORED, note=str(e)))
            continue
        verdicts.append(judge(key, b, h, s))
    return verdicts


def guard_exit_code(verdicts: list[AccuracyVerdict]) -> int:
    """1 on an accuracy regression; 4 when a key is inconclusive; else 0."""
    from ecgbench.gate.verdicts import EXIT_INCONCLUSIVE

    if any(v.verdict == REGRESSION for v in verdicts):
        return 1
    return EXIT_INCONCLUSIVE if any(v.verdict == INCONCLUSIVE for v in verdicts) else 0
