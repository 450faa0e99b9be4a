"""The optional row groups a scenario or a probe adds: the stream and the end-to-end call.

A row carries them beside its fixed groups. They are never store columns, except the end-to-end
summary (:data:`PIPELINE_COLUMNS`), which ``report`` and ``recommend`` read flat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(kw_only=True)
class Stream:
    """The streaming scenario (``bench/scenarios/stream/scenario.py``): a window every ``hop_s`` for ``seconds`` of
    wall clock; the row's latency samples are the windows' arrival-to-result times.

    ``missed`` = ``late`` (result after the next window's arrival) + ``dropped`` (never run: a newer
    window had arrived when the worker came free, policy "latest"). ``realtime_factor``: seconds of
    signal per second of compute, processed x hop_s / sum of service times.
    """

    policy: str = "latest"
    seconds: float
    hop_s: float
    window_s: float
    windows: int
    processed: int
    late: int
    dropped: int
    missed: int
    deadline_miss_rate: float
    realtime_factor: float | None = None
    realtime_factor_ci95: list[float] | None = None  # bootstrap over this stream's windows
    service_median_ms: float | None = None
    background: int = 0  # CPU-burning processes that ran beside the stream
    # "none": windows arrived preprocessed; "fir" / "iir": raw samples arrived and each service
    # also ran the causal preprocessing (data/causal.py), whose median share is preprocess_ms
    preprocess: str = "none"
    preprocess_median_ms: float | None = None
    preprocess_ns: list[int] = field(default_factory=list)  # per processed window
    service_ns: list[int] = field(default_factory=list)  # per processed window
    statuses: list[str] = field(default_factory=list)  # per window: met / late / dropped


@dataclass(kw_only=True)
class Part:
    """One part of the end-to-end call: median per call and its 95 % interval."""

    median_ms: float
    ci95: list[float] | None = None


@dataclass(kw_only=True)
class Pipeline:
    """A ``run --pipeline`` row's end-to-end timing (``ResultRow.pipeline``)."""

    input: str  # what fed it: records of a folder at a rate, or the synthetic ECG
    source: str  # "records" | "synthetic"
    fs_in: float
    n: int
    median_ms: float
    median_ci95: list[float] | None = None
    p90_ms: float
    p99_ms: float
    preprocess: Part
    inference: Part
    post: Part
    # The median of the per-call sum of the three parts, and whether it lies in the end-to-end
    # median's interval (the parts are the whole call, less two clock reads).
    split_sum_ms: float
    split_adds_up: bool
    # End-to-end over the same variant's model-only row: paired per round, geometric mean and
    # its t-interval over the rounds both were timed in.
    over_inference: float | None = None
    over_inference_ci95: list[float] | None = None
    rounds: int = 0
    records: list[str] = field(default_factory=list)
    samples_ns: list[int] = field(default_factory=list)
    slices: list[list[int]] = field(default_factory=list)  # [round, first sample]: pairs rows
    preprocess_ns: list[int] = field(default_factory=list)
    inference_ns: list[int] = field(default_factory=list)
    post_ns: list[int] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: Any) -> Pipeline:
        if not isinstance(d, dict):
            raise TypeError("pipeline is not an object")
        names = set(cls.__dataclass_fields__)
        kw = {k: v for k, v in d.items() if k in names}
        for part in ("preprocess", "inference", "post"):
            p = kw.get(part)
            if not isinstance(p, dict):
                raise TypeError(f"pipeline.{part} is not an object")
            kw[part] = Part(**{k: v for k, v in p.items() if k in ("median_ms", "ci95")})
        return cls(**kw)


# ``run --pipeline`` rows: the end-to-end medians as store columns (None on other rows), so that
# ``recommend --pipeline`` and the report read them as they read the model-only ones.
PIPELINE_COLUMNS: tuple[str, ...] = (
    "e2e_median_ms",
    "e2e_p99_ms",
    "e2e_preprocess_ms",
    "e2e_inference_ms",
    "e2e_post_ms",
    "e2e_over_inference",
)


def pipeline_columns(p: Pipeline | None) -> dict[str, float | None]:
    if p is None:
        return dict.fromkeys(PIPELINE_COLUMNS)
    return dict(
        zip(
            PIPELINE_COLUMNS,
            (
                p.median_ms,
                p.p99_ms,
                p.preprocess.median_ms,
                p.inference.median_ms,
                p.post.median_ms,
                p.over_inference,
            ),
            strict=True,
        )
    )
