"""Input lengths a run times: ``--input-samples 1250,2500,5000`` or a suite's ``input_samples = [...]``.

One length is the run's input length as before (``Suite.input_samples``); several make each variant one
row per length (``Suite.lengths``), timed interleaved like any other variants, so that the report
can fit latency = fixed + slope × seconds (:mod:`ecgbench.bench.length_fit`). Parsing and checks
only; no heavy import.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ecgbench.errors import BadInputError
from ecgbench.variant import Variant


def whole_length(value: Any, what: str = "samples") -> int:
    """One input length in samples: a whole number >= 1 (``2500.5``, ``"long"``, ``0`` are not)."""
    if isinstance(value, bool):
        raise BadInputError(f"{what}: bad value {value!r} (an input length in samples)")
    if isinstance(value, float):
        if not value.is_integer():
            raise BadInputError(f"{what}: {value!r} is not a whole number of samples")
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text.lstrip("+-").isdigit():
            raise BadInputError(f"{what}: bad value {value!r} (an input length in samples)")
        value = int(text)
    if not isinstance(value, int):
        raise BadInputError(f"{what}: bad value {value!r} (an input length in samples)")
    if value < 1:
        raise BadInputError(f"{what}: every input length must be >= 1, not {value}")
    return value


def parse_lengths(value: Any, what: str = "samples") -> tuple[int, ...]:
    """``"1250,2500"``, ``[1250, 2500]`` or ``5000`` -> distinct lengths in the order given."""
    if isinstance(value, str):
        items: Iterable[Any] = [x for x in value.split(",") if x.strip()]
    elif isinstance(value, list | tuple):
        items = value
    else:
        items = [value]
    out = tuple(whole_length(v, what) for v in items)
    if not out:
        raise BadInputError(f"{what}: no input length given")
    if len(set(out)) != len(out):
        raise BadInputError(f"{what}: a length is given twice ({', '.join(map(str, out))})")
    return out


def split_lengths(lengths: tuple[int, ...]) -> tuple[int | None, tuple[int, ...]]:
    """``(input_samples, lengths)`` for a Suite: one length stays ``input_samples`` (as before)."""
    return (lengths[0], ()) if len(lengths) == 1 else (None, lengths)


def check_length_keys(
    by_variant: dict[str, int],
    models: tuple[str, ...],
    backends: tuple[str, ...],
    precisions: tuple[str, ...],
    lengths: tuple[int, ...] = (),
) -> None:
    """Every ``input_samples_by_variant`` key names a variant of the suite (a typo would silently time
    the default length); a list of lengths and per-variant lengths are not combined."""
    if by_variant and lengths:
        raise BadInputError(
            "input_samples_by_variant cannot be combined with a list of input_samples"
        )
    for key in by_variant:
        v = Variant.parse(key) if key.count("/") >= 2 else None
        if v is None:
            raise BadInputError(f"input_samples_by_variant: {key!r} is not model/backend/precision")
        if (
            v.backend not in backends
            or v.precision not in precisions
            or (_names_models(models) and v.model not in models)
        ):
            raise BadInputError(
                f"input_samples_by_variant: {key!r} names no variant of this suite "
                f"(models {', '.join(models)}; backends {', '.join(backends)}; "
                f"precisions {', '.join(precisions)})"
            )


def _names_models(models: tuple[str, ...]) -> bool:
    """Whether ``models`` are zoo names a key can be checked against (not ``all`` nor a path)."""
    return not any(m == "all" or "/" in m or m.endswith(".pt") for m in models)


def lengths_of(
    plan_samples: int | None, lengths: tuple[int, ...], by_variant: int | None, default: int
) -> tuple[int, ...]:
    """The lengths one variant is timed at: its own, the list, the run's, or the model's window."""
    if by_variant:
        return (by_variant,)
    if lengths:
        return lengths
    return (plan_samples or default,)


def check_model_lengths(model: str, shortest: int, lengths: Iterable[int]) -> None:
    """Every input at least ``shortest`` samples: a ConvNeXt's stem and each stage's stride-2
    downsampling divide the length, and a shorter input has no shape to run."""
    for n in lengths:
        if n < shortest:
            raise BadInputError(
                f"{model}: an input of {n} samples is shorter than its downsampling allows "
                f"(at least {shortest} samples)"
            )
