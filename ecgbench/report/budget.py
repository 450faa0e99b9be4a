"""The report's deployment answer (*best model under a latency budget*) and the note naming the
CPUs its scores were measured on, when not the machine that timed them."""

from __future__ import annotations

import html

import pandas as pd

from ecgbench.bench.results import score_origin
from ecgbench.report.tables import html_table


def budget_section(df: pd.DataFrame) -> str:
    """The deployment answer per device and precision, for 1-2-5 budgets over the measured range:
    one row per answer (the budgets it answers), its interval, and the tie set."""
    from ecgbench.accuracy.replicates import load_replicates
    from ecgbench.scaling.recommend import budget_table, nice_budgets, one_record_gain, zoo_evidence

    lat = df[(df["scenario"] == "latency") & (df["batch"] == 1) & df["challenge_score"].notna()]
    budgets = nice_budgets(lat["median_ms"])
    if not budgets:
        return ""
    replicates = load_replicates()
    intervals, n_records = zoo_evidence()
    gain = one_record_gain(n_records)
    parts = []
    for machine, rows in df.groupby("machine", sort=True):
        t = budget_table(rows, budgets, replicates=replicates, intervals=intervals, min_gain=gain)
        if t.empty:
            continue
        t = t.assign(machine=machine, model=t["model"].fillna("nothing fits"))
        parts.append(t)
    if not parts:
        return ""
    table = pd.concat(parts, ignore_index=True)
    table["score_ci"] = [
        score_origin.marked(str(s), n)
        for s, n in zip(
            table["score_ci"], table.get("accuracy_note", [None] * len(table)), strict=True
        )
    ]
    table = table.rename(
        columns={"score_ci": "score [95% CI]", "tied_with": "tied with (best − it, 95% CI)"}
    )
    cols = [
        "machine",
        "device",
        "precision",
        "budgets_ms",
        "budget_ms",
        "model",
        "backend",
        "median_ms",
        "score [95% CI]",
        "score_drop",
        "auroc",
        "tied with (best − it, 95% CI)",
    ]
    margin = f"{gain:.4f}, one record's worth of score on {n_records} test records" if gain else "0"
    elsewhere = score_origin.footnote(table.get("accuracy_note", []))
    return (
        "<h2>Best model under a latency budget</h2><p class='note'>Per machine, device and "
        "precision: among the variants whose median batch-1 latency fits the budget, the one with "
        "the highest fold-10 Challenge score and those tied with it: the paired bootstrap "
        "interval of the difference holds 0, or without paired replicates the two 95 % intervals "
        f"overlap, or the gain is below the margin ({margin}): a smaller gain never buys a "
        "slower variant. The answer is the fastest, then smallest, of that tied set; one row per "
        "answer, with the budgets it answers (<em>budgets ms</em>; <em>budget ms</em>: the "
        "largest of them). <em>Ties unknown</em>: nothing to compare with (no replicates, no "
        "intervals), so the highest point score is shown unranked against noise. "
        "<em>FP32 − it</em>: what the precision cost in score against FP32 (positive: lower). "
        "<code>ecgbench recommend</code> answers the same from the results store.</p>"
        + (f"<p class='note'>{html.escape(elsewhere)}</p>" if elsewhere else "")
        + html_table(table, cols)
    )


def elsewhere_note(acc: pd.DataFrame) -> str:
    """The sentence naming the CPUs the shown scores were measured on, when not the timing one."""
    note = score_origin.footnote(acc.dropna(subset=["challenge_score"]).get("accuracy_note", []))
    return f" <b>{html.escape(note)}</b>" if note else ""
