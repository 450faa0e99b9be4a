"""``run --footprint``: memory and cold/warm start-up of the tiny variants, each in fresh processes
(real OpenVINO, ONNX Runtime and torch), the rows and documents that keep them, the store that
gains their columns, and the CLI. Sanity bounds only: nothing here is a timing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from helpers_export import TINY_NAME, TINY_SAMPLES, TinySession, one_line, tiny_input
from helpers_gate import result_row, run_doc
from typer.testing import CliRunner

from ecgbench.backends import LoadSpec, get_backend
from ecgbench.bench.probes.footprint import FootprintResult, measure_footprint, model_bytes
from ecgbench.bench.probes.footprint_process import HWM, SAMPLED
from ecgbench.bench.results.document import read_run, read_run_dict
from ecgbench.bench.results.schema import MEASURED_FOOTPRINT
from ecgbench.bench.store.database import append_to_store, load_store
from ecgbench.cli import app
from ecgbench.errors import BadInputError, EcgbenchError


def _spec(artifact: Path) -> LoadSpec:
    return LoadSpec(artifact=artifact, samples=TINY_SAMPLES, threads=1)


def _sane(r: FootprintResult) -> None:
    assert 0 < r.rss_baseline_mb < 100_000
    assert r.peak_rss_compile_mb >= 0 and r.peak_rss_infer_mb >= 0
    assert r.compile_cold_ms > 0 and r.compile_warm_ms > 0
    # the first result comes after the interpreter started, imported and compiled
    assert r.first_result_ms > r.compile_cold_ms
    assert r.memory_method in (HWM, SAMPLED)


def test_model_bytes_are_the_sizes_of_the_model_files(tiny: TinySession, tmp_path: Path) -> None:
    xml = tiny.artifact("openvino", "fp32")
    assert model_bytes(xml) == xml.stat().st_size + xml.with_suffix(".bin").stat().st_size
    assert model_bytes(tiny.ckpt) == tiny.ckpt.stat().st_size
    onnx = tiny.artifact("onnx", "fp32")
    assert model_bytes(onnx) >= onnx.stat().st_size
    with pytest.raises(BadInputError) as e:
        model_bytes(tmp_path / "absent.xml")
    assert "model file not found" in one_line(e)


def test_openvino_cold_start_fills_the_cache_the_warm_one_reuses(
    tiny: TinySession, tmp_path: Path
) -> None:
    xml = tiny.artifact("openvino", "fp32")
    cache = tmp_path / "ov-cache"
    r = measure_footprint("openvino", _spec(xml), infer_calls=3, cache_dir=cache)
    _sane(r)
    assert r.model_bytes == model_bytes(xml) and r.infer_calls == 3
    assert any(cache.iterdir()), "the cold start left no compiled blob in CACHE_DIR"
    with pytest.raises(BadInputError) as e:  # a filled cache would make the "cold" start warm
        measure_footprint("openvino", _spec(xml), cache_dir=cache)
    assert "must start empty" in one_line(e)
    assert set(r.row_fields()) == set(MEASURED_FOOTPRINT)


def test_onnxruntime_warm_start_opens_the_saved_optimized_graph(
    tiny: TinySession, tmp_path: Path
) -> None:
    onnx = tiny.artifact("onnx", "fp32")
    cache = tmp_path / "ort-cache"
    x = tiny_input()
    outputs = []
    for _ in range(2):  # cold: optimize and save; warm: the saved graph, not optimized again
        b = get_backend("onnxruntime")
        b.load(LoadSpec(artifact=onnx, samples=TINY_SAMPLES, threads=1, compile_cache=cache))
        outputs.append(b.infer(x))
        b.close()
        assert len(list(cache.glob("*.optimized.onnx"))) == 1
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-5, atol=1e-5)
    r = measure_footprint("onnxruntime", _spec(onnx), infer_calls=2, cache_dir=tmp_path / "c2")
    _sane(r)
    assert any((tmp_path / "c2").glob("*.optimized.onnx"))


def test_torch_has_no_compile_cache_and_still_reports_both_starts(
    tiny: TinySession, tmp_path: Path
) -> None:
    cache = tmp_path / "torch-cache"
    r = measure_footprint("torch", _spec(tiny.ckpt), infer_calls=2, cache_dir=cache)
    _sane(r)
    assert r.model_bytes == tiny.ckpt.stat().st_size
    assert not any(cache.iterdir())  # eager PyTorch caches nothing


def test_a_probe_failure_is_one_line(tiny: TinySession, tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<not an IR>")
    with pytest.raises(EcgbenchError) as e:
        measure_footprint("openvino", _spec(bad), infer_calls=1)
    assert "bad.xml" in one_line(e) and "not a readable IR" in str(e.value)
    with pytest.raises(BadInputError):
        measure_footprint("openvino", _spec(tiny.artifact("openvino", "fp32")), infer_calls=0)


def test_rows_keep_the_footprint_and_runs_without_it_write_the_same_document(
    tmp_path: Path,
) -> None:
    plain, measured = result_row("a", 1.0, 0), result_row("b", 2.0, 1)
    for k, v in zip(MEASURED_FOOTPRINT, (1234, 50.0, 7.5, 3.25, 40.0, 4.0, 900.0), strict=True):
        setattr(measured.footprint, k, v)
    d = run_doc([plain, measured]).to_dict()
    assert set(d["rows"][0]["footprint"]) == {"compile_ms", "first_infer_ms", "flops", "params"}
    assert d["rows"][1]["footprint"]["peak_rss_infer_mb"] == 3.25
    again = read_run_dict(json.loads(json.dumps(d)), "again")
    assert again.rows[0].footprint.peak_rss_infer_mb is None
    assert again.rows[1].footprint.model_bytes == 1234 and again.to_dict() == d


def test_a_store_from_before_the_footprint_gains_its_columns(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    append_to_store(run_doc([result_row("a", 1.0, 0)]), db)
    with sqlite3.connect(db) as c:  # as an older ecgbench left it
        for k in MEASURED_FOOTPRINT:
            c.execute(f"ALTER TABLE rows DROP COLUMN {k}")
    measured = result_row("b", 2.0, 1)
    measured.footprint.peak_rss_infer_mb = 3.25
    append_to_store(run_doc([measured], seed=1), db)
    df = load_store(db).set_index("model")
    assert df.loc["b", "peak_rss_infer_mb"] == 3.25 and np.isnan(df.loc["a", "peak_rss_infer_mb"])


def test_cli_run_footprint_prints_and_keeps_it(tiny: TinySession, tmp_path: Path) -> None:
    out = tmp_path / "o.json"
    args = ["run", "--model", tiny.ckpt, "--backend", "openvino", "--duration", "0.05"]
    args += ["--min-iters", "3", "--warmup", "0.01", "--threads", "1", "--no-store"]
    args += ["--cache-dir", tiny.cache, "--calibration", tiny.records, "--output", out]
    env = {"ECGBENCH_ZOO": str(tiny.empty), "COLUMNS": "250"}
    res = CliRunner().invoke(app, [str(a) for a in [*args, "--footprint"]], env=env)
    assert res.exit_code == 0, res.output
    assert "footprint" in res.output and "infer MB" in res.output
    (row,) = read_run(out).rows
    f = row.footprint
    assert row.model == TINY_NAME and f.model_bytes == model_bytes(Path(row.artifact))
    assert f.peak_rss_infer_mb is not None and f.peak_rss_infer_mb >= 0
    assert f.compile_warm_ms is not None and f.compile_warm_ms > 0
    res = CliRunner().invoke(app, [str(a) for a in args], env=env)  # off by default
    assert res.exit_code == 0 and "infer MB" not in res.output
    assert "peak_rss_infer_mb" not in json.loads(out.read_text())["rows"][0]["footprint"]


def test_a_suite_footprint_key_must_be_a_bool(tmp_path: Path) -> None:
    p = tmp_path / "s.toml"
    p.write_text('models = ["x"]\nfootprint = "yes"\n')
    res = CliRunner().invoke(app, ["run", "--suite", str(p), "--no-store"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "footprint must be true or false" in errors[0], res.stderr
