"""One run lifecycle: a scenario drives the loaded variants, probes measure beside the timing.

``ecgbench run`` (every scenario), the same-job gate's models mode and ``compare --ab`` all time
through :class:`Lifecycle`:

1. the :class:`Scenario` drives its subjects (interleaved rounds, throughput, a stream) under
   Ctrl-C / SIGTERM, and every backend is closed however the driving ends;
2. its rows are built from what was timed;
3. each :class:`Probe` (footprint, profile, crosscheck) measures after the timing, so that it never
   runs beside a timed call, and *returns* its row groups, which the lifecycle merges into the rows.

A probe that Ctrl-C stops keeps the groups it returned so far, as the timing keeps its samples.
"""

from __future__ import annotations

import signal
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from ecgbench.backends import Backend
from ecgbench.bench.results.schema import ResultRow
from ecgbench.bench.suite import Suite
from ecgbench.bench.timing import StopRule, TimedVariant
from ecgbench.progress import progress_bar

if TYPE_CHECKING:
    from ecgbench.bench.references import ReferenceWorkloads
    from ecgbench.bench.variants import LoadedVariant

Log = Callable[[str], None]


def stop_rule(plan: Suite) -> StopRule:
    """The plan's stop rule: every variant times at least its duration and its calls."""
    return StopRule(
        min_duration_s=plan.duration,
        min_iters=plan.min_calls(),
        warmup_s=plan.warmup,
        round_s=plan.round_s,
        settle_s=plan.settle_s,
    )


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


class Subject(Protocol):
    """What a scenario drives: a loaded backend, its input and the timing of its call."""

    timed: TimedVariant
    backend: Backend
    x: np.ndarray
    pipeline_timed: TimedVariant | None  # run --pipeline: the end-to-end call, timed beside


@dataclass(frozen=True)
class RowGroups:
    """What a probe measured for one row: fields of its ``footprint`` group and its ``extra``."""

    footprint: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def apply(self, row: ResultRow) -> ResultRow:
        return replace(
            row,
            footprint=replace(row.footprint, **self.footprint),
            extra={**row.extra, **self.extra},
        )


@dataclass
class Drive:
    """What a scenario drives, beside what, until when, and what it reports as it goes."""

    subjects: Sequence[Subject]
    references: Sequence[TimedVariant]
    rule: StopRule
    bar: Any  # a progress bar (rich, lines, or nothing)
    after_step: Callable[[], None]  # after each round or variant: a partial document


# a loaded variant and its row: what a probe measures from
Pair = tuple["LoadedVariant", ResultRow]


class Probe(ABC):
    """A measurement beside the timing, made after it; one class per probe."""

    name: ClassVar[str]

    @abstractmethod
    def measure(self, pairs: Sequence[Pair], log: Log) -> Iterator[tuple[int, RowGroups]]:
        """The groups of each row it measured (by index in ``pairs``), as each is done."""


class Scenario(ABC):
    """How loaded variants are driven, and the rows their timings give; one class per scenario."""

    name: ClassVar[str]
    probes: ClassVar[tuple[str, ...]] = ()  # the probes that measure beside it
    times_references: ClassVar[bool] = True  # the GEMM ceilings and the reference model
    write_every_s: ClassVar[float] = 5.0  # a partial document at most this often while it drives

    def prepare(self, plan: Suite) -> Suite:
        """The plan as this scenario loads it (the stream sets each input length to its window)."""
        return plan

    def running(self) -> AbstractContextManager[Any]:
        """What surrounds the driving (the stream's background load)."""
        return nullcontext()

    def references(self, refs: ReferenceWorkloads) -> list[TimedVariant]:
        """The reference workloads it times beside (or before) the variants."""
        return refs.timed

    @abstractmethod
    def drive(self, d: Drive) -> None:
        """Time ``d.subjects`` until ``d.rule`` holds; ``d.after_step`` after each round or
        variant."""

    @abstractmethod
    def rows(
        self, loaded: Sequence[LoadedVariant], ceilings: dict[str, float], complete: bool
    ) -> list[Pair]:
        """A row per variant timed so far; ``ceilings``: GFLOP/s per arithmetic of this run."""


@dataclass
class Lifecycle:
    """One scenario and its probes, run the same way for every command that times."""

    scenario: Scenario
    rule: StopRule
    references: Sequence[TimedVariant] = ()
    probes: Sequence[Probe] = ()
    show_progress: bool = False
    log: Log = print

    def drive(
        self, subjects: Sequence[Subject], after_step: Callable[[], None] = lambda: None
    ) -> bool:
        """False when Ctrl-C or SIGTERM stopped the timing (the samples so far are kept).

        Every backend is closed either way."""
        try:
            with (
                signals_as_interrupt(),
                progress_bar(self.show_progress, lines=True) as bar,
                self.scenario.running(),
            ):
                self.scenario.drive(Drive(subjects, self.references, self.rule, bar, after_step))
        except KeyboardInterrupt:
            return False
        finally:
            for s in subjects:
                s.backend.close()
        return True

    def measure(
        self, pairs: list[Pair], save: Callable[[list[ResultRow]], None]
    ) -> tuple[list[ResultRow], bool]:
        """Every probe in turn, its groups merged into the rows; ``save`` before each probe (the
        timed rows are safe before a probe recompiles every variant) and at the end. False when
        Ctrl-C stopped a probe (the groups measured so far stay)."""
        pairs = list(pairs)
        finished = True
        for probe in self.probes:
            save([r for _, r in pairs])
            try:
                with signals_as_interrupt():
                    for i, groups in probe.measure(pairs, self.log):
                        pairs[i] = (pairs[i][0], groups.apply(pairs[i][1]))
            except KeyboardInterrupt:
                finished = False
                break
        rows = [r for _, r in pairs]
        save(rows)
        return rows, finished


def reraise_if_stopped(finished: bool) -> None:
    """Ctrl-C raised again once the rows are safe: the command still exits as interrupted."""
    if not finished:
        raise KeyboardInterrupt
