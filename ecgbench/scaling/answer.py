"""The deployment answer that knows ties: the fastest of the variants tied with the best score.

Under a budget, the highest point score alone ranks variants whose scores lie inside each other's
noise. With paired bootstrap replicates (``models/score-replicates.npz``) each variant's score is
compared with the best one's; those whose paired interval of the difference holds 0 are tied with
it, and among the tied set the faster (then the smaller) variant is the answer. Variants without
replicates (older manifests, sweep trials) are never ranked silently: their ties are "unknown".
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
    difference: ScoreDifference  # best − this variant, paired

    def text(self) -> str:
        d = self.difference
        return (
            f"{self.label} {self.challenge_score:.3f}, best − it "
            f"{d.point:+.3f} [{d.lo:+.3f}, {d.hi:+.3f}]"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "variant": self.label,
            "median_ms": _json(self.median_ms),
            "challenge_score": _json(self.challenge_score),
            "best_minus_this": self.difference.to_dict(),
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

    def tie_text(self) -> str:
        """The tie set, other than the choice, with each one's difference from the best."""
        if not self.ties_known:
            return UNKNOWN
        chosen = _label(self.choice)
        others = [t.text() for t in self.tied if t.label != chosen]
        mine = next((t.difference for t in self.tied if t.label == chosen), None)
        if mine is not None:  # the answer is not the best: the best, and the answer's gap to it
            others.insert(
                0,
                f"{_label(self.best)} (best {self.best['challenge_score']:.3f}, best − answer "
                f"{mine.point:+.3f} [{mine.lo:+.3f}, {mine.hi:+.3f}])",
            )
        text = "; ".join(others) or "none"
        if self.unpaired:
            text += f"; unknown for {', '.join(self.unpaired)} (no paired replicates)"
        return text

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


def _speed_then_size(df: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in ("median_ms", "flops", "params") if c in df.columns]
    return df.sort_values(cols, na_position="last", kind="stable")


def answer_under_budget(
    ok: pd.DataFrame, budget_ms: float, replicates: ReplicateSet, level: float = 0.95
) -> BudgetAnswer:
    """``ok``: the scored candidates that fit the budget (not empty); the tie-aware answer."""
    ranked = ok.sort_values(["challenge_score", "median_ms"], ascending=[False, True])
    best = ranked.iloc[0]
    best_rep = _replicates_of(best, replicates)
    if best_rep is None:  # nothing to pair with: the highest point score, and say so
        return BudgetAnswer(budget_ms, best, best, level=level)
    tied_idx, tied, unpaired = [ranked.index[0]], [], []
    for i, r in ranked.iloc[1:].iterrows():
        rep = _replicates_of(r, replicates)
        if rep is None or best_rep.pairs_with(rep) is not None:
            unpaired.append(_label(r))
            continue
        d = paired_difference(best_rep, rep, level, (_label(best), _label(r)))
        if d.tie:
            tied_idx.append(i)
            tied.append(TiedVariant(_label(r), float(r["median_ms"]), r["challenge_score"], d))
    choice = _speed_then_size(ok.loc[tied_idx]).iloc[0]
    choice_rep = _replicates_of(choice, replicates)
    return BudgetAnswer(
        budget_ms,
        choice,
        best,
        tied=tied,
        ties_known=True,
        unpaired=unpaired,
        score_ci=choice_rep.interval(level) if choice_rep else None,
        level=level,
    )
