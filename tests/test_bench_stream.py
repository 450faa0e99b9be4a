"""The streaming scenario: the scheduler's accounting on a fake clock and backend (exact counts, no
sleeping), the real-time factor, bad input on the command line and one short real stream."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from helpers_export import TINY_SAMPLES, TinySession
from typer.testing import CliRunner

from ecgbench.bench.results.document import read_run
from ecgbench.bench.results.schema import ResultRow
from ecgbench.bench.runner import RunOptions, run_plan
from ecgbench.bench.scenarios.stream.config import StreamConfig
from ecgbench.bench.scenarios.stream.scenario import background_load, stream_signal, window_service
from ecgbench.bench.scenarios.stream.schedule import (
    StreamTally,
    realtime_factor,
    realtime_factor_interval,
    schedule,
)
from ecgbench.bench.suite import Suite, load_suite
from ecgbench.cli import app
from ecgbench.errors import BadInputError
from ecgbench.report.data import box_frame
from ecgbench.zoo import Zoo

S = 1_000_000_000  # ns per second


class FakeClock:
    """Time moves only when the scheduler sleeps or a fake backend runs."""

    def __init__(self) -> None:
        self.t = 0
        self.sleeps: list[int] = []

    def now_ns(self) -> int:
        return self.t

    def sleep_until_ns(self, t_ns: int) -> None:
        self.sleeps.append(t_ns)
        self.t = max(self.t, t_ns)


class FakeBackend:
    """A backend whose inference takes a known time on the fake clock; keeps what it was fed."""

    def __init__(self, clock: FakeClock, service_s: list[float]) -> None:
        self.clock, self.service_s = clock, service_s
        self.fed: list[np.ndarray] = []

    def set_input(self, x: np.ndarray) -> None:
        self.fed.append(x)

    def run(self) -> None:
        self.clock.t += round(self.service_s[len(self.fed) - 1] * S)


def _stream(service_s: list[float], hop_s: float = 1.0) -> tuple[StreamTally, FakeBackend]:
    """``len(service_s)`` windows; the k-th window *run* takes ``service_s[k]``."""
    clock = FakeClock()
    n = len(service_s)
    backend = FakeBackend(clock, service_s)
    signal = np.arange(n + 3, dtype=np.float32).reshape(1, 1, -1)
    service = window_service(backend, signal, window_n=4, hop_n=1)  # type: ignore[arg-type]
    outcomes = schedule(n, round(hop_s * S), service, clock)
    assert [o.index for o in outcomes] == list(range(n))
    return StreamTally.of(outcomes), backend


def test_a_fast_worker_meets_every_deadline_and_waits_for_each_arrival() -> None:
    t, backend = _stream([0.5] * 10)
    assert (t.windows, t.processed, t.late, t.dropped, t.missed) == (10, 10, 0, 0, 0)
    assert t.deadline_miss_rate == 0.0 and t.statuses == ["met"] * 10
    assert t.service_ns == [S // 2] * 10 and t.response_ns == [S // 2] * 10
    # each window got its own samples: the signal from i * hop, window long
    assert [int(x[0, 0, 0]) for x in backend.fed] == list(range(10))
    assert all(x.shape == (1, 1, 4) and x.flags.c_contiguous for x in backend.fed)


def test_a_result_exactly_at_the_next_arrival_is_on_time() -> None:
    t, _ = _stream([1.0] * 6)
    assert t.missed == 0 and t.processed == 6


def test_a_slow_worker_runs_the_newest_window_and_drops_the_rest() -> None:
    # service 1.5 s, a window every 1 s: runs 0 (0-1.5), 1 (1.5-3), drops 2, runs 3 (3-4.5),
    # 4 (4.5-6), drops 5, runs 6 (6-7.5), 7 (7.5-9), drops 8, runs 9 (9-10.5); all runs late
    t, backend = _stream([1.5] * 10)
    assert t.statuses == ["late", "late", "dropped"] * 3 + ["late"]
    assert (t.processed, t.late, t.dropped, t.missed) == (7, 7, 3, 10)
    assert t.deadline_miss_rate == 1.0
    assert [int(x[0, 0, 0]) for x in backend.fed] == [0, 1, 3, 4, 6, 7, 9]
    # arrival-to-result: window 1 arrived at 1 s, waited until 1.5 s, finished at 3 s
    assert t.response_ns == [int(v * S) for v in (1.5, 2.0, 1.5, 2.0, 1.5, 2.0, 1.5)]


def test_one_slow_window_costs_itself_and_the_one_it_overran() -> None:
    # window 1 takes 2.5 s: late; window 2 arrives meanwhile and is dropped for window 3
    t, backend = _stream([0.2, 2.5, 0.2, 0.2, 0.2])
    assert t.statuses == ["met", "late", "dropped", "met", "met"]
    assert (t.missed, t.deadline_miss_rate) == (2, pytest.approx(0.4))
    assert [int(x[0, 0, 0]) for x in backend.fed] == [0, 1, 3, 4]


def test_realtime_factor_is_signal_seconds_per_compute_second() -> None:
    # three windows of 2 s new signal each, in 0.5 + 1 + 1.5 s of compute: 6 / 3
    assert realtime_factor(2.0, [S // 2, S, 3 * S // 2]) == pytest.approx(2.0)
    assert realtime_factor(0.25, [S // 100] * 4) == pytest.approx(25.0)
    assert realtime_factor(2.0, []) is None
    t, _ = _stream([1.5] * 10)
    assert realtime_factor(1.0, t.service_ns) == pytest.approx(1 / 1.5)


def test_realtime_factor_interval_spans_the_windows() -> None:
    assert realtime_factor_interval(1.0, [S // 4] * 10) == pytest.approx([4.0, 4.0])
    assert realtime_factor_interval(1.0, [S]) is None
    services = [S // 10, S // 5, S // 4, S // 2, S // 8, S // 6]
    lo, hi = realtime_factor_interval(1.0, services)  # type: ignore[misc]
    assert min(S / x for x in services) < lo < realtime_factor(1.0, services) < hi
    assert hi < max(S / x for x in services)


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="reads /proc (Linux)")
def test_background_load_starts_and_stops_its_processes() -> None:
    with background_load(2) as pids:
        assert len(set(pids)) == 2
        assert all(Path(f"/proc/{p}").exists() for p in pids)
    assert not any(Path(f"/proc/{p}").exists() for p in pids)  # terminated and reaped
    with background_load(0) as none:
        assert none == []


def test_windows_and_signal_cover_the_stream() -> None:
    assert StreamConfig(seconds=20, hop_s=2).windows() == 10
    assert StreamConfig(seconds=1.5, hop_s=0.25).windows() == 6
    assert StreamConfig(seconds=1.0, hop_s=0.3).windows() == 4
    assert StreamConfig(seconds=1.0, hop_s=5.0).windows() == 1
    x = np.arange(10, dtype=np.float32).reshape(1, 1, 10)
    sig = stream_signal(x, n_windows=4, window_n=10, hop_n=3)
    assert sig.shape == (1, 1, 19) and sig[0, 0, 10] == 0 and sig[0, 0, 18] == 8


def test_bad_stream_settings_are_one_line_each(tmp_path: Path) -> None:
    for cfg, says in (
        (StreamConfig(hop_s=0), "--hop-s"),
        (StreamConfig(hop_s=-1), "--hop-s"),
        (StreamConfig(seconds=float("nan")), "--stream-seconds"),
        (StreamConfig(window_s=0), "--window-s"),
        (StreamConfig(background=-1), "--background"),
    ):
        with pytest.raises(BadInputError, match=says):
            cfg.validate()
    with pytest.raises(BadInputError, match="need scenario stream"):
        Suite(stream=StreamConfig()).validate()
    with pytest.raises(BadInputError, match="batch must be 1"):
        Suite(scenario="stream", batch=(4,)).validate()
    for text, says in (
        ('scenario = "stream"\n[stream]\nhop = 1\n', "unknown keys hop"),
        ('scenario = "stream"\n[stream]\nhop_s = 0\n', "--hop-s"),
        ('scenario = "stream"\n[stream]\nhop_s = "often"\n', "bad value"),
        ('scenario = "stream"\nstream = 3\n', "must be a table"),
    ):
        p = tmp_path / "s.toml"
        p.write_text(text)
        with pytest.raises(BadInputError, match=says):
            load_suite(p)
    p.write_text('scenario = "stream"\n[stream]\nhop_s = 0.5\nbackground = 1\n')
    assert load_suite(p).stream == StreamConfig(hop_s=0.5, background=1)


def _cli(*args: object, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def _one_error_line(res, says: str) -> None:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and says in " ".join(res.stderr.split()), res.stderr


def test_cli_stream_bad_input_is_one_line(tiny_checkpoint: Path, tmp_path: Path) -> None:
    for args, says in (
        (("--hop-s", "0"), "--hop-s must be a number > 0"),
        (("--hop-s", "-2"), "--hop-s must be a number > 0"),
        (("--stream-seconds", "0"), "--stream-seconds"),
        (("--window-s", "-1"), "--window-s"),
        (("--background", "-1"), "--background must be >= 0"),
        (("--batch", "2"), "batch must be 1"),
    ):
        _one_error_line(_cli("run", "--scenario", "stream", *args, "--no-store"), says)
    _one_error_line(_cli("run", "--hop-s", "1", "--no-store"), "need scenario stream")
    _one_error_line(_cli("run", "--scenario", "streaming", "--no-store"), "unknown scenario")
    # a window longer than the record (the tiny checkpoint's is 10 s), before anything exports
    (tmp_path / "zoo").mkdir()
    env = {"ECGBENCH_ZOO": str(tmp_path / "zoo")}
    res = _cli(
        "run",
        "--scenario",
        "stream",
        "--model",
        tiny_checkpoint,
        "--backend",
        "torch",
        "--window-s",
        "12",
        "--no-store",
        env=env,
    )
    _one_error_line(res, "a 12 s window is longer than tiny's record (10 s at 500 Hz)")


def test_a_short_real_stream_writes_its_row(tiny: TinySession, tmp_path: Path) -> None:
    cfg = StreamConfig(seconds=1.5, hop_s=0.25)
    plan = Suite(
        models=(str(tiny.ckpt),),
        backends=("openvino",),
        threads=1,
        scenario="stream",
        warmup=0.05,
        stream=cfg,
    )
    logs: list[str] = []
    opts = RunOptions(
        export=tiny.opts(), output=tmp_path / "s.json", use_store=False, show_progress=False
    )
    t0 = time.monotonic()
    doc = run_plan(plan, opts, zoo=Zoo(tmp_path / "no_zoo"), log=logs.append)
    assert time.monotonic() - t0 >= 1.25  # wall-clock pacing: the last window arrives at 1.25 s
    (r,) = doc.rows
    s = r.stream
    assert doc.complete and r.complete and r.scenario == "stream" and s is not None
    assert r.input_shape == [1, 12, TINY_SAMPLES] and s.window_s == pytest.approx(10.0)
    assert s.windows == 6 and s.hop_s == 0.25 and s.seconds == 1.5 and s.policy == "latest"
    assert s.processed + s.dropped == 6 and s.missed == s.late + s.dropped
    assert len(s.statuses) == 6 and s.statuses.count("dropped") == s.dropped
    assert s.deadline_miss_rate == pytest.approx(s.missed / 6)
    assert len(r.latency.samples_ns) == s.processed == len(s.service_ns)
    # arrival to result is at least the compute time of the same window
    assert all(
        resp >= serv > 0 for resp, serv in zip(r.latency.samples_ns, s.service_ns, strict=True)
    )
    assert s.realtime_factor == pytest.approx(realtime_factor(0.25, s.service_ns))
    assert s.service_median_ms == pytest.approx(np.median(s.service_ns) / 1e6)
    assert r.footprint.first_infer_ms and r.footprint.first_infer_ms > 0
    assert any("6 windows" in m and "missed" in m for m in logs), logs
    back = read_run(tmp_path / "s.json").rows[0]
    assert back.stream == s and back.latency.samples_ns == r.latency.samples_ns
    # the report draws its box from the same samples, labelled as a stream
    (box,) = box_frame([doc]).to_dict("records")
    assert box["variant"].endswith("stream, a window every 0.25 s") and box["n"] == s.processed
    # a document without the group (every older one) still reads
    d = asdict(r)
    del d["stream"]
    assert ResultRow.from_dict(d).stream is None


def test_cli_streams_a_shorter_window_beside_background_load(
    tiny: TinySession, tmp_path: Path
) -> None:
    out = tmp_path / "s.json"
    res = _cli(
        "run",
        "--scenario",
        "stream",
        "--model",
        tiny.ckpt,
        "--backend",
        "openvino",
        "--threads",
        "1",
        "--warmup",
        "0.02",
        "--stream-seconds",
        "0.5",
        "--hop-s",
        "0.25",
        "--window-s",
        "5",
        "--background",
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
    assert "real-time" in res.output and "miss rate" in res.output
    (r,) = read_run(out).rows
    assert r.input_shape == [1, 12, TINY_SAMPLES // 2] and r.stream is not None
    assert r.stream.window_s == pytest.approx(5.0) and r.stream.background == 1
    assert r.stream.windows == 2 and r.scenario == "stream"
