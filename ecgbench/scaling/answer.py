"""The deployment answer that knows ties: the fastest of the variants tied with the best score.

Under a budget, the highest point score alone ranks variants whose scores lie inside each other's
noise. Each variant is compared with the best one:

- with paired bootstrap replicates (``models/score-replicates.npz``): tied when the paired
  interval of the difference holds 0;
- without them, from the unpaired 95 % intervals of both scores (the zoo manifest): tied when
  the intervals overlap;
- either way, a gain smaller than ``min_gain`` (a practical margin: one record's worth of score
  on the test set) is a tie, even when a tight paired interval calls it significant: two variants
  of one model that agree on almost every record must not buy a 35x slower one for 0.0001.

Among the tied set the faster (then the smaller) variant is the answer. A variant that none of
these can compare (sweep trials, older manifests) is never ranked silently: its tie is "unknown".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ecgbench.metrics.ties import Replicates, ScoreDifference, paired_difference

UNKNOWN = "ties unknown (no paired replicates)"
SCORE_MATCH = 1e-9  # replicates whose point score is not the candidate's are stale
ReplicateSet = Mapping[tuple[str, str], Replicates]
# (model, variant score key) -> (point score, 95 % low, 95 % high): the zoo manifest's intervals
IntervalSet = Mapping[tuple[str, str], tuple[float, float, float]]


def _label(r: pd.Series) -> str:
    ex = r.get("executed")
    return f"{r['model']} {r['backend']}" + (f" {ex}" if isinstance(ex, str) and ex else "")


def _json(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v.item() if hasattr(v, "item") else v


@dataclass(frozen=True)
class TiedVariant:
    """A variant whose score is inside the best one's noise: best − it has an interval holding 0."""

    label: str
    median_ms: float
    challenge_score: float
    difference: ScoreDifference  # best − this variant: paired, or the gap with unpaired bounds
    basis: str = "paired"  # "paired", "intervals overlap" or "below the margin"

    def text(self) -> str:
        d = self.difference
        if self.basis == "paired":
            return (
                f"{self.label} {self.challenge_score:.3f}, best − it "
                f"{d.point:+.3f} [{d.lo:+.3f}, {d.hi:+.3f}]"
            )
        return f"{self.label} {self.challenge_score:.3f}, best − it {d.point:+.4f} ({self.basis})"

    def to_dict(self) -> dict[str, Any]:
        d = self.difference.to_dict()
        d["ci"] = [_json(x) for x in d["ci"]]
        return {
            "variant": self.label,
            "median_ms": _json(self.median_ms),
            "challenge_score": _json(self.challenge_score),
            "best_minus_this": d,
            "basis": self.basis,
        }


@dataclass
class BudgetAnswer:
    """The answer under one budget: what to deploy, the best score, and who is tied with it."""

    budget_ms: float
    choice: pd.Series  # the fastest (then smallest) of the best and the variants tied with it
    best: pd.Series  # the highest point score under the budget
    tied: list[TiedVariant] = field(default_factory=list)  # tied with best (the choice included)
    ties_known: bool = False  # the best variant has replicates to pair with
    unpaired: list[str] = field(default_factory=list)  # variants that could not be compared
    score_ci: tuple[float, float] | None = None  # the choice's score interval
    level: float = 0.95
    min_gain: float = 0.0  # a gain below it is a tie

    def tie_text(self) -> str:
        """The tie set, other than the choice, with each one's difference from the best."""
        if not self.ties_known:
            return UNKNOWN
        chosen = _label(self.choice)
        others = [t.text() for t in self.tied if t.label != chosen]
        mine = next((t.difference for t in self.tied if t.label == chosen), None)
        how = self.chosen_difference()
        if mine is not None and how is not None and how.basis != "paired":
            others.insert(
                0,
                f"{_label(self.best)} (best {self.best['challenge_score']:.3f}, best − answer "
                f"{mine.point:+.4f}, {how.basis})",
            )
        elif mine is not None:  # the answer is not the best: the best, and the answer's gap to it
            others.insert(
                0,
                f"{_label(self.best)} (best {self.best['challenge_score']:.3f}, best − answer "
                f"{mine.point:+.3f} [{mine.lo:+.3f}, {mine.hi:+.3f}])",
            )
        text = "; ".join(others) or "none"
        if self.unpaired:
            text += f"; unknown for {', '.join(self.unpaired)} (no paired replicates)"
        return text

    def chosen_difference(self) -> TiedVariant | None:
        chosen = _label(self.choice)
        return next((t for t in self.tied if t.label == chosen), None)

    def score_text(self) -> str:
        s = f"{self.choice['challenge_score']:.3f}"
        return s + (f" [{self.score_ci[0]:.3f}, {self.score_ci[1]:.3f}]" if self.score_ci else "")

    def to_dict(self) -> dict[str, Any]:
        c = self.choice
        keys = ("model", "backend", "executed", "median_ms", "challenge_score", "score_drop")
        return {
            "budget_ms": self.budget_ms,
            **{k: _json(c.get(k)) for k in (*keys, "auroc", "latency")},
            "challenge_score_ci": list(self.score_ci) if self.score_ci else None,
            "level": self.level,
            "best": {k: _json(self.best.get(k)) for k in keys},
            "ties": "known" if self.ties_known else "unknown",
            "tied": [t.to_dict() for t in self.tied],
            "unpaired": self.unpaired,
            "min_score_gain": self.min_gain,
        }


def _replicates_of(r: pd.Series, replicates: ReplicateSet) -> Replicates | None:
    """The replicates of exactly this variant, if stored and made for the score it shows."""
    from ecgbench.zoo import variant_score_key  # the zoo module loads torch: only when needed

    ex = r.get("executed")
    if not isinstance(ex, str) or not ex or r.get("source", "zoo") != "zoo":
        return None
    rep = replicates.get((str(r["model"]), variant_score_key(r["backend"], r["precision"], ex)))
    if rep is None or not math.isclose(rep.point, r["challenge_score"], abs_tol=SCORE_MATCH):
        return None
    return rep


def _interval_of(r: pd.Series, intervals: IntervalSet) -> tuple[float, float] | None:
    """The unpaired 95 % interval of exactly this variant's score, if the manifest has it."""
    from ecgbench.zoo import variant_score_key

    ex = r.get("executed")
    if not isinstance(ex, str) or not ex or r.get("source", "zoo") != "zoo":
        return None
    got = intervals.get((str(r["model"]), variant_score_key(r["backend"], r["precision"], ex)))
    if got is None or not math.isclose(got[0], r["challenge_score"], abs_tol=SCORE_MATCH):
        return None
    return got[1], got[2]


def _speed_then_size(df: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in ("median_ms", "flops", "params") if c in df.columns]
    return df.sort_values(cols, na_position="last", kind="stable")


@dataclass(frozen=True)
class _Evidence:
    """What a comparison with the best variant can use."""

    replicates: ReplicateSet
    intervals: IntervalSet
    min_gain: float
    level: float


def _compare(best: pd.Series, r: pd.Series, ev: _Evidence) -> TiedVariant | str | None:
    """A tie (TiedVariant), "worse" (distinguishably), or None (nothing to compare with)."""
    gap = float(best["challenge_score"] - r["challenge_score"])
    a, b = _replicates_of(best, ev.replicates), _replicates_of(r, ev.replicates)
    tie = lambda d, basis: TiedVariant(  # noqa: E731
        _label(r), float(r["median_ms"]), r["challenge_score"], d, basis
    )
    if a is not None and b is not None and a.pairs_with(b) is None:
        d = paired_difference(a, b, ev.level, (_label(best), _label(r)))
        if d.tie:
            return tie(d, "paired")
        return tie(d, "below the margin") if d.point < ev.min_gain else "worse"
    margin = ScoreDifference(gap, math.nan, math.nan, ev.level)
    ia, ib = _interval_of(best, ev.intervals), _interval_of(r, ev.intervals)
    if ia is not None and ib is not None:
        if ia[0] <= ib[1] and ib[0] <= ia[1]:
            return tie(margin, "intervals overlap")
        return tie(margin, "below the margin") if gap < ev.min_gain else "worse"
    return tie(margin, "below the margin") if gap < ev.min_gain else None


def answer_under_budget(
    ok: pd.DataFrame,
    budget_ms: float,
    replicates: ReplicateSet,
    level: float = 0.95,
    intervals: IntervalSet | None = None,
    min_gain: float = 0.0,
) -> BudgetAnswer:
    """``ok``: the scored candidates that fit the budget (not empty); the tie-aware answer."""
    ranked = ok.sort_values(["challenge_score", "median_ms"], ascending=[False, True])
    best = ranked.iloc[0]
    ev = _Evidence(replicates, intervals or {}, min_gain, level)
    tied_idx, tied, unpaired = [ranked.index[0]], [], []
    for i, r in ranked.iloc[1:].iterrows():
        got = _compare(best, r, ev)
        if got is None:
            unpaired.append(_label(r))
        elif isinstance(got, TiedVariant):
            tied_idx.append(i)
            tied.append(got)
    known = (
        _replicates_of(best, replicates) is not None
        or _interval_of(best, ev.intervals) is not None
        or bool(tied)
    )
    if not known:  # nothing to compare with: the highest point score, and say so
        return BudgetAnswer(budget_ms, best, best, level=level, min_gain=min_gain)
    choice = _speed_then_size(ok.loc[tied_idx]).iloc[0]
    choice_rep = _replicates_of(choice, replicates)
    ci = choice_rep.interval(level) if choice_rep else _interval_of(choice, ev.intervals)
    return BudgetAnswer(
        budget_ms,
        choice,
        best,
        tied=tied,
        ties_known=True,
        unpaired=unpaired,
        score_ci=ci,
        level=level,
        min_gain=min_gain,
    )
