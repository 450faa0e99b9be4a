"""The deployment answer: the most accurate model under a latency budget on a device and precision.

Candidates are the zoo variants timed by ``ecgbench run`` (measured latency, fold-10 accuracy of that
exact variant) and, optionally, sweep trials, whose latency is *predicted* from their FLOPs with a
runtime model fitted on the measured rows of the same machine, device, backend and precision
(log latency linear in log FLOPs), and marked as predicted. The answer knows ties
(:mod:`ecgbench.scaling.answer`): among variants whose scores are inside the best one's noise, the
faster wins. Under a memory cap (``--max-mb``), only variants whose peak RSS was measured
(``run --footprint``) and fits are candidates; the others are named, never assumed to fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecgbench.backends import default_float
from ecgbench.errors import BadInputError
from ecgbench.numbers import POSITIVE, check_all, check_number
from ecgbench.scaling.answer import BudgetAnswer, IntervalSet, ReplicateSet, answer_under_budget

# Peaks above the fresh process's baseline RSS (``run --footprint``); absent in stores before it.
MEMORY_COLUMNS = ("peak_rss_compile_mb", "peak_rss_infer_mb")


@dataclass
class MemoryFit:
    """Candidates under a memory cap, and those whose memory was never measured (left out)."""

    fits: pd.DataFrame
    too_big: list[str]
    not_measured: list[str]


def check_max_mb(max_mb: float) -> None:
    if not max_mb > 0:
        raise BadInputError(f"--max-mb must be > 0 (MB of peak RSS), not {max_mb:g}")


def memory_fit(cands: pd.DataFrame, max_mb: float) -> MemoryFit:
    """The candidates whose peak RSS, the larger of the compile and the inference peaks (a device
    must hold both), is at most ``max_mb``; a candidate without a footprint is not assumed to fit.
    """
    check_max_mb(max_mb)
    have = [cands[c].astype(float) for c in MEMORY_COLUMNS if c in cands.columns]
    peak = (
        pd.concat(have, axis=1).max(axis=1, skipna=True)
        if have
        else pd.Series(np.nan, index=cands.index, dtype=float)
    )
    labels = cands["model"].astype(str) + " " + cands["backend"].astype(str)
    fits = cands[peak <= max_mb].assign(peak_rss_mb=peak[peak <= max_mb])
    return MemoryFit(
        fits=fits,
        too_big=list(labels[peak > max_mb]),
        not_measured=list(labels[peak.isna()]),
    )


@dataclass
class RuntimeModel:
    """latency_ms = exp(b0) * flops^b1, fitted per (machine, device, backend, precision)."""

    b0: float
    b1: float
    n: int

    def predict(self, flops: np.ndarray) -> np.ndarray:
        return np.exp(self.b0) * np.power(np.asarray(flops, dtype=float), self.b1)


def fit_runtime_model(rows: pd.DataFrame) -> RuntimeModel | None:
    r = rows.dropna(subset=["flops", "median_ms"])
    r = r[(r["flops"] > 0) & (r["median_ms"] > 0)]
    if r["flops"].nunique() < 2:
        return None
    b1, b0 = np.polyfit(np.log(r["flops"].astype(float)), np.log(r["median_ms"]), 1)
    return RuntimeModel(b0=float(b0), b1=float(b1), n=len(r))


def candidates(
    rows: pd.DataFrame,
    device: str,
    precision: str,
    backend: str | None = None,
    trials: pd.DataFrame | None = None,
    fp32_scores: dict[str, float] | None = None,
    end_to_end: bool = False,
) -> pd.DataFrame:
    """Measured zoo variants (+ trials with predicted latency) for one device and precision.

    ``score_drop`` is the accuracy cost of the precision: the model's FP32 score (from
    ``fp32_scores``, else from FP32 rows in ``rows``) minus this variant's score.
    ``end_to_end``: the budget holds the whole call (``run --pipeline`` rows only): their
    end-to-end median and p99 stand in for the model-only ones.
    """
    lat = rows[(rows["scenario"] == "latency") & (rows["batch"] == 1)]
    if end_to_end:
        if trials is not None:
            raise BadInputError("--pipeline with --study: sweep trials have no end-to-end time")
        lat = _end_to_end(lat)
    lat = lat[lat["device"].str.upper() == device.upper()]
    lat = lat[lat["precision"] == precision]
    if backend:
        lat = lat[lat["backend"] == backend]
    if lat.empty:
        raise BadInputError(
            f"no measured latency for {device} {precision}"
            + (f" {backend}" if backend else "")
            + " in the results store; run `ecgbench run` first"
        )
    # The latest run per variant.
    # (whole rows: GroupBy.last() would fill a missing value from an older run)
    # (int8+f32 and int8+bf16 are different variants of one precision: both stay; rows stored
    # before ``executed`` existed get it from what they recorded)
    lat = lat.copy()
    lat["executed"] = _executed_column(lat)
    keys = ["model", "backend", "executed"]
    lat = lat.sort_values("created", kind="stable").groupby(keys, dropna=False).tail(1)
    lat = lat.sort_values(["model", "backend"]).reset_index(drop=True)
    out = lat[
        [
            "model",
            "backend",
            "device",
            "precision",
            "executed",
            "median_ms",
            "p99_ms",
            *(["model_only_ms"] if end_to_end else []),
            "flops",
            *(["params"] if "params" in lat.columns else []),
            "challenge_score",
            "auroc",
            *(["accuracy_note"] if "accuracy_note" in lat.columns else []),
            *[c for c in MEMORY_COLUMNS if c in lat.columns],
        ]
    ].copy()
    out["latency"] = "measured end to end" if end_to_end else "measured"
    out["source"] = "zoo"
    ref = _fp32_scores(rows, device)
    ref.update(fp32_scores or {})
    out["score_drop"] = out["model"].map(ref) - out["challenge_score"]
    if trials is not None and len(trials):
        out = pd.concat(
            [out, *_predicted_trials(lat, trials, device, precision)], ignore_index=True
        )
    return out


def _end_to_end(lat: pd.DataFrame) -> pd.DataFrame:
    """``run --pipeline`` rows with their end-to-end median and p99 in the model-only columns."""
    have = lat["e2e_median_ms"].notna() if "e2e_median_ms" in lat else lat["model"].isna()
    if not have.any():
        raise BadInputError(
            "no end-to-end timing in the results store; run `ecgbench run --pipeline` first"
        )
    lat = lat[have].copy()
    lat["model_only_ms"] = lat["median_ms"]
    lat["median_ms"] = lat["e2e_median_ms"]
    lat["p99_ms"] = lat["e2e_p99_ms"]
    return lat


def _predicted_trials(
    lat: pd.DataFrame, trials: pd.DataFrame, device: str, precision: str
) -> list[pd.DataFrame]:
    """Sweep trials at the latency each backend's FLOPs fit predicts (one frame per backend)."""
    parts = []
    for b, g in lat.groupby("backend"):
        rm = fit_runtime_model(g)
        if rm is None:
            continue
        t = trials.copy()
        parts.append(
            pd.DataFrame(
                {
                    "model": "trial " + t["trial"].astype(str),
                    "backend": b,
                    "device": device,
                    "precision": precision,
                    "median_ms": rm.predict(t["flops"]),
                    "p99_ms": np.nan,
                    "flops": t["flops"],
                    "challenge_score": t.get("test_challenge_score", t["score"]),
                    "auroc": t.get("test_auroc", np.nan),
                    "latency": f"predicted from FLOPs (fit on {rm.n} measured)",
                    "source": "sweep",
                    "score_drop": np.nan,  # trials are evaluated in FP32 only
                }
            )
        )
    return parts


def _executed_column(rows: pd.DataFrame) -> pd.Series:
    from ecgbench.precision import executed_label

    none = pd.Series(None, index=rows.index, dtype=object)
    have = rows.get("executed", none)
    ip = rows.get("inference_precision", none)
    out = []
    for ex, prec, backend, p in zip(have, rows["precision"], rows["backend"], ip, strict=True):
        if isinstance(ex, str) and ex:
            out.append(ex)
            continue
        p = p if isinstance(p, str) and p else default_float(backend)
        out.append(executed_label(str(prec), p) or "?")
    return pd.Series(out, index=rows.index)


def recommend(
    cands: pd.DataFrame,
    budget_ms: float,
    replicates: ReplicateSet | None = None,
    level: float = 0.95,
    intervals: IntervalSet | None = None,
    min_gain: float = 0.0,
) -> BudgetAnswer | None:
    """The answer under a budget: the best-scoring candidate that fits, and the variants tied with
    it on paired ``replicates``; the answer is the fastest (then smallest) of that tied set.

    None when nothing scored fits. Without replicates for the best, its ties are unknown and the
    answer is the highest point score (equal scores: the faster).
    """
    check_number("latency budget (ms)", budget_ms, POSITIVE)  # "nothing fits" would be a lie
    ok = cands[(cands["median_ms"] <= budget_ms) & cands["challenge_score"].notna()]
    if ok.empty:
        return None
    return answer_under_budget(ok, budget_ms, replicates or {}, level, intervals, min_gain)


def _fp32_scores(rows: pd.DataFrame, device: str) -> dict[str, float]:
    fp = rows[(rows["precision"] == "fp32") & (rows["device"].str.upper() == device.upper())]
    fp = fp.dropna(subset=["challenge_score"])
    return fp.groupby("model")["challenge_score"].max().to_dict() if len(fp) else {}


def _budget_range(budgets: list[float]) -> str:
    return f"{budgets[0]:g}" if len(budgets) == 1 else f"{budgets[0]:g}–{budgets[-1]:g}"


def budget_table(
    rows: pd.DataFrame,
    budgets_ms: list[float],
    fp32_scores: dict[str, float] | None = None,
    replicates: ReplicateSet | None = None,
    intervals: IntervalSet | None = None,
    min_gain: float = 0.0,
) -> pd.DataFrame:
    """The answer for every device × precision with measured batch-1 latency: one row per answer
    (consecutive budgets with the same answer share it, ``budgets_ms`` "5–20"), with its score and
    interval, and the variants tied with the best score."""
    check_all("latency budget (ms)", budgets_ms, POSITIVE)
    lat = rows[(rows["scenario"] == "latency") & (rows["batch"] == 1)]
    out: list[dict] = []
    for (device, precision), _ in lat.groupby(["device", "precision"]):
        c = candidates(rows, device, precision, fp32_scores=fp32_scores)
        runs: list[tuple[list[float], dict]] = []
        for b in sorted(budgets_ms):
            a = recommend(c, b, replicates, intervals=intervals, min_gain=min_gain)
            base = {"device": device, "precision": precision}
            if a is None:
                row = {**base, "model": None}
            else:
                r = a.choice
                keys = ("model", "backend", "median_ms", "challenge_score", "score_drop", "auroc")
                row = {
                    **base,
                    **{k: r[k] for k in keys},
                    "executed": r.get("executed"),
                    "accuracy_note": r.get("accuracy_note"),
                    "score_ci": a.score_text(),
                    "tied_with": a.tie_text(),
                }
            same = runs and {k: v for k, v in runs[-1][1].items() if k != "tied_with"} == {
                k: v for k, v in row.items() if k != "tied_with"
            }
            if same:
                runs[-1][0].append(b)
                runs[-1][1]["tied_with"] = row.get("tied_with")  # the widest budget's tie set
            else:
                runs.append(([b], row))
        for budgets, row in runs:
            out.append({**row, "budget_ms": budgets[-1], "budgets_ms": _budget_range(budgets)})
    return pd.DataFrame(out)


def zoo_evidence(zoo=None) -> tuple[IntervalSet, int | None]:
    """The manifest's unpaired score intervals per (model, variant key), and the largest test-set
    record count of its evaluations (what "one record's worth of score" is measured on)."""
    from ecgbench.zoo import Zoo

    zoo = zoo or Zoo()
    intervals, n = {}, None
    for name, entry in zoo.entries.items():
        for key, v in (entry.variants or {}).items():
            ci, s = v.get("challenge_score_ci95"), v.get("challenge_score")
            if ci and s is not None and len(ci) == 2:
                intervals[(name, key)] = (float(s), float(ci[0]), float(ci[1]))
            if isinstance(v.get("n_records"), int) and v["n_records"] > 0:
                n = max(n or 0, v["n_records"])
    return intervals, n


def one_record_gain(n_records: int | None) -> float:
    """One record's worth of Challenge score on a test set of ``n_records``: 1/n (the score is
    normalised over records, so one record moved from wrong to right moves it about 1/n)."""
    return 1.0 / n_records if n_records else 0.0


def untimed_models(cands: pd.DataFrame, zoo=None) -> list[str]:
    """Zoo models with no timing among ``cands`` (never timed in this store, device, precision)."""
    from ecgbench.zoo import Zoo

    zoo = zoo or Zoo()
    timed = set(cands["model"].astype(str))
    return [n for n in zoo.names() if n not in timed]


def zoo_fp32_scores(zoo=None) -> dict[str, float]:
    """Each zoo model's FP32 fold-10 Challenge score (``ecgbench evaluate --zoo``)."""
    from ecgbench.zoo import Zoo

    zoo = zoo or Zoo()
    out = {}
    for name, entry in zoo.entries.items():
        # keys are "<backend>-<precision>@<executed>": FP32 that ran in f32
        scores = [
            v.get("challenge_score")
            for k, v in (entry.variants or {}).items()
            if k.endswith("-fp32@f32") and v.get("challenge_score") is not None
        ]
        if scores:
            out[name] = float(max(scores))
    return out


def nice_budgets(medians_ms) -> list[float]:
    """1-2-5 budgets from the fastest measured variant to just past the slowest."""
    m = np.asarray(medians_ms, dtype=float)
    m = m[np.isfinite(m) & (m > 0)]
    if not m.size:
        return []
    lo, hi = m.min(), m.max()
    out = []
    for e in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1):
        for f in (1, 2, 5):
            b = f * 10.0**e
            if lo <= b < 2 * hi:
                out.append(round(b, 6))
    return out
