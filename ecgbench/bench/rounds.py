"""Timing every loaded variant beside the references, until the stop rule or Ctrl-C / SIGTERM."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from ecgbench.bench.references import ReferenceWorkloads
from ecgbench.bench.suite import Suite
from ecgbench.bench.timing import StopRule, TimedVariant, time_interleaved
from ecgbench.bench.variants import LoadedVariant
from ecgbench.progress import progress_bar


def stop_rule(plan: Suite) -> StopRule:
    return StopRule(
        min_duration_s=plan.duration,
        min_iters=plan.min_calls(),
        warmup_s=plan.warmup,
        round_s=plan.round_s,
        settle_s=plan.settle_s,
    )


def time_all(
    loaded: list[LoadedVariant],
    refs: ReferenceWorkloads,
    plan: Suite,
    rule: StopRule,
    after_round: Callable[[], None],
    show_progress: bool,
) -> bool:
    """False when Ctrl-C or SIGTERM stopped the timing (the samples so far are kept).

    Every backend is closed either way.
    """
    try:
        with signals_as_interrupt(), progress_bar(show_progress, lines=True) as bar:
            if plan.scenario == "latency":
                _latency_rounds(loaded, refs, plan.duration, rule, bar, after_round)
            else:
                _run_throughput(loaded, refs.ceiling_timed, rule, bar)
    except KeyboardInterrupt:
        return False
    finally:
        for it in loaded:
            it.backend.close()
    return True


@contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI runner cancelling the job) stops the run like Ctrl-C: finished rows are kept.

    SIGINT is handled explicitly too: a process started in the background of a non-interactive
    shell inherits SIGINT as ignored, and Python then never raises KeyboardInterrupt for it.
    """

    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@dataclass
class _RoundProgress:
    """After each round: the bar shows the seconds timed (each variant's capped at the duration)."""

    bar: Any
    task: Any
    duration: float
    after_round: Callable[[], None]

    def __call__(self, rnd: int, variants: list[TimedVariant]) -> None:
        done = sum(min(v.elapsed_ns / 1e9, self.duration) for v in variants)
        self.bar.update(self.task, completed=done)
        self.after_round()


def _latency_rounds(
    loaded: list[LoadedVariant],
    refs: ReferenceWorkloads,
    duration: float,
    rule: StopRule,
    bar,
    after_round: Callable[[], None],
) -> None:
    """Variants and references in interleaved rounds: drift moves them all alike."""
    # run --pipeline: each end-to-end call right beside its model-only row in every round
    variants = [t for it in loaded for t in (it.timed, it.pipeline_timed) if t is not None]
    variants += refs.timed
    task = bar.add_task("timing (interleaved)", total=len(variants) * duration)
    time_interleaved(variants, rule, on_round=_RoundProgress(bar, task, duration, after_round))


def _run_throughput(
    loaded: list[LoadedVariant], ceilings: list[TimedVariant], rule: StopRule, bar
) -> None:
    """Each variant with all its parallelism, one after another (they would compete otherwise)."""
    time_interleaved(ceilings, StopRule(1.0, 10, 0.2, 0.25))
    task = bar.add_task("throughput", total=len(loaded))
    for it in loaded:
        x = it.x
        it.backend.run_throughput(x, 8)  # warm-up
        t0 = time.perf_counter_ns()
        stamps: list[int] = []
        while True:
            stamps += it.backend.run_throughput(x, 32)
            if rule.done(time.perf_counter_ns() - t0, len(stamps)):
                break
        # Inter-completion intervals: their mean is 1/throughput; the first one starts at t0.
        intervals = np.diff(np.asarray([t0, *sorted(stamps)])).tolist()
        it.timed.samples_ns.extend(int(v) for v in intervals)
        it.timed.elapsed_ns = int(sum(intervals))
        it.timed.first_call_ns = it.timed.first_call_ns or 0
        bar.advance(task)
