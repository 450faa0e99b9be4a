"""``ecgbench report`` from a small real run: page, figures, tables; bad input is one line."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from helpers_export import TinySession
from typer.testing import CliRunner

from ecgbench.bench.results.document import read_run
from ecgbench.bench.runner import RunOptions, run_plan
from ecgbench.bench.suite import Suite
from ecgbench.cli import app
from ecgbench.report.html import build_report

PNG = b"\x89PNG\r\n\x1a\n"
TIED = "tied with (best − it, 95% CI)"


class _Tables(HTMLParser):
    """The page's <table>s as DataFrames (stdlib only: pandas.read_html would need lxml)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def read_tables(path: Path) -> list[pd.DataFrame]:
    p = _Tables()
    p.feed(path.read_text())
    return [pd.DataFrame(t[1:], columns=t[0]) for t in p.tables if t]


@pytest.fixture(scope="module")
def real_run(tiny: TinySession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    s = tiny
    out = tmp_path_factory.mktemp("report_run") / "run.json"
    plan = Suite(
        models=(str(s.ckpt),),
        backends=("openvino", "onnxruntime", "torch"),
        precisions=("fp32", "int8"),
        threads=1,
        duration=0.2,
        min_iters=5,
        warmup=0.05,
        round_s=0.05,
        settle_s=0.0,
    )
    run_plan(
        plan,
        RunOptions(export=s.opts(), output=out, use_store=False, show_progress=False),
        log=lambda m: None,
    )
    return out


def test_report_from_a_real_run(real_run: Path, tmp_path: Path):
    doc = read_run(real_run)
    r = build_report([real_run], tmp_path / "rep")
    html = r.index.read_text()
    # Every figure is embedded in the page and written as a valid PNG and SVG file.
    pngs = sorted(p for p in r.figures if p.suffix == ".png")
    assert {p.stem for p in pngs} >= {"runtime_boxplot", "runtime_vs_flops"}
    for p in pngs:
        data = p.read_bytes()
        assert data.startswith(PNG) and len(data) > 2000, p
        assert p.with_suffix(".svg").read_text().lstrip().startswith(("<?xml", "<svg"))
        assert f'href="{p.name}"' in html
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(embedded) == len(pngs)
    assert all(base64.b64decode(e).startswith(PNG) for e in embedded)
    # The rows table holds every row of the input; the run had no zoo model, so no accuracy.
    tables = read_tables(r.index)
    rows = next(t for t in tables if "median ms" in t.columns)
    assert len(rows) == len(doc.rows)
    assert set(zip(rows["backend"], rows["precision"], strict=True)) == {
        (x.backend, x.precision) for x in doc.rows
    }
    assert "Accuracy missing for" in html
    machines = next(t for t in tables if "CPU" in t.columns)
    assert machines["CPU"].iloc[0] == doc.fingerprint["cpu_model"]


def test_report_merges_runs_by_machine(real_run: Path, tmp_path: Path):
    import json

    other = json.loads(real_run.read_text())
    other["fingerprint"]["cpu_model"] = "Another CPU"
    other["fingerprint"]["machine_id"] = "other0000000"
    other["run_id"] = "other"
    second = tmp_path / "other.json"
    second.write_text(json.dumps(other))
    r = build_report([real_run, second], tmp_path / "rep")
    machines = next(t for t in read_tables(r.index) if "CPU" in t.columns)
    assert sorted(machines["CPU"]) == sorted(
        ["Another CPU", read_run(real_run).fingerprint["cpu_model"]]
    )
    assert r.rows == 2 * len(read_run(real_run).rows)


@pytest.mark.parametrize("content", ["", "{", '{"schema": 1, "rows": []}', '{"schema": 2}'])
def test_empty_or_malformed_results_end_with_one_line(tmp_path: Path, content: str):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    r = CliRunner().invoke(app, ["report", str(bad), "-o", str(tmp_path / "rep")])
    assert r.exit_code != 0 and "Traceback" not in r.output
    assert len([ln for ln in r.output.splitlines() if ln.strip()]) == 1
    assert not (tmp_path / "rep" / "index.html").exists()


def test_report_of_an_empty_store_is_one_line(tmp_path: Path):
    r = CliRunner().invoke(app, ["report", str(tmp_path), "-o", str(tmp_path / "rep")])
    assert r.exit_code != 0 and "no results" in r.output and "Traceback" not in r.output


def test_report_answers_the_latency_budget_question(real_run: Path, tmp_path: Path):
    import json

    doc = json.loads(real_run.read_text())
    scores = {("openvino", "int8"): 0.48, ("onnxruntime", "int8"): 0.47}
    for r in doc["rows"]:
        r["accuracy"]["challenge_score"] = scores.get((r["backend"], r["precision"]), 0.5)
    scored = tmp_path / "scored.json"
    scored.write_text(json.dumps(doc))
    html = build_report([scored], tmp_path / "rep").index.read_text()
    assert "Best model under a latency budget" in html
    t = next(t for t in read_tables(tmp_path / "rep" / "index.html") if "budget ms" in t.columns)
    assert set(t["precision"]) == {"fp32", "int8"}
    int8 = [r for r in doc["rows"] if r["precision"] == "int8"]
    slowest = max(r["latency"]["median_ms"] for r in int8)
    roomy = t[(t["precision"] == "int8") & (t["budget ms"].astype(float) >= slowest)]
    assert len(roomy) and (roomy["backend"] == "openvino").all()  # the better int8 variant fits
    assert [float(x) for x in roomy["FP32 − it"]] == pytest.approx([0.02] * len(roomy))
    tight = t[t["budget ms"].astype(float) < min(r["latency"]["median_ms"] for r in doc["rows"])]
    assert (tight["model"] == "nothing fits").all()
    # scores set by hand: no stored replicates are theirs, so the ties are unknown, and said
    assert (roomy[TIED] == "ties unknown (no paired replicates)").all()
    assert (roomy["score [95% CI]"] == "0.480").all()


def test_report_budget_answer_is_the_faster_of_tied_variants(
    real_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """OpenVINO and ONNX Runtime INT8 tied on paired replicates: the faster one is the answer."""
    import json

    import numpy as np
    from test_metrics_ties import reps, zoo_with

    from ecgbench.accuracy.replicates import put_replicates

    doc = json.loads(real_run.read_text())
    scores = {"openvino": 0.48, "onnxruntime": 0.47}
    int8 = {}
    for r in doc["rows"]:
        r["accuracy"]["challenge_score"] = scores.get(r["backend"], 0.5)
        if r["precision"] == "int8" and r["backend"] in scores:
            int8[r["backend"]] = r
    scored = tmp_path / "scored.json"
    scored.write_text(json.dumps(doc))
    model = int8["openvino"]["model"]
    z = zoo_with(tmp_path / "zoo", model)
    shared, rng = np.random.default_rng(0).normal(0, 0.02, 1000), np.random.default_rng(1)
    for b, r in int8.items():
        own = scores[b] + shared + rng.normal(0, 0.05, 1000)  # 0.01 apart in ±0.05: a tie
        put_replicates(z, model, f"{b}-int8@{r['executed']}", reps(own, scores[b]))
    monkeypatch.setenv("ECGBENCH_ZOO", str(tmp_path / "zoo"))
    build_report([scored], tmp_path / "rep")
    t = next(t for t in read_tables(tmp_path / "rep" / "index.html") if "budget ms" in t.columns)
    slowest = max(r["latency"]["median_ms"] for r in int8.values())
    roomy = t[(t["precision"] == "int8") & (t["budget ms"].astype(float) >= slowest)]
    faster = min(int8.values(), key=lambda r: r["latency"]["median_ms"])["backend"]
    assert len(roomy) and (roomy["backend"] == faster).all()
    if faster == "onnxruntime":
        assert roomy[TIED].str.startswith(f"{model} openvino").all()  # the best, named
    else:
        assert roomy[TIED].str.startswith(f"{model} onnxruntime").all()  # tied, with its interval
    assert roomy["score [95% CI]"].str.match(r"0\.4[78]0 \[0\.\d+, 0\.\d+\]").all()


def test_report_marks_a_percentile_from_too_few_samples(real_run: Path, tmp_path: Path):
    """One row of the real run cut to its first 100 calls: its p90 stands, its p99 is marked."""
    from ecgbench.bench.results.schema import Latency

    doc = read_run(real_run)
    cut = doc.rows[0]
    cut.latency = Latency.from_samples(cut.latency.samples_ns[:100])
    doc.write(tmp_path / "cut.json")
    r = build_report([tmp_path / "cut.json"], tmp_path / "rep")
    rows = next(t for t in read_tables(r.index) if "median ms" in t.columns)
    for row in doc.rows:
        got = rows[(rows["backend"] == row.backend) & (rows["precision"] == row.precision)]
        assert len(got) == 1
        for name in ("p90", "p99"):
            assert got[f"{name} ms"].iloc[0].endswith("*") is (not row.latency.valid(name))
    assert cut.latency.valid("p99") is False and cut.latency.valid("p90") is True
    assert "p99 from n &lt; 662 samples: not a valid estimate" in r.index.read_text()
    csv = pd.read_csv(r.index.parent / "rows.csv")
    assert set(csv["p99_valid"]) == {row.latency.valid("p99") for row in doc.rows}


def test_report_shows_the_footprint_beside_the_runtime_when_measured(real_run: Path, tmp_path):
    """Rows with ``run --footprint`` fields get the footprint figure and table; others none."""
    r = build_report([real_run], tmp_path / "plain")
    assert "Deployment footprint" not in r.index.read_text()
    doc = read_run(real_run)
    for i, row in enumerate(doc.rows):
        fp = row.footprint
        fp.model_bytes, fp.rss_baseline_mb = 1_000_000 * (i + 1), 60.0
        fp.peak_rss_compile_mb, fp.peak_rss_infer_mb = 50.0 + i, 55.0 + i
        fp.compile_cold_ms, fp.compile_warm_ms, fp.first_result_ms = 100.0, 40.0, 400.0 + i
    doc.write(tmp_path / "fp.json")
    r = build_report([tmp_path / "fp.json"], tmp_path / "rep")
    page = r.index.read_text()
    assert "Deployment footprint" in page and (r.index.parent / "footprint.png").is_file()
    t = next(t for t in read_tables(r.index) if "peak RSS infer MB" in t.columns)
    assert len(t) == len(doc.rows)
    assert sorted(t["model MB"].astype(float)) == [float(i + 1) for i in range(len(doc.rows))]
    # after the runtime box plots, among the figures
    at = page.index("Deployment footprint")
    assert page.index("Runtime per variant") < at < page.index("<h2>Machines")
