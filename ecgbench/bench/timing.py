"""One timing loop for every backend.

Each variant is warmed up by time, then timed call by call with ``perf_counter_ns``. Variants are
interleaved in short rounds, so that drift of a busy machine (another job, frequency changes) hits
all of them alike; a variant stops when it has both a minimum duration and a minimum count of
samples. Every raw sample is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StopRule:
    min_duration_s: float = 5.0  # timed seconds per variant
    min_iters: int = 100  # timed calls per variant
    warmup_s: float = 1.0
    round_s: float = 0.5  # time slice per variant per round
    max_duration_s: float = 600.0  # hard cap per variant, for slow devices
    # Pause between slices: thread pools that spin after their work (ONNX Runtime, OpenMP in
    # torch) otherwise steal cores from the next variant's first calls.
    # (docs/design-choices.md has what leaving it out costs).
    settle_s: float = 0.05

    def done(self, elapsed_ns: int, n: int) -> bool:
        if elapsed_ns >= self.max_duration_s * 1e9:
            return True
        return elapsed_ns >= self.min_duration_s * 1e9 and n >= self.min_iters


@dataclass
class TimedVariant:
    """Anything with a ``run()`` to time; ``samples_ns`` fills as the loop goes."""

    label: str
    run: Callable[[], None]
    samples_ns: list[int] = field(default_factory=list)
    first_call_ns: int | None = None
    elapsed_ns: int = 0  # sum of timed calls
    warm: bool = False
    # [round, index of the slice's first sample] per time slice: lets the gate pair each slice
    # with the reference workload's slice of the same round (drift cancels within a round).
    slices: list[list[int]] = field(default_factory=list)
    # The backend's own time of the call just made (read after the clock stops, so untimed), e.g.
    # OpenVINO's request latency; ``runtime_ns`` then fills alongside ``samples_ns``.
    runtime_probe: Callable[[], int] | None = None
    runtime_ns: list[int] = field(default_factory=list)


def time_interleaved(
    variants: list[TimedVariant],
    rule: StopRule,
    on_round: Callable[[int, list[TimedVariant]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> None:
    """Rounds over all unfinished variants (rotating the start) until each meets the stop rule."""
    clock = time.perf_counter_ns
    for v in variants:  # first inference, reported apart from steady state
        if v.first_call_ns is None:
            t0 = clock()
            v.run()
            v.first_call_ns = clock() - t0
    for v in variants:
        if not v.warm:
            end = clock() + int(rule.warmup_s * 1e9)
            while clock() < end:
                v.run()
            v.warm = True
    rnd = 0
    while True:
        pending = [v for v in variants if not rule.done(v.elapsed_ns, len(v.samples_ns))]
        if not pending or (should_stop and should_stop()):
            return
        k = rnd % len(pending)
        for v in pending[k:] + pending[:k]:
            if rule.settle_s:
                time.sleep(rule.settle_s)
            slice_end = clock() + int(rule.round_s * 1e9)
            samples = v.samples_ns
            v.slices.append([rnd, len(samples)])
            run = v.run
            probe = v.runtime_probe
            while True:
                t0 = clock()
                run()
                t1 = clock()
                samples.append(t1 - t0)
                v.elapsed_ns += t1 - t0
                if probe is not None:
                    v.runtime_ns.append(probe())
                if t1 >= slice_end:
                    break
        rnd += 1
        if on_round:
            on_round(rnd, variants)
