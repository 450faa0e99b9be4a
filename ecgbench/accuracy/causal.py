"""What streaming costs in accuracy: the same variant on the same records, its input preprocessed
zero-phase (offline, as it was trained) and causally (as a live monitor can, data/causal.py).

The paired drop (zero-phase − causal, on the same bootstrap resamples of the records) with its
interval, and the share of decisions that agree; a tie when the interval holds 0."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ecgbench.data.causal import Streaming
from ecgbench.gate.accuracy import AccuracySettings, compare_sides, side_outputs


@dataclass(frozen=True)
class StreamAccuracy:
    model: str
    backend: str
    precision: str
    hop_s: float
    mode: str
    n_records: int
    agreement: float  # share of (record, class) decisions the two pipelines share
    max_abs_delta: float  # of the probabilities
    metric: str | None = None  # "challenge_score" (zoo models) or "auroc" (brought ones)
    drop: float | None = None  # zero-phase − causal (positive: streaming is worse)
    drop_lo: float | None = None
    drop_hi: float | None = None
    verdict: str = "unlabelled"  # tie / drop / gain, or "unlabelled" (agreement only)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def stream_accuracy(
    zoo: Any,
    key: tuple[str, str, str],
    data: Path,
    how: Streaming,
    s: AccuracySettings,
    int8_rest: str = "f32",
) -> StreamAccuracy:
    """Score ``key`` (model, backend, precision) both ways on the same records of ``data``."""
    zero = side_outputs(zoo, key, data, s, int8_rest)
    causal = side_outputs(zoo, key, data, s, int8_rest, causal=how)
    assert zero.names == causal.names  # one reading of the records, two preprocessings
    agree, delta, d = compare_sides(zero, causal)
    return StreamAccuracy(
        *key,
        hop_s=how.hop_s,
        mode=how.mode,
        n_records=len(zero.names),
        agreement=agree,
        max_abs_delta=delta,
        metric=zero.metric if d is not None else None,
        drop=None if d is None else float(d.point),
        drop_lo=None if d is None else float(d.lo),
        drop_hi=None if d is None else float(d.hi),
        verdict="unlabelled" if d is None else d.verdict,
    )
