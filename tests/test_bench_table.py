"""The run table at the widths a user has: the core columns are never cut (no "…"), wider
terminals add columns, ``--wide`` or 160 columns show every one; marks and their footnotes agree."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from helpers_gate import result_row, run_doc
from rich.console import Console

from ecgbench.bench.results.schema import Accuracy, ExecutedAs
from ecgbench.bench.results.score_origin import MARK, other_cpu_note
from ecgbench.bench.tables.latency import results_table

ELSEWHERE = "Intel(R) Xeon(R) Processor (FP32: AVX-512 · INT8: AMX-INT8)"
BACKENDS = {"openvino": "CPU", "onnxruntime": "CPUExecutionProvider", "torch": "cpu"}
# the zoo's names, and one as long as a brought model's may be
MODELS = ("convnext1d_atto", "convnext1d_femto", "transformer1d_femto", "convnext1d_nano")


def int8_doc(unscored: bool = False, elsewhere: bool = True):
    """``run --model all --precision int8``: every model on every backend, int8+f32, scored on
    another CPU; with ``unscored``, the torch rows have no score."""
    rows = []
    for i, model in enumerate(MODELS):
        for j, (backend, device) in enumerate(BACKENDS.items()):
            r = result_row(model, 1.2 * (i + 1) * (j + 1) * (8 if backend == "torch" else 1), i)
            scored = not (unscored and backend == "torch")
            note = other_cpu_note(ELSEWHERE) if elsewhere else None
            rows.append(
                replace(
                    r,
                    backend=backend,
                    precision="int8",
                    executed="int8+f32",
                    execution=ExecutedAs(
                        devices=[device], int8_layers=40, total_layers=159, as_planned=True
                    ),
                    accuracy=Accuracy(
                        challenge_score=0.35 + 0.01 * i if scored else None,
                        auroc=0.84,
                        note=note if scored else "not measured for int8+f32",
                    ),
                )
            )
    return run_doc(rows)


def render(doc, width: int, wide: bool = False) -> str:
    con = Console(width=width, record=True, file=io.StringIO())
    con.print(results_table(doc, wide=wide))
    return con.export_text()


def table_lines(text: str, doc) -> list[list[str]]:
    """The body lines of the table, split on its column gaps."""
    lines = [ln for ln in text.splitlines() if any(m in ln for m in MODELS)]
    assert len(lines) == len(doc.rows), text
    return [ln.split() for ln in lines]


@pytest.mark.parametrize("width", [80, 100, 200])
def test_no_core_cell_is_cut(width: int) -> None:
    doc = int8_doc()
    text = render(doc, width)
    assert "…" not in text and max(map(len, text.splitlines())) <= width, text
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("model"))
    rule = next(i for i, ln in enumerate(lines) if ln.startswith("─"))
    assert rule == start + 1
    # a narrow table puts the units under the names, on the line above "model"
    header = " ".join(" ".join(lines[start - 1 : rule]).split())
    for h in ("backend", "median", "p99", "ms", "fps", "score", "asked → ran"):
        assert h in header, header
    if width >= 100:
        assert "median ms" in lines[start] and "p99 ms" in lines[start]
    got = table_lines(text, doc)
    for r, cells in zip(
        sorted(doc.rows, key=lambda r: (r.model, r.backend)), sorted(got), strict=True
    ):
        line = " ".join(cells)
        assert line.startswith(f"{r.model} {r.backend} ")
        assert "int8 → int8+f32" in line
        assert f"{r.latency.median_ms:.3f}" in cells and f"{r.throughput.fps:.0f}" in cells
        assert f"{r.latency.p99_ms:.3f}" in " ".join(cells)
        assert f"{r.accuracy.challenge_score:.3f}{MARK}" in cells


def test_width_adds_columns_and_wide_shows_all() -> None:
    doc = int8_doc()
    narrow, middle, full = render(doc, 80), render(doc, 120), render(doc, 200)
    assert "AUROC" not in narrow and "of ceiling" not in narrow and "p90 ms" not in narrow
    assert "p90 ms" in middle
    for h in ("device", "scenario", "p90 ms", "GFLOP/s", "of ceiling", "AUROC"):
        assert h in full, full
    assert "(40/159 int8)" in full and "(40/159 int8)" not in narrow
    squeezed = render(doc, 80, wide=True)  # --wide: every column anyway (folded, never "…")
    assert "…" not in squeezed
    natural = results_table(doc, wide=True).fitted(80)  # what `run --wide` prints, unbounded
    assert [c.header for c in natural.columns][-2:] == ["score", "AUROC"]


def test_a_score_from_another_cpu_is_marked_and_named_once() -> None:
    text = " ".join(render(int8_doc(), 100).split())
    assert text.count(f"{MARK} score measured on another CPU: {ELSEWHERE}") == 1
    assert "n/m" not in text  # no row shows n/m: no footnote names it
    here = " ".join(render(int8_doc(elsewhere=False), 100).split())
    assert MARK not in here and "another CPU" not in here
    mixed = " ".join(render(int8_doc(unscored=True), 100).split())
    assert "score n/m: not measured for int8+f32" in mixed and ELSEWHERE in mixed
    assert mixed.count(" n/m ") == len(MODELS)  # one per torch row


def test_a_name_too_long_for_80_columns_folds_instead_of_being_cut() -> None:
    doc = int8_doc()
    long_name = "my_hospital_ecg_classifier_v2_final_int8"  # a brought model's name, 40 chars
    doc.rows[0] = replace(doc.rows[0], model=long_name)
    text = render(doc, 80)
    assert "…" not in text and max(map(len, text.splitlines())) <= 80, text
    assert long_name in "".join(ln.split(" ")[0] for ln in text.splitlines()), text
    for r in doc.rows:  # every number is still whole
        assert f"{r.latency.median_ms:.3f}" in text and f"{r.throughput.fps:.0f}" in text
