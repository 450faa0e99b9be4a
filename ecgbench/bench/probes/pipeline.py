"""End-to-end timing (``run --pipeline``): one call of what an ECG application runs.

The model-only rows start from a preprocessed tensor; a monitor or a hospital service starts from
the raw record window, at the record's rate and in its units, and has to resample it, filter it,
normalise it, run the model and turn its outputs into decisions. For the small models that
preprocessing costs more than the inference. Each call here does all of it, with the three parts
clocked inside the call, and is timed in the same interleaved rounds as the model-only row of the
same variant, so that end-to-end over inference-only is a paired ratio per round.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecgbench.backends import Backend
from ecgbench.bench.results.groups import Part, Pipeline
from ecgbench.bench.timing import TimedVariant
from ecgbench.card import ModelCard, activate
from ecgbench.data.card_input import card_signal, to_layout
from ecgbench.data.leads import lead_order
from ecgbench.data.preprocess import MAX_RATE_TERMS, rate_ratio
from ecgbench.errors import BadInputError
from ecgbench.statistics import quantile_interval

MAX_RECORDS = 8  # raw windows cycled through per variant (each call takes the next)


@dataclass(frozen=True)
class RawWindows:
    """Raw windows as the application receives them: [record leads, n] in mV at ``fs``."""

    signals: tuple[np.ndarray, ...]
    leads: tuple[str, ...]
    fs: float
    source: str  # "records" | "synthetic"
    names: tuple[str, ...] = ()
    folder: str = ""

    def describe(self) -> str:
        if self.source == "synthetic":
            return f"synthetic ECG at {self.fs:g} Hz"
        return f"{len(self.signals)} record(s) of {self.folder} at {self.fs:g} Hz"


def resample_problem(fs_in: float, fs_out: float) -> str | None:
    """Why a record at ``fs_in`` cannot be brought to the model's ``fs_out``; None when it can."""
    if not (np.isfinite(fs_in) and fs_in > 0):
        return f"its rate {fs_in!r} Hz is not a positive number"
    ratio = rate_ratio(fs_in, fs_out)  # what resample() will use
    exact = abs(float(ratio) - fs_out / fs_in) <= 1e-9 * fs_out / fs_in
    if not exact or ratio.numerator > MAX_RATE_TERMS:
        return (
            f"its rate {fs_in:g} Hz cannot be resampled to the model's {fs_out:g} Hz "
            f"(the ratio is no fraction with terms <= {MAX_RATE_TERMS})"
        )
    return None


def synthetic_windows(card: ModelCard, seconds: float) -> RawWindows:
    """The bundled synthetic beat train at the card's rate (no records given)."""
    from ecgbench.data.card_input import synthetic_raw

    raw, leads = synthetic_raw(card, seconds)
    return RawWindows((raw,), tuple(leads), float(card.fs), "synthetic")


def record_windows(
    data_dir: str | os.PathLike[str], card: ModelCard, seconds: float, limit: int = MAX_RECORDS
) -> RawWindows:
    """The first ``limit`` usable records of ``data_dir`` (all at the first one's rate), each cut
    to the model's window; one line naming the first problem when none is usable."""
    from ecgbench.data.records import RecordError, iter_records, list_records

    d = Path(data_dir)
    paths = list_records(d)
    if not paths:
        raise BadInputError(f"--pipeline: no records (.hea) in {d}")
    signals: list[np.ndarray] = []
    names: list[str] = []
    leads: tuple[str, ...] = ()
    fs: float | None = None
    problems: list[str] = []
    for item in iter_records(paths, n_leads=None):
        if len(signals) >= limit:
            break
        if isinstance(item, RecordError):
            problems.append(str(item))
            continue
        why = resample_problem(item.fs, card.fs)
        order = lead_order(item.leads, card.leads)
        n = round(seconds * item.fs)
        if why is None and isinstance(order, str):
            why = order
        if why is None and item.signal.shape[1] < n:
            why = (
                f"{item.duration_s:g} s is shorter than the model's {seconds:g} s window "
                f"({item.signal.shape[1]} < {n} samples at {item.fs:g} Hz)"
            )
        if why is None and fs is not None and item.fs != fs:
            continue  # one rate per row: the row says which
        if why is not None:
            problems.append(f"{item.name}: {why}")
            continue
        if fs is None:
            fs, leads = float(item.fs), tuple(item.leads)
        elif tuple(item.leads) != leads:
            continue
        signals.append(np.ascontiguousarray(item.signal[:, :n], dtype=np.float32))
        names.append(item.name)
    if not signals:
        first = problems[0] if problems else "no usable record"
        raise BadInputError(f"--pipeline: no record of {d} can feed the model ({first})")
    return RawWindows(tuple(signals), leads, float(fs or card.fs), "records", tuple(names), str(d))


@dataclass
class EndToEnd:
    """One application call: raw window(s) -> the card's preprocessing -> inference -> decisions.

    The parts are clocked inside :meth:`run`; :meth:`record` (the timing loop's after-call hook,
    which it calls only after timed calls) keeps them, so the parts line up with the samples.
    """

    backend: Backend
    card: ModelCard
    windows: RawWindows
    batch: int
    samples: int
    preprocess_ns: list[int] = field(default_factory=list)
    inference_ns: list[int] = field(default_factory=list)
    post_ns: list[int] = field(default_factory=list)
    decisions: np.ndarray | None = None
    _next: int = 0
    _last: tuple[int, int, int] = (0, 0, 0)
    # fixed for the whole run, as an application holds them: not rebuilt inside the timed call
    _leads: list[str] = field(default_factory=list)
    _thresholds: np.ndarray | None = None

    def __post_init__(self) -> None:
        self._leads = list(self.windows.leads)
        self._thresholds = np.asarray(self.card.thresholds, dtype=np.float64)

    def run(self) -> None:
        clock = time.perf_counter_ns
        w, card, leads = self.windows, self.card, self._leads
        t0 = clock()
        k = len(w.signals)
        picked = [w.signals[(self._next + j) % k] for j in range(self.batch)]
        self._next = (self._next + self.batch) % k
        xs = [card_signal(s, w.fs, leads, card, samples=self.samples) for s in picked]
        x = to_layout(np.stack(xs), card.layout)
        t1 = clock()
        self.backend.set_input(x)
        self.backend.run()
        y = self.backend.output()
        t2 = clock()
        self.decisions = activate(y, card.activation) >= self._thresholds
        t3 = clock()
        self._last = (t1 - t0, t2 - t1, t3 - t2)

    def record(self) -> int:
        """Keep the last call's parts; returns its inference part (the loop's runtime probe)."""
        pre, inf, post = self._last
        self.preprocess_ns.append(pre)
        self.inference_ns.append(inf)
        self.post_ns.append(post)
        return inf

    def timed(self, label: str) -> TimedVariant:
        return TimedVariant(label=f"{label} end-to-end", run=self.run, runtime_probe=self.record)


def _part(ns: list[int]) -> Part:
    a = np.asarray(ns, dtype=np.float64) / 1e6
    ci = quantile_interval(a, 50.0)
    return Part(median_ms=float(np.median(a)), ci95=list(ci) if ci else None)


def paired_over(num: Any, den: Any) -> tuple[float, float, float, int]:
    """``num`` over ``den`` (anything with ``samples_ns`` and ``slices`` timed in the same rounds):
    the per-round median ratio's geometric mean, its 95 % t-interval, and the rounds."""
    from ecgbench.statistics import log_t_interval, round_ratios

    r = round_ratios(num.samples_ns, num.slices, den.samples_ns, den.slices)
    if len(r) < 2:
        return float("nan"), float("nan"), float("nan"), len(r)
    mid, lo, hi, _ = log_t_interval(r)
    return mid, lo, hi, len(r)


def pipeline_result(e2e: EndToEnd, timed: TimedVariant, model_only: TimedVariant) -> Pipeline:
    """The row's end-to-end summary from the samples so far (``timed.samples_ns`` non-empty)."""
    s = np.asarray(timed.samples_ns, dtype=np.float64) / 1e6
    n = min(len(s), len(e2e.preprocess_ns))  # a Ctrl-C between sample and record: one short
    med = float(np.median(s))
    ci = quantile_interval(s, 50.0)
    parts = np.add(e2e.preprocess_ns[:n], e2e.inference_ns[:n])
    split_sum = float(np.median(np.add(parts, e2e.post_ns[:n]))) / 1e6 if n else float("nan")
    mid, lo, hi, rounds = paired_over(timed, model_only)
    w = e2e.windows
    return Pipeline(
        input=w.describe(),
        source=w.source,
        fs_in=w.fs,
        n=int(s.size),
        median_ms=med,
        median_ci95=list(ci) if ci else None,
        p90_ms=float(np.percentile(s, 90)),
        p99_ms=float(np.percentile(s, 99)),
        preprocess=_part(e2e.preprocess_ns[:n] or [0]),
        inference=_part(e2e.inference_ns[:n] or [0]),
        post=_part(e2e.post_ns[:n] or [0]),
        split_sum_ms=split_sum,
        split_adds_up=bool(ci and ci[0] <= split_sum <= ci[1]),
        over_inference=None if np.isnan(mid) else mid,
        over_inference_ci95=None if np.isnan(mid) else [lo, hi],
        rounds=rounds,
        records=list(w.names),
        samples_ns=list(timed.samples_ns),
        slices=[list(x) for x in timed.slices],
        preprocess_ns=list(e2e.preprocess_ns[:n]),
        inference_ns=list(e2e.inference_ns[:n]),
        post_ns=list(e2e.post_ns[:n]),
    )
