"""Which rows of two runs are the same variant: one key type and one pairing function.

A head row is judged against the same variant as asked (:class:`PairKey`). Unlike the row's own
key (``ResultRow.key``, what a stored baseline is compared on), the input length and the executed
arithmetic are not in it: they are part of what a revision may change (a longer window, a model
that now runs bf16), so they are shown beside the verdict, not used to keep rows apart.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, NamedTuple, TypeVar

import numpy as np

from ecgbench.bench.results.schema import ROW_KEY, ResultRow
from ecgbench.statistics import round_ratios

K = TypeVar("K", bound=Hashable)


class PairKey(NamedTuple):
    """The variant as asked: what two rows must share to be one key of a comparison."""

    model: str
    backend: str
    device: str
    precision: str
    scenario: str
    batch: int


PAIR_KEY = PairKey._fields


def pair_key(source: ResultRow | Mapping[str, Any]) -> PairKey:
    """The key of a row, or of a verdict's key dict (``KeyVerdict.key``): one function for both."""
    if isinstance(source, Mapping):
        return PairKey(*(source[n] for n in PAIR_KEY))
    return PairKey(*(getattr(source, n) for n in PAIR_KEY))


def key_dict(row: ResultRow) -> dict[str, Any]:
    """A row's whole key as the verdicts carry it (JSON-friendly: the input shape a list)."""
    return {
        n: (list(v) if n == "input_shape" else v) for n, v in zip(ROW_KEY, row.key(), strict=True)
    }


def pair_rows(
    base: Iterable[ResultRow],
    other: Iterable[ResultRow],
    key: Callable[[ResultRow], K] = pair_key,  # type: ignore[assignment]
) -> list[tuple[K, ResultRow | None, ResultRow | None]]:
    """(key, base row, other row) for every key of either side, in one stable order (the key's
    text); None where a side lacks the key. Of one side's rows with the same key, the last counts.
    """
    b = {key(r): r for r in base}
    o = {key(r): r for r in other}
    keys = sorted(set(b) | set(o), key=lambda k: str(tuple(k)))  # type: ignore[arg-type]
    return [(k, b.get(k), o.get(k)) for k in keys]


def paired_round_ratios(base: ResultRow, other: ResultRow) -> np.ndarray:
    """Per round both were timed in: other's slice median over base's (drift cancels within a
    round)."""
    o, b = other.latency, base.latency
    return round_ratios(o.samples_ns, o.slices, b.samples_ns, b.slices)
