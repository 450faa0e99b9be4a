"""``ecgbench run --scenario stream``: each variant fed like a bedside monitor, in wall-clock time.

A window of the signal arrives every ``hop_s`` for ``seconds``; the worker hands it to the backend
(``set_input``) and runs it, under the policy of :mod:`ecgbench.bench.scenarios.stream.schedule` (newest
window first, older ones dropped). Variants stream one after another: two at once would compete
for the cores; ``background`` CPU-burning processes are the deliberate competition instead.
The signal is the model's own synthetic input repeated along time (latency does not depend on
the values, :mod:`ecgbench.data.synthetic`).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from ecgbench.backends import Backend
from ecgbench.bench.lifecycle import Drive, Log, Pair, Scenario
from ecgbench.bench.results.groups import Stream
from ecgbench.bench.results.rows import result_row
from ecgbench.bench.results.schema import ResultRow, Throughput
from ecgbench.bench.scenarios.stream.config import StreamConfig
from ecgbench.bench.scenarios.stream.schedule import (
    POLICY,
    Clock,
    RealClock,
    StreamTally,
    WindowOutcome,
    realtime_factor,
    realtime_factor_interval,
    schedule,
)
from ecgbench.bench.suite import Suite
from ecgbench.bench.variants import LoadedVariant
from ecgbench.data.preprocess import Preprocessing
from ecgbench.errors import BadInputError
from ecgbench.variant import Variant
from ecgbench.zoo import Zoo, checkpoint_from

# One busy core per process: plain Python, no imports (-I -S), nothing it could share with us.
_BURN = "while True:\n    pass\n"


def stream_inputs(plan: Suite, zoo: Zoo) -> tuple[Suite, dict[str, float]]:
    """``plan`` with every variant's input length set to the window, and each model's rate (Hz).

    The record is the model's own window (``eval_seconds``): a window longer than it is an error,
    as is one shorter than a sample.
    """
    cfg = plan.stream or StreamConfig()
    models = zoo.names() if "all" in plan.models else list(plan.models)
    fs: dict[str, float] = {}
    by_variant = dict(plan.input_samples_by_variant)
    for model in models:
        entry = zoo.entries.get(model)
        if entry is not None and entry.brought:  # its card says its rate and window
            from ecgbench.zoo_brought import card_of

            c = card_of(entry)
            if c.layout != "NCL":
                raise BadInputError(
                    f"{model}: the stream slides windows along [batch, leads, samples]; "
                    f"its card's layout is {c.layout}"
                )
            name, pp = model, Preprocessing(fs=c.fs, eval_seconds=c.seconds)
        else:
            name, ckpt, _ = checkpoint_from(model, zoo)
            pp = ckpt.preprocessing
        fs[name] = pp.fs
        n = round(cfg.window_s * pp.fs) if cfg.window_s else (plan.input_samples or pp.eval_samples)
        if n > pp.eval_samples:
            raise BadInputError(
                f"a {n / pp.fs:g} s window is longer than {name}'s record "
                f"({pp.eval_seconds:g} s at {pp.fs:g} Hz)"
            )
        if n < 1:
            raise BadInputError(
                f"--window-s {cfg.window_s} is shorter than one sample at {pp.fs:g} Hz"
            )
        if cfg.window_s:
            for b in plan.backends:
                for p in plan.precisions:
                    by_variant[Variant(name, b, p).name] = n
    return replace(plan, input_samples_by_variant=by_variant), fs


@contextmanager
def background_load(n: int) -> Iterator[list[int]]:
    """``n`` processes that each keep one core busy while the block runs; their pids."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _BURN],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(n)
    ]
    try:
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def stream_signal(x: np.ndarray, n_windows: int, window_n: int, hop_n: int) -> np.ndarray:
    """``x`` (the model's input, [batch, leads, samples]) repeated until it covers every window."""
    need = (n_windows - 1) * hop_n + window_n
    reps = -(-need // x.shape[-1])
    return np.concatenate([x] * reps, axis=-1)[..., :need]


def window_service(
    backend: Backend, signal: np.ndarray, window_n: int, hop_n: int
) -> Callable[[int], None]:
    """What the worker does with window i: hand its samples to the backend, then infer."""

    def service(i: int) -> None:
        s = i * hop_n
        backend.set_input(np.ascontiguousarray(signal[..., s : s + window_n]))
        backend.run()

    return service


def raw_stream_signal(card: Any, n: int) -> np.ndarray:
    """``n`` raw samples of the synthetic ECG as the card's leads receive them, in its units."""
    from ecgbench.data.card_input import card_leads, synthetic_raw

    raw, leads = synthetic_raw(card, n / card.fs)
    return card_leads(raw, leads, card)[:, :n]


def causal_service(
    backend: Backend, card: Any, mode: str, n_windows: int, window_n: int, hop_n: int
) -> tuple[Callable[[int], None], list[int]]:
    """What the worker does with window i when raw samples arrive: push every sample up to the
    window's end through the causal preprocessing (those of dropped windows too: a monitor
    filters all it receives), take the window, infer. The list fills with each call's
    preprocessing time (ns)."""
    from ecgbench.data.causal import CausalPreprocessor

    raw = raw_stream_signal(card, (n_windows - 1) * hop_n + window_n)
    pre = CausalPreprocessor(card.steps, card.fs, window_n, leads=card.channels, mode=mode)
    spent: list[int] = []

    def service(i: int) -> None:
        t0 = time.perf_counter_ns()
        end = i * hop_n + window_n
        if end > pre.pushed:
            pre.push(raw[:, pre.pushed : end])
        x = pre.window()[None]
        spent.append(time.perf_counter_ns() - t0)
        backend.set_input(x)
        backend.run()

    return service, spent


def stream_variant(
    it: LoadedVariant,
    cfg: StreamConfig,
    fs: float,
    warmup_s: float,
    clock: Clock | None = None,
) -> list[WindowOutcome]:
    """First call (timed apart), ``warmup_s`` of warm-up, then the stream of ``cfg``."""
    n = cfg.windows()
    hop_n = max(1, round(cfg.hop_s * fs))
    window_n = it.shape[-1]
    spent: list[int] | None = None
    if cfg.preprocess != "none":
        service, spent = causal_service(it.backend, it.card, cfg.preprocess, n, window_n, hop_n)
    else:
        signal = stream_signal(it.x, n, window_n, hop_n)
        service = window_service(it.backend, signal, window_n, hop_n)
    t0 = time.perf_counter_ns()
    service(0)
    it.timed.first_call_ns = time.perf_counter_ns() - t0
    end = time.perf_counter_ns() + int(warmup_s * 1e9)
    while time.perf_counter_ns() < end:
        service(0)
    if spent is not None:
        spent.clear()  # the stream's own windows only
    outcomes = schedule(n, round(cfg.hop_s * 1e9), service, clock or RealClock())
    it.preprocess_ns = list(spent or [])
    return outcomes


def stream_row(
    it: LoadedVariant,
    plan: Suite,
    threads: int,
    cfg: StreamConfig,
    fs: float,
    outcomes: list[WindowOutcome],
) -> ResultRow:
    """The row: latency samples are arrival-to-result times, the ``stream`` group the accounting."""
    t = StreamTally.of(outcomes)
    it.timed.samples_ns = list(t.response_ns)
    row = result_row(it, plan, threads, {}, complete=True)
    service_ms = float(np.median(t.service_ns)) / 1e6
    span_s = max(o.finish_ns or 0 for o in outcomes) / 1e9
    return replace(
        row,
        throughput=Throughput(
            fps=t.processed * it.batch / span_s if span_s > 0 else 0.0,
            gflops=it.flops * it.batch / (service_ms * 1e6) if service_ms else None,
        ),
        stream=Stream(
            policy=POLICY,
            seconds=cfg.seconds,
            hop_s=cfg.hop_s,
            window_s=it.shape[-1] / fs,
            windows=t.windows,
            processed=t.processed,
            late=t.late,
            dropped=t.dropped,
            missed=t.missed,
            deadline_miss_rate=t.deadline_miss_rate,
            realtime_factor=realtime_factor(cfg.hop_s, t.service_ns),
            realtime_factor_ci95=realtime_factor_interval(cfg.hop_s, t.service_ns),
            service_median_ms=service_ms,
            background=cfg.background,
            preprocess=cfg.preprocess,
            preprocess_median_ms=(
                float(np.median(it.preprocess_ns)) / 1e6 if it.preprocess_ns else None
            ),
            preprocess_ns=list(it.preprocess_ns),
            service_ns=list(t.service_ns),
            statuses=list(t.statuses),
        ),
    )


@dataclass
class StreamScenario(Scenario):
    """Each variant streamed in turn (two at once would compete for the cores), under
    ``cfg.background`` CPU-burning processes; no reference is timed beside it."""

    plan: Suite
    threads: int
    cfg: StreamConfig
    fs: dict[str, float]  # each model's rate (Hz)
    log: Log = print
    clock: Clock | None = None
    streamed: dict[int, ResultRow] = field(default_factory=dict)  # by id(variant)
    name: ClassVar[str] = "stream"
    write_every_s: ClassVar[float] = 0.0  # the document after every variant
    times_references: ClassVar[bool] = False

    @classmethod
    def of(cls, plan: Suite, threads: int, zoo: Zoo, log: Log = print) -> StreamScenario:
        cfg = plan.stream or StreamConfig()
        plan, fs = stream_inputs(plan, zoo)
        return cls(plan, threads, cfg, fs, log)

    def prepare(self, plan: Suite) -> Suite:
        return self.plan  # every input length set to the window

    def running(self) -> AbstractContextManager[Any]:
        return background_load(self.cfg.background)

    def drive(self, d: Drive) -> None:
        for it in d.subjects:
            assert isinstance(it, LoadedVariant)  # the stream drives what load_variants loaded
            fs = self.fs[it.model]
            outcomes = stream_variant(it, self.cfg, fs, self.plan.warmup, self.clock)
            row = stream_row(it, self.plan, self.threads, self.cfg, fs, outcomes)
            self.streamed[id(it)] = row
            self.log(_summary(it.timed.label, row.stream))  # type: ignore[arg-type]
            d.after_step()

    def rows(
        self, loaded: Sequence[LoadedVariant], ceilings: dict[str, float], complete: bool
    ) -> list[Pair]:
        return [(it, self.streamed[id(it)]) for it in loaded if id(it) in self.streamed]


def _summary(label: str, s: Stream) -> str:
    rtf = rtf_text(s)
    return (
        f"stream {label}: {s.windows} windows of {s.window_s:g} s every {s.hop_s:g} s, "
        f"{s.missed} missed ({s.late} late, {s.dropped} dropped), "
        f"service median {s.service_median_ms:.2f} ms{_pre_text(s)}, real-time factor {rtf} "
        f"(counts of this run; {s.background} background processes)"
    )


def _pre_text(s: Stream) -> str:
    if s.preprocess == "none" or s.preprocess_median_ms is None:
        return ""
    return f" (of it {s.preprocess} preprocessing {s.preprocess_median_ms:.2f} ms)"


def rtf_text(s: Stream) -> str:
    """The real-time factor with its interval over the windows: "41.2 (38.0–44.9)"."""
    if s.realtime_factor is None:
        return "–"
    ci = s.realtime_factor_ci95
    return f"{s.realtime_factor:.1f}" + (f" ({ci[0]:.1f}–{ci[1]:.1f})" if ci else "")
