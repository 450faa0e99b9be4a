"""``ecgbench run --samples a,b``: the length list on the command line and in a suite, its bad
input in one line, and a real run of the tiny checkpoint at two lengths (OpenVINO FP32 and INT8,
ONNX Runtime FP32): one row per length, each with its own input shape."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from helpers_export import TINY_NAME, TINY_SAMPLES, TinySession
from rich.console import Console
from typer.testing import CliRunner

from ecgbench.bench.lengths import parse_lengths, split_lengths
from ecgbench.bench.results.document import read_run
from ecgbench.bench.suite import load_suite
from ecgbench.bench.tables.latency import results_table
from ecgbench.cli import app
from ecgbench.errors import BadInputError


def _cli(*args: object, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def _one_error_line(res, says: str) -> None:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and says in " ".join(res.stderr.split()), res.stderr


def test_a_length_list_parses_from_text_a_list_or_one_number() -> None:
    assert parse_lengths("1250, 2500,5000") == (1250, 2500, 5000)
    assert parse_lengths([1250, 30000]) == (1250, 30000)
    assert parse_lengths(5000) == (5000,) and parse_lengths(2500.0) == (2500,)
    assert split_lengths((5000,)) == (5000, ()) and split_lengths((1, 2)) == (None, (1, 2))
    for bad, says in (
        ("0", ">= 1"),
        ("-5", ">= 1"),
        ("1250,abc", "bad value"),
        ("2500.5", "bad value"),
        ([2500.5], "not a whole number"),
        ([True], "bad value"),
        ("1250,1250", "given twice"),
        (",", "no input length"),
    ):
        with pytest.raises(BadInputError, match=says) as e:
            parse_lengths(bad)
        assert "\n" not in str(e.value)


def test_a_suite_takes_input_samples_as_a_list_or_one_length(tmp_path: Path) -> None:
    p = tmp_path / "s.toml"
    p.write_text("input_samples = [1250, 2500, 5000]\n")
    s = load_suite(p)
    assert s.lengths == (1250, 2500, 5000) and s.input_samples is None
    p.write_text("input_samples = 2500\n")
    s = load_suite(p)
    assert s.input_samples == 2500 and s.lengths == ()
    p.write_text('models = ["atto"]\n[input_samples_by_variant]\n"atto/openvino/fp32" = 2500\n')
    assert load_suite(p).input_samples_by_variant == {"atto/openvino/fp32": 2500}


def test_a_suite_still_reads_the_older_samples_keys(tmp_path: Path) -> None:
    p = tmp_path / "s.toml"
    p.write_text("samples = [1250, 2500]\n")
    assert load_suite(p).lengths == (1250, 2500)
    p.write_text("samples = 2500\n")
    assert load_suite(p).input_samples == 2500
    p.write_text('models = ["atto"]\n[samples_by_variant]\n"atto/openvino/fp32" = 2500\n')
    assert load_suite(p).input_samples_by_variant == {"atto/openvino/fp32": 2500}
    p.write_text("samples = 2500\ninput_samples = 1250\n")
    with pytest.raises(BadInputError, match="older name of input_samples; give one"):
        load_suite(p)


def test_cli_bad_lengths_are_one_line(tmp_path: Path) -> None:
    _one_error_line(_cli("run", "--input-samples", "0", "--no-store"), ">= 1")
    _one_error_line(_cli("run", "--samples", "0", "--no-store"), ">= 1")  # the older name
    _one_error_line(_cli("run", "--samples", "1250,abc", "--no-store"), "bad value 'abc'")
    p = tmp_path / "bad.toml"
    p.write_text('models = ["atto"]\n[samples_by_variant]\n"atto/torch/int8" = 2500\n')
    _one_error_line(_cli("run", "--suite", p, "--no-store"), "names no variant of this suite")


def test_a_real_run_at_two_lengths_has_a_row_per_length(tiny: TinySession, tmp_path: Path) -> None:
    out = tmp_path / "o.json"
    res = _cli(
        "run",
        "--model",
        tiny.ckpt,
        "--backend",
        "openvino,onnxruntime",
        "--precision",
        "fp32,int8",
        "--samples",
        "600,1200",
        "--duration",
        "0.05",
        "--min-iters",
        "3",
        "--warmup",
        "0.02",
        "--threads",
        "1",
        "--output",
        out,
        "--no-store",
        "--cache-dir",
        tiny.cache,
        "--calibration",
        tiny.records,
        env={"ECGBENCH_ZOO": str(tiny.empty)},
    )
    assert res.exit_code == 0, res.output
    assert "skipped" not in res.stderr, res.stderr
    rows = read_run(out).rows
    shapes: dict[tuple[str, str], set[tuple[int, ...]]] = {}
    for r in rows:
        assert r.model == TINY_NAME and r.latency.n >= 3
        shapes.setdefault((r.backend, r.precision), set()).add(tuple(r.input_shape))
    want = {(1, 12, 600), (1, 12, 1200)}
    assert shapes == {(b, p): want for b in ("openvino", "onnxruntime") for p in ("fp32", "int8")}
    assert len(rows) == 8
    wide = Console(width=400, record=True, file=io.StringIO())  # no cell wraps
    wide.print(results_table(read_run(out)))
    text = wide.export_text()
    assert f"{TINY_NAME} · 600 samples" in text and f"{TINY_NAME} · 1200 samples" in text


def test_a_length_a_variant_cannot_take_is_one_skipped_line(
    tiny: TinySession, tmp_path: Path
) -> None:
    """4 samples are too short for the synthetic input's band-pass filter and for the tiny net's
    stride-8 front: each such row is one skipped line, and the run keeps every row of the length
    that works."""
    from ecgbench.bench.runner import RunOptions, run_plan
    from ecgbench.bench.suite import Suite
    from ecgbench.zoo import Zoo

    plan = Suite(
        models=(str(tiny.ckpt),),
        backends=("openvino", "torch"),
        threads=1,
        duration=0.1,
        min_iters=3,
        warmup=0.02,
        round_s=0.05,
        lengths=(4, TINY_SAMPLES),
    )
    opts = RunOptions(export=tiny.opts(), use_store=False, show_progress=False, verify=False)
    logs: list[str] = []
    doc = run_plan(plan, opts, zoo=Zoo(tmp_path / "no_zoo"), log=logs.append)
    skipped = [m for m in logs if m.startswith("[yellow]skipped[/]")]
    assert all("\n" not in m and " 4 samples: " in m for m in skipped), skipped
    assert any(" torch " in m for m in skipped), logs
    rows = {(r.backend, r.input_shape[-1]) for r in doc.rows}
    assert {("openvino", TINY_SAMPLES), ("torch", TINY_SAMPLES)} <= rows
    assert ("torch", 4) not in rows
    # every length either ran or was said to be skipped, never both
    for backend in ("openvino", "torch"):
        said = any(f" {backend} " in m for m in skipped)
        assert said != ((backend, 4) in rows), (backend, skipped, rows)
