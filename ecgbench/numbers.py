"""One rule for numbers from flags, suites and documents: finite, and inside the range they mean.

NaN compares false with everything, so a check written ``if x <= 0`` lets it through and a run of
``--duration nan`` never ends; every bound here is written so that NaN and infinities fail it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ecgbench.errors import BadInputError


@dataclass(frozen=True)
class Range:
    """An interval; ``lo``/``hi`` of None are unbounded, ``*_open`` excludes the bound itself."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False

    def contains(self, x: float) -> bool:
        if not math.isfinite(x):
            return False
        if self.lo is not None and not (x > self.lo if self.lo_open else x >= self.lo):
            return False
        return self.hi is None or (x < self.hi if self.hi_open else x <= self.hi)

    def __str__(self) -> str:
        if self.lo is None and self.hi is None:
            return "a finite number"
        if self.hi is None:
            return f"a finite number {'>' if self.lo_open else '>='} {self.lo:g}"
        if self.lo is None:
            return f"a finite number {'<' if self.hi_open else '<='} {self.hi:g}"
        left, right = "(" if self.lo_open else "[", ")" if self.hi_open else "]"
        return f"a number in {left}{self.lo:g}, {self.hi:g}{right}"


FINITE = Range()
POSITIVE = Range(lo=0, lo_open=True)
NON_NEGATIVE = Range(lo=0)
PROBABILITY = Range(lo=0, hi=1, lo_open=True, hi_open=True)


def check_number(what: str, value: object, within: Range = FINITE) -> float:
    """``value`` as a float if it is a real number inside ``within``; else one line (exit 2)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInputError(f"{what} must be {within}, not {value!r}")
    x = float(value)
    if not within.contains(x):
        raise BadInputError(f"{what} must be {within}, not {value!r}")
    return x


def check_samples(what: str, samples: object) -> None:
    """Timing samples: a list of finite, positive numbers (a NaN or a 0 would fake a verdict).

    Checked as one array (a store of 1,000 runs holds tens of millions of samples); the first bad
    one is then named by its index."""
    import numpy as np

    if not isinstance(samples, list | tuple):
        raise BadInputError(
            f"{what} must be a list of positive numbers, not {type(samples).__name__}"
        )
    if not samples:
        return
    if _only_numbers(samples):
        try:
            a = np.asarray(samples, dtype=np.float64)
        except OverflowError:  # an integer beyond float: named below
            a = np.zeros(1)
        if bool(np.all(np.isfinite(a) & (a > 0))):
            return
    for i, s in enumerate(samples):
        if not _positive_number(s):
            raise BadInputError(f"{what}[{i}] must be a finite positive number, not {repr(s)[:40]}")


def _positive_number(s: object) -> bool:
    if isinstance(s, bool) or not isinstance(s, int | float):
        return False
    try:
        return POSITIVE.contains(float(s))
    except OverflowError:
        return False


def _only_numbers(samples: list | tuple) -> bool:
    """No bool, str or None hiding in a list numpy would convert (True -> 1.0, "5" -> 5.0)."""
    return set(map(type, samples)) <= {int, float}


def check_all(what: str, values: Sequence[object], within: Range = FINITE) -> None:
    for v in values:
        check_number(what, v, within)
