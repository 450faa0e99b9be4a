"""The model card: what a model expects as input and what its outputs mean, one TOML file.

A brought model (ONNX or OpenVINO IR) is described only by its card; the zoo's own ConvNeXt
checkpoints are described by the same structure (:func:`checkpoint_card`), so records are read,
preprocessed and scored along one path for both kinds. Every key is required and no other key is
accepted: a card that is almost right is refused in one line naming the key, never half-used.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecgbench.errors import BadInputError

LAYOUTS = ("NCL", "NLC")
UNITS = ("mV", "uV")
ACTIVATIONS = ("sigmoid", "softmax", "none")
LABEL_KINDS = ("snomed", "ptbxl-superclass", "ptbxl-statement")
# step name -> its argument names (the number of arguments a step takes)
STEPS: dict[str, tuple[str, ...]] = {
    "bandpass": ("lo", "hi", "order"),
    "highpass": ("hz", "order"),
    "median_baseline": ("window_samples",),
    "mean_baseline": ("window_samples",),
    "zscore": (),
    "clip": ("lo", "hi"),
}
SECTIONS: dict[str, tuple[str, ...]] = {
    "input": ("fs", "seconds", "leads", "layout", "units"),
    "preprocess": ("steps",),
    "output": ("classes", "labels", "activation", "threshold"),
}
_STEP = re.compile(r"^\s*([a-z_]+)\s*(?:\((.*)\))?\s*$")


@dataclass(frozen=True)
class Step:
    """One preprocessing step, ``bandpass(1, 47, 3)``."""

    name: str
    args: tuple[float, ...] = ()

    def __str__(self) -> str:
        return self.name + (f"({', '.join(f'{a:g}' for a in self.args)})" if self.args else "")


@dataclass(frozen=True)
class ModelCard:
    fs: float
    seconds: float
    leads: tuple[str, ...]
    layout: str
    units: str
    steps: tuple[Step, ...]
    classes: tuple[str, ...]
    labels: str
    activation: str
    thresholds: tuple[float, ...]

    @property
    def samples(self) -> int:
        return round(self.fs * self.seconds)

    @property
    def channels(self) -> int:
        return len(self.leads)

    def input_shape(self, batch: int = 1, samples: int | None = None) -> tuple[int, int, int]:
        """The model's input shape in its own layout."""
        n = self.samples if samples is None else samples
        return (batch, self.channels, n) if self.layout == "NCL" else (batch, n, self.channels)

    def to_dict(self) -> dict[str, Any]:
        """The card as its TOML sections (what the manifest records)."""
        thr: float | list[float] = list(self.thresholds)
        if len(set(self.thresholds)) == 1:
            thr = self.thresholds[0]
        return {
            "input": {
                "fs": self.fs,
                "seconds": self.seconds,
                "leads": list(self.leads),
                "layout": self.layout,
                "units": self.units,
            },
            "preprocess": {"steps": [str(s) for s in self.steps]},
            "output": {
                "classes": list(self.classes),
                "labels": self.labels,
                "activation": self.activation,
                "threshold": thr,
            },
        }


def parse_step(text: str, where: str = "card") -> Step:
    if not isinstance(text, str) or not (m := _STEP.match(text)):
        raise BadInputError(f"{where}: preprocess step {text!r} is not NAME or NAME(ARGS)")
    name, raw = m.group(1), m.group(2)
    if name not in STEPS:
        raise BadInputError(f"{where}: unknown preprocess step {name!r}; known: {', '.join(STEPS)}")
    try:
        args = tuple(float(a) for a in raw.split(",")) if raw and raw.strip() else ()
    except ValueError:
        raise BadInputError(f"{where}: step {text!r} has a non-numeric argument") from None
    want = STEPS[name]
    if len(args) != len(want):
        sig = f"{name}({', '.join(want)})" if want else name
        raise BadInputError(f"{where}: step {text!r} takes {len(want)} argument(s): {sig}")
    return Step(name, args)


def _check_keys(doc: dict[str, Any], where: str) -> None:
    for section in doc:
        if section not in SECTIONS:
            raise BadInputError(
                f"{where}: unknown section [{section}]; a card has [input], [preprocess], [output]"
            )
    for section, keys in SECTIONS.items():
        got = doc.get(section)
        if not isinstance(got, dict):
            raise BadInputError(f"{where}: missing section [{section}]")
        for k in got:
            if k not in keys:
                raise BadInputError(
                    f"{where}: unknown key {section}.{k}; [{section}] takes {', '.join(keys)}"
                )
        for k in keys:
            if k not in got:
                raise BadInputError(f"{where}: missing key {section}.{k}")


def _choice(value: Any, allowed: tuple[str, ...], key: str, where: str) -> str:
    if value not in allowed:
        raise BadInputError(f"{where}: {key} = {value!r}; use one of {', '.join(allowed)}")
    return str(value)


def _positive(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise BadInputError(f"{where}: {key} must be a positive number, not {value!r}")
    return float(value)


def _names(value: Any, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise BadInputError(f"{where}: {key} must be a non-empty list of strings")
    if len(set(value)) != len(value):
        raise BadInputError(f"{where}: {key} names one entry twice")
    return tuple(value)


def _thresholds(value: Any, n: int, where: str) -> tuple[float, ...]:
    vals = value if isinstance(value, list) else [value]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals):
        raise BadInputError(f"{where}: output.threshold must be a number or a list of numbers")
    if isinstance(value, list) and len(vals) != n:
        raise BadInputError(
            f"{where}: output.threshold has {len(vals)} values for {n} output.classes"
        )
    return tuple(float(v) for v in vals) * (n if not isinstance(value, list) else 1)


def card_from_dict(doc: dict[str, Any], where: str = "card") -> ModelCard:
    """A checked card; :class:`BadInputError` names the first key that is missing or wrong."""
    _check_keys(doc, where)
    i, p, o = doc["input"], doc["preprocess"], doc["output"]
    if not isinstance(p["steps"], list):
        raise BadInputError(f"{where}: preprocess.steps must be a list ([] = the raw signal)")
    classes = _names(o["classes"], "output.classes", where)
    card = ModelCard(
        fs=_positive(i["fs"], "input.fs", where),
        seconds=_positive(i["seconds"], "input.seconds", where),
        leads=_names(i["leads"], "input.leads", where),
        layout=_choice(i["layout"], LAYOUTS, "input.layout", where),
        units=_choice(i["units"], UNITS, "input.units", where),
        steps=tuple(parse_step(s, where) for s in p["steps"]),
        classes=classes,
        labels=_choice(o["labels"], LABEL_KINDS, "output.labels", where),
        activation=_choice(o["activation"], ACTIVATIONS, "output.activation", where),
        thresholds=_thresholds(o["threshold"], len(classes), where),
    )
    from ecgbench.labels import check_classes  # the label kinds know their class vocabulary

    check_classes(card, where)
    return card


def read_card(path: str | os.PathLike[str]) -> ModelCard:
    from ecgbench.tomlio import read_toml

    p = Path(path)
    return card_from_dict(read_toml(p), where=str(p))


def checkpoint_card(ckpt: Any) -> ModelCard:
    """The card of an ecgbench ConvNeXt checkpoint: what its training preprocessing means."""
    from ecgbench.data.records import STANDARD_LEADS

    pp = ckpt.preprocessing
    lo, hi = pp.band_hz
    return ModelCard(
        fs=float(pp.fs),
        seconds=float(pp.eval_seconds),
        leads=STANDARD_LEADS,
        layout="NCL",
        units="mV",
        steps=(Step("bandpass", (float(lo), float(hi), float(pp.filter_order))), Step("zscore")),
        classes=tuple(ckpt.classes),
        labels="snomed",
        activation="sigmoid",
        thresholds=tuple(float(t) for t in ckpt.thresholds),
    )


def activate(y: Any, activation: str) -> Any:
    """Model outputs -> per-class probabilities, as the card's activation says."""
    import numpy as np

    y = np.asarray(y, dtype=np.float64)
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-np.clip(y, -500, 500)))
    if activation == "softmax":
        e = np.exp(y - y.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return y
