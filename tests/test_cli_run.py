"""``ecgbench run`` on the command line: one-line suite errors, the table, the document and the
cross-check's rounds."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_bench import BAD_SUITES
from helpers_export import TINY_NAME, TinySession
from typer.testing import CliRunner

from ecgbench.bench.results.document import read_run
from ecgbench.bench.store.database import load_store
from ecgbench.cli import app


def _cli(*args: object, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def test_cli_run_with_a_bad_suite_fails_in_one_line(tmp_path: Path) -> None:
    for text, says in (BAD_SUITES["syntax"], BAD_SUITES["batch_zero"], BAD_SUITES["unknown_key"]):
        p = tmp_path / "bad.toml"
        p.write_text(text)
        res = _cli("run", "--suite", p, "--no-store")
        assert res.exit_code == 2, res.output
        assert "Traceback" not in res.output
        assert res.exception is None or isinstance(res.exception, SystemExit)
        errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and says in " ".join(res.stderr.split()), res.stderr
    res = _cli("run", "--suite", tmp_path / "missing.toml")
    assert res.exit_code == 2 and "file not found" in res.stderr


def test_cli_run_prints_the_table_and_writes_the_document(
    tiny: TinySession, tmp_path: Path
) -> None:
    out = tmp_path / "o.json"
    res = _cli(
        "run",
        "--model",
        tiny.ckpt,
        "--backend",
        "openvino,torch",
        "--duration",
        "0.1",
        "--min-iters",
        "3",
        "--warmup",
        "0.02",
        "--threads",
        "1",
        "--output",
        out,
        "--store",
        tmp_path / "store",
        "--cache-dir",
        tiny.cache,
        "--calibration",
        tiny.records,
        env={"ECGBENCH_ZOO": str(tiny.empty)},
    )
    assert res.exit_code == 0, res.output
    assert res.output.count(TINY_NAME) == 2 and "median ms" in res.output
    doc = read_run(out)
    assert doc.complete and {r.backend for r in doc.rows} == {"openvino", "torch"}
    assert len(load_store(tmp_path / "store")) == 2


def test_cli_run_crosscheck_takes_its_rounds_from_the_command_line(
    tiny: TinySession, tmp_path: Path
) -> None:
    from ecgbench.bench.probes.crosscheck import benchmark_app_path

    if benchmark_app_path() is None:
        pytest.skip("benchmark_app is not installed beside this Python (it ships with openvino)")
    out = tmp_path / "o.json"
    res = _cli(
        "run",
        "--model",
        tiny.ckpt,
        "--backend",
        "openvino",
        "--precision",
        "fp32",
        "--duration",
        "0.1",
        "--min-iters",
        "3",
        "--warmup",
        "0.02",
        "--threads",
        "1",
        "--crosscheck",
        "--crosscheck-rounds",
        "3",
        "--output",
        out,
        "--no-store",
        "--cache-dir",
        tiny.cache,
        env={"ECGBENCH_ZOO": str(tiny.empty)},
    )
    assert res.exit_code == 0, res.output
    said = " ".join(res.stderr.split())
    assert "crosscheck fp32: ecgbench / benchmark_app" in said and "median of 3 rounds" in said
    (row,) = read_run(out).rows
    assert len(row.extra["crosscheck_bursts"]["benchmark_app"]) == 3
    lat = row.latency
    assert lat.runtime_median_ms is not None and 0 < lat.runtime_median_ms <= lat.median_ms


def test_cli_run_marks_a_percentile_from_too_few_samples(tiny: TinySession, tmp_path: Path) -> None:
    """Short slices keep the run to a few dozen calls: its p99 is flagged in the table and the
    document; --min-samples-for p90 times the 64 calls a p90 needs."""
    if str(tiny.ckpt) != str(tiny.ckpt).lower():
        pytest.skip("suites lower-case model names, and this checkpoint path has capitals")
    suite = tmp_path / "short.toml"
    suite.write_text(
        f'models = ["{tiny.ckpt}"]\nbackends = ["openvino"]\nthreads = 1\nduration = 0.001\n'
        "min_iters = 3\nwarmup = 0.02\nround_s = 0.002\nsettle_s = 0.0\n"
    )
    env = {"ECGBENCH_ZOO": str(tiny.empty)}
    common = ("--no-store", "--cache-dir", tiny.cache, "--calibration", tiny.records)
    for extra in ((), ("--min-samples-for", "p90")):
        out = tmp_path / f"o{len(extra)}.json"
        res = _cli("run", "--suite", suite, "--output", out, *common, *extra, env=env)
        assert res.exit_code == 0, res.output
        lat = read_run(out).rows[0].latency
        text = " ".join(res.output.split())
        assert lat.valid("p99") is False and "p99 from n < 662 samples" in text
        assert f"{lat.p99_ms:.3f}*" in text
        assert ("p90 from n < 64 samples" in text) is (lat.n < 64)
        assert (f"{lat.p90_ms:.3f}*" in text) is (lat.n < 64)
    assert lat.n >= 64 and lat.percentiles_valid == {"p90": True, "p99": False}
    res = _cli("run", "--suite", suite, "--min-samples-for", "p1000", *common, env=env)
    assert res.exit_code == 2 and "min_samples_for: 'p1000' is not a percentile" in res.stderr
