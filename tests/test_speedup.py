"""Within-run speed-ups: rounds paired, an interval from resampling rounds, ties called ties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.pairing import paired_round_ratios
from ecgbench.bench.results.schema import Footprint, Latency, ResultRow, Throughput
from ecgbench.cli import app
from ecgbench.errors import BadInputError
from ecgbench.report.speedup import FASTER, SLOWER, TIE, speedups


def _row(
    precision: str, level_ms: list[float], seed: int, executed: str | None = None
) -> ResultRow:
    """Rounds of 20 calls each around the given per-round level (drift moves every variant)."""
    rng = np.random.default_rng(seed)
    samples, slices = [], []
    for rnd, lvl in enumerate(level_ms):
        slices.append([rnd, len(samples)])
        samples += [int(v) for v in rng.normal(lvl * 1e6, lvl * 0.02e6, 20)]
    return ResultRow(
        model="m",
        backend="openvino",
        device="CPU",
        precision=precision,
        scenario="latency",
        batch=1,
        input_shape=[1, 12, 5000],
        artifact="x",
        latency=Latency.from_samples(samples, slices),
        throughput=Throughput(fps=0),
        footprint=Footprint(compile_ms=1.0, first_infer_ms=1.0),
        executed=executed or {"fp32": "f32", "bf16": "bf16", "int8": "int8+f32"}[precision],
    )


def _doc() -> RunDocument:
    drift = 1 + 0.5 * np.sin(np.arange(24))  # the machine's speed swings ±50 % round to round
    return RunDocument(
        fingerprint={},
        rows=[
            _row("fp32", list(2.0 * drift), 1),
            _row("bf16", list(1.2 * drift), 2),  # 0.6 of fp32 in every round
            _row("int8", list(2.0 * drift), 3),  # the same as fp32
        ],
        complete=True,
    )


def test_paired_rounds_cancel_drift_and_ties_are_ties() -> None:
    doc = _doc()
    ratios = paired_round_ratios(doc.rows[0], doc.rows[1])
    assert len(ratios) == 24 and np.allclose(ratios, 0.6, atol=0.03)  # drift gone round by round
    by = {s.precision: s for s in speedups(doc)}
    assert set(by) == {"bf16", "int8"}
    bf16 = by["bf16"]
    assert bf16.verdict == FASTER and bf16.ci_low <= bf16.time_ratio <= bf16.ci_high
    assert bf16.time_ratio == pytest.approx(0.6, abs=0.01) and bf16.ci_high < 0.62
    assert bf16.speedup == pytest.approx(1 / bf16.time_ratio)
    assert by["int8"].verdict == TIE and by["int8"].ci_low < 1 < by["int8"].ci_high
    slow = speedups(doc, base_precision="bf16")
    assert {s.precision: s.verdict for s in slow} == {"fp32": SLOWER, "int8": SLOWER}


def test_no_base_row_is_one_clear_error() -> None:
    with pytest.raises(BadInputError, match="no fp16 latency row"):
        speedups(_doc(), base_precision="fp16")


def test_cli_speedup_prints_intervals_and_verdicts(tmp_path: Path) -> None:
    p = tmp_path / "run.json"
    _doc().write(p)
    res = CliRunner().invoke(app, ["speedup", str(p)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "faster" in res.output and "tie" in res.output and "95% CI" in res.output
    bad = CliRunner().invoke(app, ["speedup", str(p), "--base", "fp16"])
    assert bad.exit_code == 2 and "no fp16 latency row" in bad.output
