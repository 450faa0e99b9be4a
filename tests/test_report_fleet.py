"""The fleet view: one box per machine × device on one axis, medians relative to a reference, and
no facet per machine once the fleet is larger than a few machines."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from helpers_gate import FP, result_row, run_doc
from test_report import read_tables

from ecgbench.report.data import build_frames
from ecgbench.report.fleet_view import FleetOptions, FleetView, choose, fleet_figure, fleet_table
from ecgbench.report.html import render_report

SPEED = {f"edge-{i:02d}": 1.0 + 0.25 * i for i in range(6)}  # edge-00 fastest, edge-05 ×2.25


def fleet_docs():
    docs = []
    for i, (name, f) in enumerate(SPEED.items()):
        rows = [result_row("atto", 1.0 * f, i), result_row("pico", 4.0 * f, i + 50)]
        fp = {**FP, "machine_id": f"m{i:02d}", "machine_name": name}
        docs.append(run_doc(rows, seed=i, fp=fp))
    return docs


def test_one_box_per_machine_on_one_axis_and_the_relative_table() -> None:
    data = build_frames(fleet_docs())
    c = choose(data.boxes, "pico", "edge-00")
    assert c.reference == "edge-00" and c.variant == "pico · openvino · fp32"
    fig = fleet_figure(data.boxes, c)
    (ax,) = fig.axes  # one axis, whatever the fleet's size
    boxes = [p for p in ax.patches if (p.get_gid() or "").startswith("fleet-box:")]
    assert len(boxes) == len(SPEED)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [f"{m} — CPU" for m in SPEED]  # fastest first
    plt.close(fig)
    t = fleet_table(data.boxes, "edge-00").set_index("machine")
    assert t.loc["edge-00", "pico · openvino · fp32"].endswith(" ms")
    for m, f in SPEED.items():
        if m != "edge-00":
            got = float(t.loc[m, "atto · openvino · fp32"].lstrip("×"))
            assert got == pytest.approx(f, rel=0.03)
    zoo = choose(data.boxes, "all", "edge-00")
    assert zoo.variant is None
    plt.close(fleet_figure(data.boxes, zoo))


def test_a_fleet_report_draws_the_reference_machine_not_a_panel_per_machine(
    tmp_path: Path,
) -> None:
    data = build_frames(fleet_docs())
    view = FleetView.of(data, FleetOptions(reference="edge-03"))
    assert not view.few and view.reference == "edge-03"
    assert set(view.per_variant(data.boxes)["machine"]) == {"edge-03"}
    r = render_report(data, tmp_path / "rep", options=FleetOptions(reference="edge-03"))
    page = r.index.read_text()
    assert "Fleet view" in page and "Overview of medians" not in page
    assert (tmp_path / "rep" / "fleet.png").is_file()
    (fleet,) = [t for t in read_tables(r.index) if "pico · openvino · fp32" in t.columns]
    assert len(fleet) == len(SPEED) and "×1.00" not in set(fleet["pico · openvino · fp32"])


def test_a_score_from_another_cpu_is_marked_and_named_in_the_report(tmp_path: Path) -> None:
    from ecgbench.bench.results.schema import Accuracy
    from ecgbench.bench.results.score_origin import MARK, other_cpu_note

    docs = fleet_docs()[:1]
    for r in docs[0].rows:
        r.accuracy = Accuracy(
            challenge_score=0.42, challenge_score_ci95=[0.35, 0.48], note=other_cpu_note("Xeon X")
        )
    r = render_report(build_frames(docs), tmp_path / "rep")
    page = r.index.read_text()
    assert f"{MARK} score measured on another CPU: Xeon X" in page
    (acc,) = [t for t in read_tables(r.index) if "paired drop [95% CI]" in t.columns]
    assert set(acc["score [95% CI]"]) == {f"0.42 [0.35, 0.48]{MARK}"}  # rounded to its interval
