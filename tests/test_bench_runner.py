"""``run_plan`` end to end: the run document's schema, the store, the results table and the
benchmark_app cross-check of one real tiny run, other scenarios, devices and input lengths."""

from __future__ import annotations

import copy
import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from helpers_export import TINY_NAME, TINY_SAMPLES, TinySession

from ecgbench.bench.results.document import RunDocument, read_run
from ecgbench.bench.results.schema import GROUPS, MEASURED_FOOTPRINT, ResultRow
from ecgbench.bench.runner import RunOptions, run_plan
from ecgbench.bench.store.database import append_to_store, load_store
from ecgbench.bench.suite import Suite
from ecgbench.bench.tables.latency import results_table
from ecgbench.errors import BadInputError
from ecgbench.host import device_arithmetic
from ecgbench.zoo import Zoo


def tiny_plan(tiny: TinySession, **kw: object) -> Suite:
    base: dict[str, object] = {
        "models": (str(tiny.ckpt),),
        "backends": ("openvino", "onnxruntime", "torch"),
        "precisions": ("fp32", "int8"),
        "threads": 1,
        "duration": 0.2,
        "min_iters": 5,
        "warmup": 0.05,
        "round_s": 0.05,
    }
    base.update(kw)
    return Suite(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def latency_run(tiny: TinySession, tmp_path_factory: pytest.TempPathFactory):
    d = tmp_path_factory.mktemp("run")
    logs: list[str] = []
    opts = RunOptions(
        export=tiny.opts(),
        output=d / "run.json",
        store=d / "store",
        show_progress=False,
        command="pytest latency run",
    )
    doc = run_plan(tiny_plan(tiny), opts, zoo=Zoo(d / "no_zoo"), log=logs.append)
    return d, doc, logs


def test_run_plan_writes_a_document_that_follows_the_schema(tiny: TinySession, latency_run) -> None:
    d, doc, logs = latency_run
    assert not [m for m in logs if "FAILED" in m], logs
    raw = json.loads((d / "run.json").read_text())
    assert set(raw) == {
        "schema",
        "run_id",
        "created",
        "complete",
        "command",
        "suite",
        "fingerprint",
        "reference",
        "rows",
    }
    assert raw["suite"] == "adhoc"
    assert raw["schema"] == 2 and raw["complete"] is True and raw["run_id"] == doc.run_id
    assert raw["command"] == "pytest latency run"
    fp = raw["fingerprint"]
    for k in ("cpu_model", "isa", "int8_isa", "threads", "versions", "machine_id", "gemm_gflops"):
        assert k in fp, k
    assert isinstance(fp["isa"], list) and fp["threads"] == 1
    assert len(fp["machine_id"]) == 12 and int(fp["machine_id"], 16) >= 0
    assert {"openvino", "onnxruntime", "torch"} <= set(fp["versions"])
    assert "CPU" in fp["openvino_devices"]
    ref = raw["reference"]
    assert set(ref) == {"gemm", "ceilings", "model"}
    gemm = ref["gemm"]
    assert gemm["label"] == "reference:gemm-f32-openvino" and len(gemm["samples_ns"]) >= 5
    assert ref["model"]["label"] == "reference:convnext-f32"
    assert gemm["median_ms"] == pytest.approx(np.median(gemm["samples_ns"]) / 1e6)
    assert fp["gemm_gflops"] == pytest.approx(2 * gemm["n"] ** 3 / (gemm["median_ms"] * 1e6))
    # a ceiling per arithmetic the CPU executes, each a GEMM that ran in that arithmetic
    cpu = device_arithmetic("CPU")
    ceilings = ref["ceilings"]
    assert set(ceilings) == set(cpu.float_types()) | ({"int8"} if cpu.executes("int8") else set())
    assert fp["ceilings_gflops"] == {a: c["gflops"] for a, c in ceilings.items()}
    for a, c in ceilings.items():
        assert c["as_asked"], (a, c["executed"])
        assert c["gflops"] == pytest.approx(2 * c["n"] ** 3 / (c["median_ms"] * 1e6))
    assert fp["native_precisions"]["CPU"] == cpu.native()
    assert gemm["slices"] and ref["model"]["slices"] and len(ref["model"]["samples_ns"]) >= 5

    rows = raw["rows"]
    assert {(r["backend"], r["precision"]) for r in rows} == {
        ("openvino", "fp32"),
        ("openvino", "int8"),
        ("onnxruntime", "fp32"),
        ("onnxruntime", "int8"),
        ("torch", "fp32"),
    }
    assert len(rows) == 5
    for r in rows:
        assert set(r) == {f.name for f in fields(ResultRow)}
        for g, cls in GROUPS.items():
            # a run without --footprint leaves the fields only it measures out of the document
            skip = set(MEASURED_FOOTPRINT) if g == "footprint" else set()
            assert set(r[g]) == {f.name for f in fields(cls)} - skip, g
        lat, tp, acc, ex, fo = (r[g] for g in GROUPS)
        s = np.asarray(lat["samples_ns"], dtype=np.float64)
        label = (r["backend"], r["precision"])
        assert len(s) == lat["n"] >= 5 and s.sum() >= 0.2e9, label
        assert lat["median_ms"] == pytest.approx(np.median(s) / 1e6), label
        assert lat["p90_ms"] == pytest.approx(np.percentile(s, 90) / 1e6)
        assert lat["mean_ms"] == pytest.approx(s.mean() / 1e6)
        assert lat["min_ms"] == pytest.approx(s.min() / 1e6)
        assert lat["max_ms"] == pytest.approx(s.max() / 1e6)
        assert lat["std_ms"] == pytest.approx(s.std() / 1e6)
        assert tp["fps"] == pytest.approx(1e3 / lat["mean_ms"])
        assert r["model"] == TINY_NAME and r["device"] == "CPU" and r["scenario"] == "latency"
        assert r["batch"] == 1 and r["input_shape"] == [1, 12, TINY_SAMPLES]
        assert Path(r["artifact"]).is_file() and fo["compile_ms"] > 0 and fo["first_infer_ms"] > 0
        assert r["complete"] is True and ex["threads"] == 1 and ex["devices"]
        assert fo["flops"] > 0 and fo["params"] > 0
        starts = [st for _, st in lat["slices"]]  # time slices: rounds ascend, cover every sample
        assert starts[0] == 0 and starts == sorted(starts) and starts[-1] < len(s)
        assert [rd for rd, _ in lat["slices"]] == sorted({rd for rd, _ in lat["slices"]})
        assert tp["gflops"] == pytest.approx(fo["flops"] / (lat["median_ms"] * 1e6))
        # what ran, and efficiency against the ceiling of that arithmetic
        assert r["executed"] == ("int8+f32" if r["precision"] == "int8" else "f32"), label
        assert ex["inference_precision"] == "f32" and ex["as_planned"] is True, label
        assert tp["ceiling"] == ("int8" if r["precision"] == "int8" else "f32"), label
        assert tp["ceiling_gflops"] == fp["ceilings_gflops"][tp["ceiling"]]
        assert tp["gemm_fraction"] == pytest.approx(tp["gflops"] / tp["ceiling_gflops"])
        # a tiny model outside the zoo: no score, and it says so instead of borrowing one
        assert acc["challenge_score"] is None
        assert acc["note"] == f"not measured for {r['executed']}"
        if r["backend"] == "openvino":  # the runtime's own latency, below the wall time
            assert 0 < lat["runtime_median_ms"] <= lat["median_ms"], label
            assert lat["call_overhead_ms"] >= 0, label
        else:  # only OpenVINO keeps one
            assert lat["runtime_median_ms"] is None and lat["call_overhead_ms"] is None, label
        if r["backend"] == "torch":
            assert r["artifact"] == str(tiny.ckpt) and acc["verification"] is None
            assert r["extra"]["source"] == "checkpoint"
        else:
            assert acc["verification"].startswith(f"ok ({r['executed']}):"), acc["verification"]
            assert r["extra"]["source"] == "cache"
    ov_int8 = next(r for r in rows if r["backend"] == "openvino" and r["precision"] == "int8")
    ex = ov_int8["execution"]
    assert ex["int8_layers"] > 0 and ex["total_layers"] > ex["int8_layers"]
    # the returned document, the file and read_run agree
    back = read_run(d / "run.json")
    assert [r.key() for r in back.rows] == [r.key() for r in doc.rows]
    assert [r.latency.samples_ns for r in back.rows] == [r["latency"]["samples_ns"] for r in rows]
    assert back.to_dict() == raw


def test_run_plan_adds_rows_to_the_store(latency_run) -> None:
    d, doc, _ = latency_run
    store = d / "store"
    assert (store / "ecgbench.db").is_file()  # a folder means the SQLite store inside it
    df = load_store(store)
    assert len(df) == 5 and set(df["run_id"].astype(str)) == {doc.run_id}
    for col in ("model", "backend", "precision", "median_ms", "machine_id", "gemm_gflops"):
        assert col in df.columns, col
    assert "samples_ns" not in df.columns
    assert (df["machine_id"].astype(str) == doc.fingerprint["machine_id"]).all()
    by = {(r.backend, r.precision): r.latency.median_ms for r in doc.rows}
    for _, row in df.iterrows():
        assert row["median_ms"] == pytest.approx(by[(row["backend"], row["precision"])])
    # appending the same run again replaces it; another run adds its rows
    other = RunDocument(fingerprint=doc.fingerprint, rows=doc.rows[:2], complete=True)
    append_to_store(doc, store)
    append_to_store(other, store)
    df = load_store(store)
    assert len(df) == 7 and df["run_id"].astype(str).value_counts()[doc.run_id] == 5
    with pytest.raises(BadInputError, match="no results store"):
        load_store(d / "nowhere")


def test_results_table_lists_every_row(latency_run) -> None:
    from rich.console import Console

    _, doc, _ = latency_run
    con = Console(width=250, record=True)
    con.print(results_table(doc))
    text = con.export_text()
    assert text.count(TINY_NAME) == 5 and "int8)" in text and "GEMM" in text


def test_run_plan_throughput_scenario(tiny: TinySession, tmp_path: Path) -> None:
    plan = tiny_plan(tiny, backends=("openvino",), precisions=("fp32",), scenario="throughput")
    opts = RunOptions(
        export=tiny.opts(), output=tmp_path / "tp.json", use_store=False, show_progress=False
    )
    doc = run_plan(plan, opts, zoo=Zoo(tmp_path / "no_zoo"), log=lambda m: None)
    (r,) = doc.rows
    assert r.scenario == "throughput" and r.complete and doc.complete
    lat = r.latency
    assert lat.n == len(lat.samples_ns) >= 5 and sum(lat.samples_ns) >= 0.2e9
    assert r.throughput.fps == pytest.approx(1e3 / lat.mean_ms) and r.throughput.fps > 0
    assert not (tmp_path / "results").exists()
    assert read_run(tmp_path / "tp.json").rows[0].scenario == "throughput"


def test_run_plan_rejects_an_absent_device_before_exporting(
    tiny: TinySession, tmp_path: Path
) -> None:
    from ecgbench.errors import DeviceNotFoundError, EcgbenchError

    cache = tmp_path / "cache"
    plan = tiny_plan(tiny, backends=("openvino",), devices=("NPU",))
    opts = RunOptions(
        export=tiny.opts(cache_dir=cache),
        output=tmp_path / "o.json",
        store=tmp_path / "s",
        show_progress=False,
    )
    import openvino as ov

    if "NPU" in ov.Core().available_devices:
        pytest.skip("this machine has an NPU")
    with pytest.raises(DeviceNotFoundError, match="CPU"):
        run_plan(plan, opts, zoo=Zoo(tmp_path / "no_zoo"))
    assert not cache.exists() and not (tmp_path / "o.json").exists()
    with pytest.raises(EcgbenchError):
        run_plan(tiny_plan(tiny, batch=(0,)), opts, zoo=Zoo(tmp_path / "no_zoo"))


def test_one_variant_can_get_its_own_input_length(tiny: TinySession, tmp_path: Path) -> None:
    longer = TINY_SAMPLES + TINY_SAMPLES // 2
    plan = tiny_plan(
        tiny,
        backends=("openvino",),
        input_samples_by_variant={f"{TINY_NAME}/openvino/int8": longer},
    )
    opts = RunOptions(export=tiny.opts(), use_store=False, show_progress=False, verify=False)
    doc = run_plan(plan, opts, zoo=Zoo(tmp_path / "no_zoo"), log=lambda m: None)
    shapes = {r.precision: r.input_shape for r in doc.rows}
    assert shapes == {"fp32": [1, 12, TINY_SAMPLES], "int8": [1, 12, longer]}
    by = {r.precision: r for r in doc.rows}
    work = {p: r.footprint.flops for p, r in by.items()}
    assert work["int8"] > 1.4 * work["fp32"]  # the work follows the length


# The cross-check of the module's run lives here so that the plan runs once (latency_run).
def test_crosscheck_runs_benchmark_app_beside_our_loop(latency_run) -> None:
    from ecgbench.bench.probes.crosscheck import CrosscheckProbe, benchmark_app_path

    if benchmark_app_path() is None:
        pytest.skip("benchmark_app is not installed beside this Python (it ships with openvino)")
    _, doc, _ = latency_run
    doc = copy.deepcopy(doc)  # the module's run stays as it was
    doc.rows = [r for r in doc.rows if (r.backend, r.precision) == ("openvino", "int8")]
    logs: list[str] = []
    probe = CrosscheckProbe(threads=1, rounds=2, seconds=1.0)
    for i, groups in probe.measure([(None, r) for r in doc.rows], logs.append):
        doc.rows[i] = groups.apply(doc.rows[i])
    summary = probe.summary
    x = doc.rows[0].extra
    assert "crosscheck_bursts" in x, logs
    assert len(x["crosscheck_bursts"]["benchmark_app"]) == 2, logs
    bursts = x["crosscheck_bursts"]
    assert all(t and t > 0 for t in bursts["benchmark_app"])
    # The agreement compares the runtime's own latency in both tools; the wall ratio our table.
    own = [o / t for o, t in zip(bursts["ecgbench_runtime"], bursts["benchmark_app"], strict=True)]
    wall = [o / t for o, t in zip(bursts["ecgbench"], bursts["benchmark_app"], strict=True)]
    assert x["benchmark_app_ratio"] == pytest.approx(float(np.median(own)))
    assert x["benchmark_app_wall_ratio"] == pytest.approx(float(np.median(wall)))
    # What lies outside the runtime's timer only ever adds time.
    assert all(w >= o for w, o in zip(bursts["ecgbench"], bursts["ecgbench_runtime"], strict=True))
    assert "benchmark_app" in logs[0] and "ratio" in logs[0]
    assert summary["int8"]["rounds"] == 2
    assert summary["int8"]["ratio"] == pytest.approx(x["benchmark_app_ratio"])
    assert summary["int8"]["wall_ratio"] == pytest.approx(x["benchmark_app_wall_ratio"])
    assert any(line.startswith("crosscheck int8:") for line in logs)

    # The table shows both numbers per row and says which one benchmark_app corresponds to.
    from rich.console import Console

    from ecgbench.bench.tables.latency import CROSSCHECK_NOTE, results_table

    con = Console(width=200, record=True)
    con.print(results_table(doc))
    text = con.export_text()
    assert "fresh ms" in text and "benchmark_app ms" in text
    assert " ".join(CROSSCHECK_NOTE.split()[:6]) in " ".join(text.split())
    assert f"{x['benchmark_app_median_ms']:.3f}" in text
    assert f"{x['ecgbench_alone_median_ms']:.3f}" in text
    gap = doc.rows[0].latency.median_ms / x["ecgbench_alone_median_ms"]
    assert ("more than 5 % apart" in text) == (abs(gap - 1) > 0.05)
    narrow = Console(width=80, record=True)
    narrow.print(results_table(doc))
    narrow_text = narrow.export_text()
    # at 80 columns the core columns fill the line: no benchmark_app column, so no note about it
    assert ("benchmark_app ms" in narrow_text) == ("corresponds to fresh ms" in narrow_text)
