"""Suites: TOML files in ``runners/`` that name a whole grid of variants to time."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ecgbench.backends import BACKENDS, precisions_of, precisions_summary
from ecgbench.bench.lengths import (
    check_length_keys,
    parse_lengths,
    split_lengths,
    whole_length,
)
from ecgbench.bench.scenarios.stream.config import StreamConfig
from ecgbench.errors import BadInputError
from ecgbench.numbers import NON_NEGATIVE, POSITIVE, Range, check_number
from ecgbench.precision import FLOAT_TYPES, PRECISIONS
from ecgbench.statistics import min_samples, parse_percentile
from ecgbench.tomlio import read_toml

SCENARIOS = (
    "latency",
    "throughput",
    "stream",
)  # stream: opt-in, bench/scenarios/stream/scenario.py


@dataclass(frozen=True)
class Suite:
    name: str = "adhoc"
    description: str = ""
    models: tuple[str, ...] = ("all",)
    backends: tuple[str, ...] = ("openvino",)
    devices: tuple[str, ...] = ("CPU",)
    precisions: tuple[str, ...] = ("fp32",)
    batch: tuple[int, ...] = (1,)
    threads: int | None = None  # None: every usable core
    scenario: str = "latency"
    duration: float = 5.0
    min_iters: int = 100
    # A percentile ("p99") the run must time enough calls for: raises min_iters to what MLPerf
    # LoadGen's rule needs (662 for p99, 64 for p90; statistics.py). None: min_iters only.
    min_samples_for: str | None = None
    warmup: float = 1.0
    round_s: float = 0.5
    settle_s: float = 0.05
    static_shape: bool = True
    input_samples: int | None = None  # input length; None: the model's 10 s window
    # Input length of single variants, by Variant.name "model/backend/precision" (gate_power's
    # slowdown runs, which lengthen each variant's input by what makes it 20 % slower).
    input_samples_by_variant: dict[str, int] = field(default_factory=dict)
    # Several input lengths (`--input-samples 1250,2500,5000`, a suite's `input_samples = [...]`): every variant
    # is timed at each, one row per length, interleaved (bench/lengths.py). Empty: one length.
    lengths: tuple[int, ...] = ()
    # Float arithmetic of the layers an INT8 model leaves unquantized (f32, or bf16 where the
    # device executes it): OpenVINO's CPU default is bf16 on AMX CPUs, ecgbench's is f32.
    int8_rest: str = "f32"
    # A precision the device does not execute (bf16 on an AVX2 CPU) is skipped with a note when
    # it came from "all" or a suite; named on the command line, it is an error.
    skip_unsupported: bool = True
    # The streaming scenario's hop, window, length and background load (None: its defaults);
    # only with scenario "stream".
    stream: StreamConfig | None = None
    # Memory and cold/warm start-up of every variant in fresh processes (``run --footprint``,
    # bench/probes/footprint.py): opt-in, it adds two processes per variant.
    footprint: bool = False
    # Also time each variant end to end (``run --pipeline``, bench/probes/pipeline.py): raw record window
    # -> the model's preprocessing -> inference -> decisions, beside the model-only row.
    pipeline: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def jobs(self, model_names: list[str]) -> list[tuple[str, str, str, str, int]]:
        """(model, backend, device, precision, batch) for every combination that exists.

        What a backend can be asked for is its class's; whether the device executes it is decided
        per run by ``precision.plan_execution``.
        """
        return [
            (m, b, d, p, n)
            for m in model_names
            for b in self.backends
            for d in self.devices
            for p in self.precisions
            if p in precisions_of(b)
            for n in self.batch
        ]

    def min_calls(self) -> int:
        """Timed calls per variant: ``min_iters``, or more where ``min_samples_for`` needs them."""
        if self.min_samples_for is None:
            return self.min_iters
        return max(self.min_iters, min_samples(parse_percentile(self.min_samples_for)))

    def validate(self) -> Suite:
        for b in self.backends:
            if b not in BACKENDS:
                raise BadInputError(f"unknown backend {b!r}; use {', '.join(BACKENDS)} or all")
        for p in self.precisions:
            if p not in PRECISIONS:
                raise BadInputError(f"unknown precision {p!r}; use {', '.join(PRECISIONS)} or all")
        if self.int8_rest not in FLOAT_TYPES:
            raise BadInputError(
                f"unknown int8_rest {self.int8_rest!r}; use {', '.join(FLOAT_TYPES)}"
            )
        if self.scenario not in SCENARIOS:
            raise BadInputError(f"unknown scenario {self.scenario!r}; use {', '.join(SCENARIOS)}")
        self._validate_stream()
        self._validate_numbers()
        if not self.models:
            raise BadInputError("no models named (models is empty); name some, or all")
        if any(n < 1 for n in self.batch) or self.min_iters < 1:
            raise BadInputError("batch and min-iters must be >= 1")
        if self.threads is not None and self.threads < 1:
            raise BadInputError("threads must be >= 1")
        if self.min_samples_for is not None:
            try:
                parse_percentile(self.min_samples_for)
            except ValueError as e:
                raise BadInputError(f"min_samples_for: {e}") from None
        if self.input_samples is not None and self.input_samples < 1:
            raise BadInputError("input_samples (input length) must be >= 1")
        if any(n < 1 for n in self.input_samples_by_variant.values()):
            raise BadInputError("input_samples_by_variant: every input length must be >= 1")
        if self.lengths:
            parse_lengths(list(self.lengths))  # whole, >= 1, distinct
            if self.input_samples is not None:
                raise BadInputError(
                    "give one input length (input_samples) or a list (lengths), not both"
                )
        if not isinstance(self.static_shape, bool):
            raise BadInputError(f"static_shape must be true or false, not {self.static_shape!r}")
        if not isinstance(self.footprint, bool):
            raise BadInputError(f"footprint must be true or false, not {self.footprint!r}")
        if not isinstance(self.pipeline, bool):
            raise BadInputError(f"pipeline must be true or false, not {self.pipeline!r}")
        if self.pipeline and self.scenario != "latency":
            raise BadInputError(
                f"pipeline times one call at a time (the latency scenario), not {self.scenario}"
            )
        if not any(p in precisions_of(b) for b in self.backends for p in self.precisions):
            raise BadInputError(f"no backend runs those precisions ({precisions_summary()})")
        return self

    def _validate_numbers(self) -> None:
        """Finite and in range (NaN passes a ``<= 0`` check, and a round of 0 s never ends)."""
        check_number("duration", self.duration, POSITIVE)
        check_number("warmup", self.warmup, NON_NEGATIVE)
        check_number("round_s", self.round_s, POSITIVE)
        check_number("settle_s", self.settle_s, NON_NEGATIVE)
        for k, v in (("batch", self.batch), ("min_iters", (self.min_iters,))):
            for n in v:
                check_number(k, n, Range(lo=1))

    def _validate_stream(self) -> None:
        """Stream options belong to the stream scenario, which times one window per call."""
        if self.scenario != "stream":
            if self.stream is not None:
                raise BadInputError("stream options (hop, window, background) need scenario stream")
            return
        (self.stream or StreamConfig()).validate()
        if self.batch != (1,):
            raise BadInputError("the stream scenario runs one window per call: batch must be 1")


def _tuple(v: Any, key: str) -> tuple:
    if isinstance(v, str):
        return tuple(x.strip() for x in v.split(",") if x.strip())
    if isinstance(v, int | float):
        return (v,)
    if isinstance(v, list):
        return tuple(v)
    raise BadInputError(f"runner key {key!r} must be a list or a string")


def expand_all(plan: Suite) -> Suite:
    b = tuple(BACKENDS) if "all" in plan.backends else plan.backends
    p = PRECISIONS if "all" in plan.precisions else plan.precisions
    return replace(plan, backends=tuple(b), precisions=tuple(p))


# Suite keys written before the input length had its own name: still read, under the new one.
KEY_ALIASES = {"samples": "input_samples", "samples_by_variant": "input_samples_by_variant"}


def _new_names(doc: dict[str, Any], p: Path) -> dict[str, Any]:
    out = dict(doc)
    for old, new in KEY_ALIASES.items():
        if old in out:
            if new in out:
                raise BadInputError(f"{p}: {old} is the older name of {new}; give one of them")
            out[new] = out.pop(old)
    return out


def load_suite(path: str | os.PathLike[str]) -> Suite:
    p = Path(path)
    doc = _new_names(read_toml(p), p)
    known = {f.name for f in fields(Suite)}
    unknown = set(doc) - known
    if unknown:
        raise BadInputError(f"{p}: unknown keys {', '.join(sorted(unknown))}")
    kw: dict[str, Any] = {"name": doc.get("name", p.stem)}
    try:
        for k, v in doc.items():
            if k in ("models", "backends", "devices", "precisions"):
                kw[k] = tuple(str(x).lower() if k != "devices" else str(x) for x in _tuple(v, k))
            elif k == "batch":
                kw[k] = tuple(int(x) for x in _tuple(v, k))
            elif k in ("duration", "warmup", "round_s", "settle_s"):
                kw[k] = float(v)
            elif k == "min_iters":
                kw[k] = int(v)
            elif k in ("input_samples", "lengths"):
                kw["input_samples"], kw["lengths"] = split_lengths(parse_lengths(v, k))
            elif k == "input_samples_by_variant":
                kw[k] = {
                    str(name): whole_length(n, f"input_samples_by_variant {name}")
                    for name, n in dict(v).items()
                }
            elif k == "min_samples_for":
                kw[k] = str(v)
            elif k == "int8_rest":
                kw[k] = str(v).lower()
            elif k == "stream":
                kw[k] = StreamConfig.from_dict(v, f"{p}: stream")
            elif k == "skip_unsupported":
                raise BadInputError(f"{p}: skip_unsupported is not a profile key")
            elif k == "threads":
                kw[k] = None if v in (0, "auto") else int(v)
            elif k not in ("name",):
                kw[k] = v
    except (TypeError, ValueError) as e:
        raise BadInputError(f"{p}: bad value ({e})") from None
    suite = expand_all(Suite(**kw)).validate()
    try:
        check_length_keys(
            suite.input_samples_by_variant,
            suite.models,
            suite.backends,
            suite.precisions,
            suite.lengths,
        )
    except BadInputError as e:
        raise BadInputError(f"{p}: {e}") from None
    return suite
