"""Does a short sweep trial rank as its longer run does?

A sweep ranks architectures only if its fixed budget is long enough: a trial's score after E epochs
must order the trials as the same trial (same params, same seed) does after 3E. ``ecgbench sweep
--replay SHORT --epochs 3E`` makes the longer runs; this module compares the two orders. Pure
functions over the two trial tables; the interval is a percentile bootstrap over trials.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ecgbench.errors import BadInputError
from ecgbench.statistics import bootstrap_indices, percentile_interval


@dataclass(frozen=True)
class RankAgreement:
    n_trials: int
    short_epochs: int
    long_epochs: int
    spearman: float
    spearman_ci: tuple[float, float]  # 95 % percentile bootstrap over trials
    kendall: float
    top_k: int
    top_k_overlap: int  # of the short runs' top k, how many are in the long runs' top k
    best_short_rank_long: int  # 1-based rank, among the long runs, of the short runs' best
    # (source trial, replayed trial, short score, long score)
    pairs: tuple[tuple[int, int, float, float], ...]

    def to_dict(self) -> dict:
        """JSON-ready: an undefined correlation (a constant side) is null."""
        from ecgbench.scaling.analysis import json_finite

        return json_finite(asdict(self))


def matched_scores(
    short: pd.DataFrame, long: pd.DataFrame, score: str = "score"
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """The scores of each trial and its replay, matched by ``replay_of``."""
    if "replay_of" not in long:
        raise BadInputError("the longer study holds no replayed trial (run sweep --replay)")
    by_source = short.set_index("trial")[score]
    pairs = [
        (int(src), int(t))
        for t, src in zip(long["trial"], long["replay_of"], strict=True)
        if pd.notna(src) and int(src) in by_source.index
    ]
    if len(pairs) < 3:
        raise BadInputError(f"{len(pairs)} replayed trials match the short study; need at least 3")
    long_by_trial = long.set_index("trial")[score]
    s = np.array([by_source[a] for a, _ in pairs], dtype=float)
    lg = np.array([long_by_trial[b] for _, b in pairs], dtype=float)
    return s, lg, pairs


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho; undefined (NaN) when one side is constant."""
    from scipy.stats import spearmanr

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b)[0])


def spearman_interval(
    a: np.ndarray, b: np.ndarray, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap of Spearman's rho over pairs (resamples with a constant side dropped)."""
    idx = bootstrap_indices(len(a), n_boot, seed)
    rhos = []
    for i in idx:
        if np.ptp(a[i]) > 0 and np.ptp(b[i]) > 0:
            rhos.append(spearman(a[i], b[i]))
    return percentile_interval(np.asarray(rhos, dtype=np.float64), level)


def rank_agreement(
    short: pd.DataFrame, long: pd.DataFrame, score: str = "score", top_k: int = 3
) -> RankAgreement:
    from scipy.stats import kendalltau

    s, lg, pairs = matched_scores(short, long, score)
    k = min(top_k, len(s))
    top_short, top_long = set(np.argsort(-s)[:k]), set(np.argsort(-lg)[:k])
    long_rank = np.argsort(np.argsort(-lg))  # 0 = best
    return RankAgreement(
        n_trials=len(s),
        short_epochs=int(short["epochs"].iloc[0]) if "epochs" in short else 0,
        long_epochs=int(long["epochs"].iloc[0]) if "epochs" in long else 0,
        spearman=spearman(s, lg),
        spearman_ci=spearman_interval(s, lg),
        kendall=float(kendalltau(s, lg)[0]) if np.ptp(s) and np.ptp(lg) else float("nan"),
        top_k=k,
        top_k_overlap=len(top_short & top_long),
        best_short_rank_long=int(long_rank[int(np.argmax(s))]) + 1,
        pairs=tuple((a, b, float(x), float(y)) for (a, b), x, y in zip(pairs, s, lg, strict=True)),
    )


__all__ = ["RankAgreement", "matched_scores", "rank_agreement", "spearman_interval"]
