"""A comparison rendered for the terminal and for a CI job summary: the same rows in both."""

from __future__ import annotations

from helpers_gate import result_row, run_doc
from rich.console import Console

from ecgbench.gate.render import comparison_markdown, comparison_table
from ecgbench.gate.verdicts import GateSettings, compare_runs


def test_markdown_summary_lists_every_key():
    base = run_doc([result_row("a", 5.0, 1), result_row("b", 5.0, 2)])
    cur = run_doc([result_row("a", 6.5, 3), result_row("b", 5.0, 4)], seed=1)
    md = comparison_markdown(compare_runs(base, cur, GateSettings(n_boot=200)))
    assert md.startswith("## ecgbench latency gate: 1 regression(s)")
    assert md.count("\n| ") == 3  # header + two keys
    assert "regression | a |" in md and "unchanged | b |" in md


def _table_rows(cmp) -> tuple[list[str], list[list[str]]]:
    con = Console(width=300, record=True, color_system=None)
    con.print(comparison_table(cmp))
    lines = [ln for ln in con.export_text().splitlines() if ln.startswith(("┃", "│"))]
    cells = [
        [c.strip() for c in ln.strip("┃│").split("┃" if ln[0] == "┃" else "│")] for ln in lines
    ]
    return cells[0], cells[1:]


def _markdown_rows(md: str) -> tuple[list[str], list[list[str]]]:
    lines = [ln for ln in md.splitlines() if ln.startswith("|") and not ln.startswith("|---")]
    cells = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
    return cells[0], cells[1:]


def test_table_and_markdown_carry_the_same_rows_and_cells():
    base = run_doc([result_row("a", 5.0, 1), result_row("b", 5.0, 2), result_row("gone", 5.0, 3)])
    cur = run_doc([result_row("a", 6.5, 4), result_row("b", 3.5, 5)], seed=1)
    cmp = compare_runs(base, cur, GateSettings(n_boot=200))
    t_head, t_rows = _table_rows(cmp)
    m_head, m_rows = _markdown_rows(comparison_markdown(cmp))
    assert len(t_rows) == len(m_rows) == len(cmp.verdicts) == 3
    assert [c for c in t_head if c not in ("scenario", "raw ratio")] == ["verdict", *m_head[1:]]
    for v, t, m in zip(cmp.verdicts, t_rows, m_rows, strict=True):
        tt, mm = dict(zip(t_head, t, strict=True)), dict(zip(m_head, m, strict=True))
        assert tt["verdict"] == str(v.verdict) and mm[""].endswith(f" {v.verdict}")
        assert all(tt[h] == mm[h] for h in m_head[1:]), (tt, mm)
    assert [r[0] for r in t_rows] == ["regression", "improvement", "not comparable"]
    assert m_rows[2][m_head.index("95% CI")] == "only in the baseline"
