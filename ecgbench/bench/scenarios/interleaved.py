"""The latency and throughput scenarios: every variant beside the references, one process."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ecgbench.bench.lifecycle import Drive, Pair, Scenario, Subject, stop_rule
from ecgbench.bench.results.rows import result_rows
from ecgbench.bench.suite import Suite
from ecgbench.bench.timing import StopRule, TimedVariant, time_interleaved

if TYPE_CHECKING:
    from ecgbench.bench.references import ReferenceWorkloads
    from ecgbench.bench.variants import LoadedVariant


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


@dataclass
class LatencyScenario(Scenario):
    """Variants and references in interleaved rounds, one call at a time: drift moves them all
    alike."""

    plan: Suite
    threads: int
    name: ClassVar[str] = "latency"
    probes: ClassVar[tuple[str, ...]] = ("profile", "footprint", "crosscheck")

    def drive(self, d: Drive) -> None:
        # run --pipeline: each end-to-end call right beside its model-only row in every round
        variants = [t for s in d.subjects for t in (s.timed, s.pipeline_timed) if t is not None]
        variants += d.references
        duration = d.rule.min_duration_s
        task = d.bar.add_task("timing (interleaved)", total=len(variants) * duration)
        progress = _RoundProgress(d.bar, task, duration, d.after_step)
        time_interleaved(variants, d.rule, on_round=progress)

    def rows(
        self, loaded: Sequence[LoadedVariant], ceilings: dict[str, float], complete: bool
    ) -> list[Pair]:
        return result_rows(
            list(loaded), self.plan, self.threads, ceilings, stop_rule(self.plan), complete
        )


@dataclass
class ThroughputScenario(LatencyScenario):
    """Each variant with all its parallelism, one after another (they would compete otherwise);
    the ceilings are timed first, the reference model not at all."""

    name: ClassVar[str] = "throughput"
    probes: ClassVar[tuple[str, ...]] = ("profile", "footprint")

    def references(self, refs: ReferenceWorkloads) -> list[TimedVariant]:
        return refs.ceiling_timed

    def drive(self, d: Drive) -> None:
        time_interleaved(list(d.references), StopRule(1.0, 10, 0.2, 0.25))
        task = d.bar.add_task("throughput", total=len(d.subjects))
        for s in d.subjects:
            _time_throughput(s, d.rule)
            d.bar.advance(task)


def _time_throughput(s: Subject, rule: StopRule) -> None:
    """Inter-completion intervals of async requests: their mean is 1/throughput."""
    x = s.x
    s.backend.run_throughput(x, 8)  # warm-up
    t0 = time.perf_counter_ns()
    stamps: list[int] = []
    while True:
        stamps += s.backend.run_throughput(x, 32)
        if rule.done(time.perf_counter_ns() - t0, len(stamps)):
            break
    # the first interval starts at t0
    intervals = np.diff(np.asarray([t0, *sorted(stamps)])).tolist()
    s.timed.samples_ns.extend(int(v) for v in intervals)
    s.timed.elapsed_ns = int(sum(intervals))
    s.timed.first_call_ns = s.timed.first_call_ns or 0
