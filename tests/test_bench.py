"""Benchmarking: the stop rule, the interleaved timing loop, latency statistics, ``run_plan`` end to
end (the run document's schema and the store), Ctrl-C / SIGTERM, and the runner profiles."""

from __future__ import annotations

import copy
import itertools
import json
import math
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from helpers_export import TINY_NAME, TINY_SAMPLES, TinySession, subprocess_env
from typer.testing import CliRunner

from ecgbench.bench.results import ResultRow, RunDocument, append_to_store, load_store, read_run
from ecgbench.bench.runner import RunOptions, run_plan
from ecgbench.bench.suite import BACKENDS, RunPlan, load_suite
from ecgbench.bench.table import results_table
from ecgbench.bench.timing import LatencyStats, StopRule, TimedVariant, time_interleaved
from ecgbench.cli import app
from ecgbench.errors import BadInputError
from ecgbench.host import device_arithmetic
from ecgbench.zoo import Zoo

RUNNERS = Path(__file__).resolve().parents[1] / "runners"



# --------------------------------------------------------------------------- stop rule
def test_stop_rule_needs_both_duration_and_count() -> None:
    r = StopRule(min_duration_s=2.0, min_iters=10, max_duration_s=60.0)
    assert not r.done(0, 0)
    assert not r.done(int(5e9), 9)  # long enough, too few calls
    assert not r.done(int(1.9e9), 1000)  # enough calls, too short
    assert r.done(int(2e9), 10)
    assert r.done(int(60e9), 0)  # the hard cap, for very slow devices


class Sleeper:
    """A slow 'inference': a plain callable that sleeps and counts its calls."""

    def __init__(self, seconds: float, log: list[str] | None = None, label: str = "") -> None:
        self.seconds, self.calls, self.log, self.label = seconds, 0, log, label

    def __call__(self) -> None:
        self.calls += 1
        if self.log is not None:
            self.log.append(self.label)
        time.sleep(self.seconds)


def test_time_interleaved_respects_min_iters() -> None:
    s = Sleeper(0.005)
    v = TimedVariant("slow", s)
    rule = StopRule(min_duration_s=0.01, min_iters=12, warmup_s=0.02, round_s=0.01)
    time_interleaved([v], rule)
    n = len(v.samples_ns)
    # it stops at the end of the slice in which the count is reached: at most one slice more
    assert 12 <= n <= 12 + math.floor(rule.round_s / s.seconds) + 1
    assert all(x >= 5e6 for x in v.samples_ns)  # each sample is one whole call
    assert v.elapsed_ns == sum(v.samples_ns)
    assert v.first_call_ns >= 5e6 and v.warm
    assert s.calls - n - 1 >= 1  # first call and warm-up are not samples


def test_time_interleaved_respects_min_duration() -> None:
    s = Sleeper(0.01)
    v = TimedVariant("slow", s)
    rule = StopRule(min_duration_s=0.15, min_iters=2, warmup_s=0.0, round_s=0.02)
    time_interleaved([v], rule)
    assert v.elapsed_ns >= 0.15e9 and len(v.samples_ns) >= 2
    # every call sleeps >= 10 ms, so fewer than 15 calls came before the last slice
    assert len(v.samples_ns) <= 14 + math.floor(rule.round_s / s.seconds) + 1


def test_time_interleaved_interleaves_and_each_variant_meets_the_rule() -> None:
    log: list[str] = []
    fast, slow = Sleeper(0.001, log, "fast"), Sleeper(0.02, log, "slow")
    vs = [TimedVariant("fast", fast), TimedVariant("slow", slow)]
    rule = StopRule(min_duration_s=0.1, min_iters=3, warmup_s=0.0, round_s=0.02)
    log.clear()
    time_interleaved(vs, rule)
    for v in vs:
        assert v.elapsed_ns >= 0.1e9 and len(v.samples_ns) >= 3, v.label
    assert len(vs[0].samples_ns) > 2 * len(vs[1].samples_ns)  # counts follow speed
    switches = sum(a != b for a, b in itertools.pairwise(log))
    assert switches >= 4  # rounds of short slices, not one variant after the other


def test_time_interleaved_stops_when_asked_and_at_the_cap() -> None:
    v = TimedVariant("x", Sleeper(0.002))
    rounds: list[int] = []
    time_interleaved(
        [v],
        StopRule(min_duration_s=100, min_iters=10**6, warmup_s=0, round_s=0.01),
        on_round=lambda r, _: rounds.append(r),
        should_stop=lambda: len(rounds) >= 3,
    )
    assert len(rounds) == 3 and v.elapsed_ns < 1e9
    w = TimedVariant("y", Sleeper(0.002))
    time_interleaved([w], StopRule(100, 10**6, 0, 0.01, max_duration_s=0.05))
    assert 0.05e9 <= w.elapsed_ns < 5e9


def test_latency_stats_from_known_samples() -> None:
    samples = [3_000_000, 1_000_000, 2_500_000, 10_000_000, 4_000_000, 1_500_000, 2_000_000]
    st = LatencyStats.from_ns(samples, batch=4)
    a = np.asarray(samples, dtype=np.float64) / 1e6
    assert st.n == len(samples)
    assert st.median_ms == pytest.approx(np.median(a))
    assert st.p90_ms == pytest.approx(np.percentile(a, 90))
    assert st.p99_ms == pytest.approx(np.percentile(a, 99))
    assert st.iqr_ms == pytest.approx(np.percentile(a, 75) - np.percentile(a, 25))
    assert st.mean_ms == pytest.approx(a.mean()) and st.std_ms == pytest.approx(a.std())
    assert (st.min_ms, st.max_ms) == (pytest.approx(a.min()), pytest.approx(a.max()))
    assert st.throughput_fps == pytest.approx(4 * 1e3 / a.mean())
    with pytest.raises(ValueError):
        LatencyStats.from_ns([])


# --------------------------------------------------------------------------- run_plan
def tiny_plan(tiny: TinySession, **kw: object) -> RunPlan:
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
    return RunPlan(**base)  # type: ignore[arg-type]


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
    assert set(raw) == {"schema", "run_id", "created", "complete", "command", "suite",
                        "fingerprint", "reference", "rows"}  # fmt: skip
    assert raw["suite"] == "adhoc"
    assert raw["schema"] == 1 and raw["complete"] is True and raw["run_id"] == doc.run_id
    assert raw["command"] == "pytest latency run"
    fp = raw["fingerprint"]
    for k in ("cpu_model", "isa", "int8_isa", "threads", "versions", "machine_id", "gemm_gflops"):
        assert k in fp, k
    assert isinstance(fp["isa"], list) and fp["threads"] == 1
    assert len(fp["machine_id"]) == 12 and int(fp["machine_id"], 16) >= 0
    assert {"openvino", "onnxruntime", "torch"} <= set(fp["versions"])
    assert "CPU" in fp["openvino_devices"]
    ref = raw["reference"]
    assert ref["label"] == "reference:gemm-f32-openvino" and len(ref["samples_ns"]) >= 5
    assert ref["model"]["label"] == "reference:convnext-f32"
    assert ref["median_ms"] == pytest.approx(np.median(ref["samples_ns"]) / 1e6)
    assert fp["gemm_gflops"] == pytest.approx(2 * ref["n"] ** 3 / (ref["median_ms"] * 1e6))
    # a ceiling per arithmetic the CPU executes, each a GEMM that ran in that arithmetic
    cpu = device_arithmetic("CPU")
    ceilings = ref["ceilings"]
    assert set(ceilings) == set(cpu.float_types()) | ({"int8"} if cpu.executes("int8") else set())
    assert fp["ceilings_gflops"] == {a: c["gflops"] for a, c in ceilings.items()}
    for a, c in ceilings.items():
        assert c["as_asked"], (a, c["executed"])
        assert c["gflops"] == pytest.approx(2 * c["n"] ** 3 / (c["median_ms"] * 1e6))
    assert fp["native_precisions"]["CPU"] == cpu.native()
    assert ref["slices"] and ref["model"]["slices"] and len(ref["model"]["samples_ns"]) >= 5

    rows = raw["rows"]
    assert {(r["backend"], r["precision"]) for r in rows} == {
        ("openvino", "fp32"), ("openvino", "int8"), ("onnxruntime", "fp32"),
        ("onnxruntime", "int8"), ("torch", "fp32"),
    }  # fmt: skip
    assert len(rows) == 5
    for r in rows:
        assert set(r) == {f.name for f in fields(ResultRow)}
        s = np.asarray(r["samples_ns"], dtype=np.float64)
        label = (r["backend"], r["precision"])
        assert len(s) == r["n"] >= 5 and s.sum() >= 0.2e9, label
        assert r["median_ms"] == pytest.approx(np.median(s) / 1e6), label
        assert r["p90_ms"] == pytest.approx(np.percentile(s, 90) / 1e6)
        assert r["mean_ms"] == pytest.approx(s.mean() / 1e6)
        assert r["min_ms"] == pytest.approx(s.min() / 1e6)
        assert r["throughput_fps"] == pytest.approx(1e3 / r["mean_ms"])
        assert r["model"] == TINY_NAME and r["device"] == "CPU" and r["scenario"] == "latency"
        assert r["batch"] == 1 and r["input_shape"] == [1, 12, TINY_SAMPLES]
        assert Path(r["artifact"]).is_file() and r["compile_ms"] > 0 and r["first_infer_ms"] > 0
        assert r["complete"] is True and r["threads"] == 1 and r["execution_devices"]
        assert r["flops"] > 0 and r["params"] > 0
        starts = [st for _, st in r["slices"]]  # time slices: rounds ascend, cover every sample
        assert starts[0] == 0 and starts == sorted(starts) and starts[-1] < len(s)
        assert [rd for rd, _ in r["slices"]] == sorted({rd for rd, _ in r["slices"]})
        assert r["gflops"] == pytest.approx(r["flops"] / (r["median_ms"] * 1e6))
        # what ran, and efficiency against the ceiling of that arithmetic
        assert r["executed"] == ("int8+f32" if r["precision"] == "int8" else "f32"), label
        assert r["inference_precision"] == "f32" and r["precision_as_planned"] is True, label
        assert r["ceiling"] == ("int8" if r["precision"] == "int8" else "f32"), label
        assert r["ceiling_gflops"] == fp["ceilings_gflops"][r["ceiling"]]
        assert r["gemm_fraction"] == pytest.approx(r["gflops"] / r["ceiling_gflops"])
        # a tiny model outside the zoo: no score, and it says so instead of borrowing one
        assert r["challenge_score"] is None
        assert r["accuracy_note"] == f"not measured for {r['executed']}"
        if r["backend"] == "openvino":  # the runtime's own latency, below the wall time
            assert 0 < r["runtime_median_ms"] <= r["median_ms"], label
            assert r["call_overhead_ms"] >= 0, label
        else:  # only OpenVINO keeps one
            assert r["runtime_median_ms"] is None and r["call_overhead_ms"] is None, label
        if r["backend"] == "torch":
            assert r["artifact"] == str(tiny.ckpt) and r["verification"] is None
            assert r["extra"]["source"] == "checkpoint"
        else:
            assert r["verification"].startswith(f"ok ({r['executed']}):"), r["verification"]
            assert r["extra"]["source"] == "cache"
    ov_int8 = next(r for r in rows if r["backend"] == "openvino" and r["precision"] == "int8")
    assert ov_int8["int8_layers"] > 0 and ov_int8["total_layers"] > ov_int8["int8_layers"]
    # the returned document, the file and read_run agree
    back = read_run(d / "run.json")
    assert [r.key() for r in back.rows] == [r.key() for r in doc.rows]
    assert [r.samples_ns for r in back.rows] == [r["samples_ns"] for r in rows]


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
    by = {(r.backend, r.precision): r.median_ms for r in doc.rows}
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
    opts = RunOptions(export=tiny.opts(), output=tmp_path / "tp.json", use_store=False,
                      show_progress=False)  # fmt: skip
    doc = run_plan(plan, opts, zoo=Zoo(tmp_path / "no_zoo"), log=lambda m: None)
    (r,) = doc.rows
    assert r.scenario == "throughput" and r.complete and doc.complete
    assert r.n == len(r.samples_ns) >= 5 and sum(r.samples_ns) >= 0.2e9
    assert r.throughput_fps == pytest.approx(1e3 / r.mean_ms) and r.throughput_fps > 0
    assert not (tmp_path / "results").exists()
    assert read_run(tmp_path / "tp.json").rows[0].scenario == "throughput"


def test_run_plan_rejects_an_absent_device_before_exporting(
    tiny: TinySession, tmp_path: Path
) -> None:
    from ecgbench.errors import DeviceNotFoundError, EcgbenchError

    cache = tmp_path / "cache"
    plan = tiny_plan(tiny, backends=("openvino",), devices=("NPU",))
    opts = RunOptions(export=tiny.opts(cache_dir=cache), output=tmp_path / "o.json",
                      store=tmp_path / "s", show_progress=False)  # fmt: skip
    import openvino as ov

    if "NPU" in ov.Core().available_devices:
        pytest.skip("this machine has an NPU")
    with pytest.raises(DeviceNotFoundError, match="CPU"):
        run_plan(plan, opts, zoo=Zoo(tmp_path / "no_zoo"))
    assert not cache.exists() and not (tmp_path / "o.json").exists()
    with pytest.raises(EcgbenchError):
        run_plan(tiny_plan(tiny, batch=(0,)), opts, zoo=Zoo(tmp_path / "no_zoo"))


# --------------------------------------------------------------------------- read_run
@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2]",
        '{"schema": 2, "rows": []}',
        '{"schema": 1}',
        '{"schema": 1, "rows": 5}',
        '{"schema": 1, "rows": [7]}',
        '{"schema": 1, "rows": [{"model": "m", "backend": "openvino"}]}',
        '{"schema": 1, "rows": [{"model": "m", "backend": "openvino", "device": "CPU", '
        '"precision": "fp32", "samples_ns": [1, 2]}]}',  # lacks n, median_ms, ...
        "\udcff",
    ],
)
def test_read_run_on_a_malformed_file_is_bad_input(tmp_path: Path, content: str) -> None:
    p = tmp_path / "run.json"
    p.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(BadInputError) as e:
        read_run(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)


def test_read_run_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="not found"):
        read_run(tmp_path / "none.json")


# --------------------------------------------------------------------------- Ctrl-C / SIGTERM
def _ecgbench() -> str:
    exe = Path(sys.executable).with_name("ecgbench")
    if not exe.is_file():
        pytest.skip(f"console script not installed beside {sys.executable}")
    return str(exe)


SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class _Child:
    """``ecgbench run --duration 30`` in the background, to be stopped once it is timing.

    With ``tty``, its output goes to a pseudo-terminal, so it draws its progress bar: timing has
    begun once the bar shows a whole timed second ("timing (interleaved) ... 1/60"). Without, the
    sign is its first partial run document, which the runner writes every ~5 s of timing.
    """

    def __init__(self, tiny: TinySession, d: Path, tty: bool) -> None:
        self.out, self.store, self.text = d / "out.json", d / "store", ""
        cmd = [
            _ecgbench(), "run", "--model", str(tiny.ckpt), "--backend", "openvino",
            "--precision", "fp32", "--duration", "30", "--warmup", "0.1", "--threads", "1",
            "--output", str(self.out), "--store", str(self.store),
        ]  # fmt: skip
        env = subprocess_env(tiny)
        self.master = None
        if tty:
            env.pop("ECGBENCH_QUIET")
            env.pop("CI", None)
            self.master, slave = pty.openpty()
            self.p = subprocess.Popen(cmd, env=env, stdout=slave, stderr=slave, close_fds=True)
            os.close(slave)
        else:
            self.p = subprocess.Popen(
                cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        self.partial: RunDocument | None = None
        self.signalled = self.ended = 0.0

    def read_tty(self) -> None:
        while self.master is not None and select.select([self.master], [], [], 0)[0]:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the child closed the terminal
                return
            if not chunk:
                return
            self.text += _ANSI.sub("", chunk.decode("utf-8", "replace"))

    def timing(self) -> bool:
        if self.master is not None:
            self.read_tty()
            seconds = re.findall(r"timing \(interleaved\)[^\r\n]*?(\d+)/\d+", self.text)
            return bool(seconds) and int(seconds[-1]) >= 1
        if self.out.exists():
            self.partial = read_run(self.out)
            return True
        return False

    def finish(self) -> None:
        if self.master is not None:
            self.read_tty()
            os.close(self.master)
        else:
            out, err = self.p.communicate(timeout=30)
            self.text = out + err


@pytest.fixture(scope="module")
def interrupted(tiny: TinySession, tmp_path_factory: pytest.TempPathFactory) -> dict[str, _Child]:
    """One child stopped by SIGINT (seen timing on its terminal) and one by SIGTERM (seen by its
    partial document), side by side; the FP32 IR is in the session's cache already."""
    runs = {
        "SIGINT": _Child(tiny, tmp_path_factory.mktemp("sigint"), tty=True),
        "SIGTERM": _Child(tiny, tmp_path_factory.mktemp("sigterm"), tty=False),
    }
    try:
        deadline = time.monotonic() + 150
        while any(not c.ended for c in runs.values()):
            assert time.monotonic() < deadline, "no timing / no exit within 150 s"
            for name, c in runs.items():
                if not c.signalled:
                    if c.timing():
                        c.signalled = time.monotonic()
                        c.p.send_signal(SIGNALS[name])
                    else:
                        assert c.p.poll() is None, (name, c.p.returncode, c.text)
                elif not c.ended and c.p.poll() is not None:
                    c.ended = time.monotonic()
                c.read_tty()
            time.sleep(0.05)
        for c in runs.values():
            c.finish()
    finally:
        for c in runs.values():
            if c.p.poll() is None:
                c.p.kill()
                c.p.wait()
    return runs


@pytest.mark.parametrize("sig", sorted(SIGNALS))
def test_interrupted_run_keeps_its_rows_and_exits_130(interrupted, sig: str) -> None:
    c = interrupted[sig]
    assert c.p.returncode == 130, c.text
    took = c.ended - c.signalled
    assert took < 10, f"took {took:.1f} s to stop"
    assert "Traceback" not in c.text and "interrupted: finished rows were written" in c.text, c.text
    doc = read_run(c.out)
    assert doc.complete is False and len(doc.rows) >= 1
    row = doc.rows[0]
    assert row.complete is False and row.n == len(row.samples_ns) >= 1
    assert row.model == TINY_NAME and row.median_ms > 0
    assert json.loads(c.out.read_text())["complete"] is False
    assert len(load_store(c.store)) == len(doc.rows)  # the finished rows reached the store too
    if c.partial is not None:  # what a run killed hard at that moment would have left
        assert not c.partial.complete and c.partial.rows and not c.partial.rows[0].complete
        assert row.n >= c.partial.rows[0].n


def test_one_variant_can_get_its_own_input_length(tiny: TinySession, tmp_path: Path) -> None:
    longer = TINY_SAMPLES + TINY_SAMPLES // 2
    plan = tiny_plan(tiny, backends=("openvino",), samples_by_variant={
        f"{TINY_NAME}/openvino/int8": longer})  # fmt: skip
    opts = RunOptions(export=tiny.opts(), use_store=False, show_progress=False, verify=False)
    doc = run_plan(plan, opts, zoo=Zoo(tmp_path / "no_zoo"), log=lambda m: None)
    shapes = {r.precision: r.input_shape for r in doc.rows}
    assert shapes == {"fp32": [1, 12, TINY_SAMPLES], "int8": [1, 12, longer]}
    by = {r.precision: r for r in doc.rows}
    assert by["int8"].flops > 1.4 * by["fp32"].flops  # the work follows the length


# --------------------------------------------------------------------------- runner profiles
@pytest.mark.parametrize("path", sorted(RUNNERS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_runner_profile_loads(path: Path) -> None:
    plan = load_suite(path)
    assert plan.name == path.stem
    assert set(plan.backends) <= set(BACKENDS) and plan.devices and plan.batch
    assert plan.duration > 0 and plan.min_iters >= 1


def test_runner_profiles_mean_what_they_say() -> None:
    assert len(list(RUNNERS.glob("*.toml"))) >= 5
    lat = load_suite(RUNNERS / "cpu-latency.toml")
    assert lat.threads is None and lat.models == ("all",) and lat.scenario == "latency"
    assert set(lat.precisions) == {"fp32", "bf16", "fp16", "int8"}
    assert load_suite(RUNNERS / "cpu-throughput.toml").batch == (1, 8)
    npu = load_suite(RUNNERS / "intel-npu.toml")
    assert npu.devices == ("NPU",) and npu.static_shape is True
    assert load_suite(RUNNERS / "auto-hetero.toml").devices == ("AUTO", "HETERO:CPU")
    ci = load_suite(RUNNERS / "ci.toml")  # enough rounds for the gate's round-paired statistics
    assert ci.duration / ci.round_s >= 30 and set(ci.precisions) == {"fp32", "bf16", "int8"}


BAD_SUITES = {
    "syntax": ('backends = ["openvino"\nduration = 1\n', "not valid TOML"),
    "unknown_key": ('backend = ["openvino"]\n', "unknown keys backend"),
    "unknown_backend": ('backends = ["tensorrt"]\n', "unknown backend 'tensorrt'"),
    "batch_zero": ("batch = [0]\n", "batch"),
    "batch_word": ('batch = ["big"]\n', "bad value"),
    "negative_duration": ("duration = -1.0\n", "duration"),
    "unknown_precision": ('precisions = ["int4"]\n', "unknown precision 'int4'"),
    "unknown_scenario": ('scenario = "offline"\n', "unknown scenario"),
    "no_backend_for_precision": ('backends = ["torch"]\nprecisions = ["int8"]\n', "torch: fp32"),
    "models_table": ("[models]\na = 1\n", "must be a list or a string"),
    "threads_negative": ("threads = -2\n", "threads"),
    "samples_negative": ("samples = -5\n", "samples"),
    "samples_by_variant_list": ("samples_by_variant = [1]\n", "bad value"),
    "samples_by_variant_word": ('[samples_by_variant]\n"m/openvino/fp32" = "long"\n', "bad value"),
    "samples_by_variant_zero": ('[samples_by_variant]\n"m/openvino/fp32" = 0\n', ">= 1"),
    "static_shape_word": ('static_shape = "no"\n', "static_shape"),
    "int8_rest_unknown": ('int8_rest = "int4"\n', "unknown int8_rest 'int4'"),
}


@pytest.mark.parametrize("case", sorted(BAD_SUITES))
def test_a_bad_runner_file_is_one_line(tmp_path: Path, case: str) -> None:
    text, says = BAD_SUITES[case]
    p = tmp_path / f"{case}.toml"
    p.write_text(text)
    with pytest.raises(BadInputError) as e:
        load_suite(p)
    msg = str(e.value)
    assert says in msg and "\n" not in msg, msg


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
        "run", "--model", tiny.ckpt, "--backend", "openvino,torch", "--duration", "0.1",
        "--min-iters", "3", "--warmup", "0.02", "--threads", "1", "--output", out,
        "--store", tmp_path / "store", "--cache-dir", tiny.cache, "--calibration", tiny.records,
        env={"ECGBENCH_ZOO": str(tiny.empty)},
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert res.output.count(TINY_NAME) == 2 and "median ms" in res.output
    doc = read_run(out)
    assert doc.complete and {r.backend for r in doc.rows} == {"openvino", "torch"}
    assert len(load_store(tmp_path / "store")) == 2


def test_cli_run_crosscheck_takes_its_rounds_from_the_command_line(
    tiny: TinySession, tmp_path: Path
) -> None:
    from ecgbench.bench.crosscheck import benchmark_app_path

    if benchmark_app_path() is None:
        pytest.skip("benchmark_app is not installed beside this Python (it ships with openvino)")
    out = tmp_path / "o.json"
    res = _cli(
        "run", "--model", tiny.ckpt, "--backend", "openvino", "--precision", "fp32",
        "--duration", "0.1", "--min-iters", "3", "--warmup", "0.02", "--threads", "1",
        "--crosscheck", "--crosscheck-rounds", "3", "--output", out, "--no-store",
        "--cache-dir", tiny.cache, env={"ECGBENCH_ZOO": str(tiny.empty)},
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    said = " ".join(res.stderr.split())
    assert "crosscheck fp32: ecgbench / benchmark_app" in said and "median of 3 rounds" in said
    (row,) = read_run(out).rows
    assert len(row.extra["crosscheck_bursts"]["benchmark_app"]) == 3
    assert row.runtime_median_ms is not None and 0 < row.runtime_median_ms <= row.median_ms


def test_crosscheck_runs_benchmark_app_beside_our_loop(latency_run) -> None:
    from ecgbench.bench.crosscheck import benchmark_app_path, crosscheck_rows

    if benchmark_app_path() is None:
        pytest.skip("benchmark_app is not installed beside this Python (it ships with openvino)")
    _, doc, _ = latency_run
    doc = copy.deepcopy(doc)  # the module's run stays as it was
    doc.rows = [r for r in doc.rows if (r.backend, r.precision) == ("openvino", "int8")]
    logs: list[str] = []
    summary = crosscheck_rows(doc, threads=1, log=logs.append, seconds=1.0, rounds=2)
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


def test_crosscheck_timing_process_reports_a_bad_ir_in_one_line(tmp_path: Path) -> None:
    from ecgbench.bench.crosscheck import _FreshProcessLoop
    from ecgbench.errors import EcgbenchError

    bad = tmp_path / "model.xml"
    bad.write_text("<net>not an IR")
    with pytest.raises(EcgbenchError, match=r"cross-check: .*not a readable IR"):
        _FreshProcessLoop(str(bad), "CPU", [1, 12, 1000], 1)
