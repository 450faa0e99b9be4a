"""The streaming scheduler's accounting, apart from any runtime: windows arrive every hop, one
worker runs them, and every window ends met, late or dropped.

Policy ("latest", as bedside-monitor pipelines do): when the worker is free it takes the newest
window that has arrived; older windows that arrived while it was busy are dropped, never queued.
A window's deadline is the next window's arrival: it is *late* when its result comes after that,
*dropped* when it never ran; both are deadline misses. Nothing here sleeps or reads a real clock
unless given :class:`RealClock`, so tests drive it with a fake clock and known service times.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ecgbench.statistics import bootstrap_interval

POLICY = "latest"  # the newest arrived window runs; older unstarted ones are dropped


class Clock(Protocol):
    def now_ns(self) -> int: ...

    def sleep_until_ns(self, t_ns: int) -> None: ...


class RealClock:
    """``perf_counter_ns`` and ``time.sleep`` until the next arrival (a monitor's wall clock)."""

    def now_ns(self) -> int:
        return time.perf_counter_ns()

    def sleep_until_ns(self, t_ns: int) -> None:
        while (left := t_ns - time.perf_counter_ns()) > 0:
            time.sleep(left / 1e9)


@dataclass(frozen=True)
class WindowOutcome:
    """One window; times in ns from the stream's start. ``start_ns`` None: dropped."""

    index: int
    arrival_ns: int
    deadline_ns: int
    start_ns: int | None = None
    finish_ns: int | None = None

    @property
    def status(self) -> str:
        if self.finish_ns is None:
            return "dropped"
        return "met" if self.finish_ns <= self.deadline_ns else "late"

    @property
    def service_ns(self) -> int | None:
        """Compute time of the window (handing it over + inference)."""
        return None if self.start_ns is None else self.finish_ns - self.start_ns  # type: ignore[operator]

    @property
    def response_ns(self) -> int | None:
        """Arrival to result: what the monitor waits (service plus any wait for the worker)."""
        return None if self.finish_ns is None else self.finish_ns - self.arrival_ns


def schedule(
    n_windows: int, hop_ns: int, service: Callable[[int], None], clock: Clock
) -> list[WindowOutcome]:
    """Run ``service(i)`` for the windows the policy takes; window i arrives at ``i * hop_ns``.

    The stream ends when the last window has been run or dropped (at most one service time after
    the last arrival).
    """
    if n_windows < 1 or hop_ns < 1:
        raise ValueError("need at least one window and a hop > 0")
    t0 = clock.now_ns()
    out: list[WindowOutcome | None] = [None] * n_windows
    i = 0  # the oldest window neither run nor dropped
    while i < n_windows:
        newest = min(n_windows - 1, (clock.now_ns() - t0) // hop_ns)
        if newest < i:  # worker idle: wait for window i
            clock.sleep_until_ns(t0 + i * hop_ns)
            continue
        for j in range(i, newest):
            out[j] = WindowOutcome(j, j * hop_ns, (j + 1) * hop_ns)
        start = clock.now_ns() - t0
        service(newest)
        finish = clock.now_ns() - t0
        out[newest] = WindowOutcome(newest, newest * hop_ns, (newest + 1) * hop_ns, start, finish)
        i = newest + 1
    return [o for o in out if o is not None]


def realtime_factor(hop_s: float, service_ns: Sequence[int]) -> float | None:
    """Seconds of signal per second of compute: each window brings ``hop_s`` of new signal, so
    ``processed * hop_s / sum(service)`` (= hop_s / mean service time). Above 1 the worker keeps
    up on average; the miss rate says whether it did window by window. None: nothing ran."""
    total = int(np.sum(np.asarray(service_ns, dtype=np.int64))) if len(service_ns) else 0
    return len(service_ns) * hop_s * 1e9 / total if total > 0 else None


@dataclass(frozen=True)
class StreamTally:
    """What a stream's outcomes add up to; ``missed`` = ``late`` + ``dropped``."""

    windows: int
    processed: int
    late: int
    dropped: int
    service_ns: list[int]
    response_ns: list[int]
    statuses: list[str]

    @property
    def missed(self) -> int:
        return self.late + self.dropped

    @property
    def deadline_miss_rate(self) -> float:
        return self.missed / self.windows if self.windows else 0.0

    @classmethod
    def of(cls, outcomes: Sequence[WindowOutcome]) -> StreamTally:
        ran = [o for o in outcomes if o.finish_ns is not None]
        statuses = [o.status for o in outcomes]
        return cls(
            windows=len(outcomes),
            processed=len(ran),
            late=statuses.count("late"),
            dropped=statuses.count("dropped"),
            service_ns=[int(o.service_ns) for o in ran],  # type: ignore[arg-type]
            response_ns=[int(o.response_ns) for o in ran],  # type: ignore[arg-type]
            statuses=statuses,
        )


def realtime_factor_interval(
    hop_s: float, service_ns: Sequence[int], n_boot: int = 2000, seed: int = 0
) -> list[float] | None:
    """95 % percentile-bootstrap interval of :func:`realtime_factor`, resampling the windows.

    Windows of one stream are not independent draws (drift, background load), so this is the
    spread of this run's windows, not of the machine; None below two windows."""
    s = np.asarray(service_ns, dtype=np.float64)
    if s.size < 2 or np.any(s <= 0):
        return None
    lo, hi = bootstrap_interval(s, lambda r: hop_s * 1e9 / r.mean(axis=1), n_boot, seed)
    return [lo, hi]
