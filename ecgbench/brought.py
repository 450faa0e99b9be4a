"""A brought model file (ONNX, or OpenVINO IR ``.xml`` beside its ``.bin``) checked against its card.

Nothing from the file is executed as code: ONNX is parsed with ``onnx`` and run in ONNX Runtime, IR
is read by OpenVINO; no pickle, no custom Python. Refused, each in one line: a file that is
neither; an IR without its ``.bin``; ONNX external data outside the model's folder; an operator
domain ONNX Runtime does not run; an input or output that contradicts the card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgbench.card import ModelCard
from ecgbench.errors import BadInputError

# operator domains ONNX Runtime's CPU provider implements
ORT_DOMAINS = ("", "ai.onnx", "ai.onnx.ml", "com.microsoft", "com.microsoft.nchwc")
KINDS = {".onnx": "onnx", ".xml": "openvino"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def check_name(name: str) -> str:
    """A zoo name that stays one plain folder name inside the zoo."""
    if not _NAME.match(name) or ".." in name:
        raise BadInputError(
            f"model name {name!r} must be letters, digits, '_', '-', '.' (no '..', no '/')"
        )
    return name


@dataclass(frozen=True)
class ModelFile:
    kind: str  # "onnx" | "openvino"
    main: Path
    files: tuple[Path, ...]  # every file the model needs, main first
    input_shape: tuple[int | None, ...]  # None: a dynamic dimension


def _refuse_external(path: Path, model) -> list[Path]:
    """External-data files of an ONNX model, each inside the model's folder (else refused)."""
    import onnx.external_data_helper as ext

    folder = path.parent.resolve()
    out: list[Path] = []
    for t in ext._get_all_tensors(model):
        if not ext.uses_external_data(t):
            continue
        loc = next((e.value for e in t.external_data if e.key == "location"), "")
        target = (folder / loc).resolve()
        if Path(loc).is_absolute() or not target.is_relative_to(folder):
            raise BadInputError(
                f"{path}: refused, external data {loc!r} points outside the model's folder"
            )
        if not target.is_file():
            raise BadInputError(f"{path}: external data file {loc!r} is missing")
        if target not in out:
            out.append(target)
    return out


def _inspect_onnx(path: Path) -> ModelFile:
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # protobuf raises DecodeError and friends for a file that is not ONNX
        raise BadInputError(f"{path}: not an ONNX model (the file does not parse)") from None
    if not model.graph.node:
        raise BadInputError(f"{path}: not an ONNX model (no graph nodes)")
    extra = _refuse_external(path, model)
    for node in model.graph.node:
        if node.domain not in ORT_DOMAINS:
            raise BadInputError(
                f"{path}: refused, operator {node.op_type} of custom domain {node.domain!r} "
                "(ONNX Runtime runs only its built-in operators; no custom ops are loaded)"
            )
    inits = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise BadInputError(f"{path}: the model has {len(inputs)} inputs; ecgbench feeds one")
    dims = inputs[0].type.tensor_type.shape.dim
    shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims)
    return ModelFile("onnx", path, (path, *extra), shape)


def _inspect_ir(path: Path) -> ModelFile:
    import openvino as ov

    bin_ = path.with_suffix(".bin")
    if not bin_.is_file():
        raise BadInputError(f"{path}: OpenVINO IR without its weights file {bin_.name}")
    try:
        model = ov.Core().read_model(str(path), str(bin_))
    except Exception as e:  # OpenVINO raises RuntimeError for a malformed IR or unknown op
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise BadInputError(f"{path}: not a readable OpenVINO IR ({first})") from None
    if len(model.inputs) != 1:
        raise BadInputError(f"{path}: the model has {len(model.inputs)} inputs; ecgbench feeds one")
    ps = model.inputs[0].get_partial_shape()
    shape = tuple(d.get_length() if d.is_static else None for d in ps)
    return ModelFile("openvino", path, (path, bin_), shape)


def inspect_model(path: str | Path) -> ModelFile:
    p = Path(path)
    if not p.is_file():
        raise BadInputError(f"model file not found: {p}")
    kind = KINDS.get(p.suffix.lower())
    if kind is None:
        raise BadInputError(
            f"{p}: neither ONNX (.onnx) nor OpenVINO IR (.xml + .bin), nor an ecgbench "
            "checkpoint (.pt)"
        )
    return _inspect_onnx(p) if kind == "onnx" else _inspect_ir(p)


def check_input(mf: ModelFile, card: ModelCard) -> None:
    """The file's input shape against the card: rank, layout, channels, samples."""
    s = mf.input_shape
    where = f"{mf.main.name}: input {_fmt(s)}"
    if len(s) != 3:
        raise BadInputError(f"{where} is not [batch, leads, samples] or [batch, samples, leads]")
    c_ax, l_ax = (1, 2) if card.layout == "NCL" else (2, 1)
    ch, n = s[c_ax], s[l_ax]
    if ch is not None and ch != card.channels:
        if s[l_ax] == card.channels and ch in (card.samples, None):
            other = "NLC" if card.layout == "NCL" else "NCL"
            raise BadInputError(f"{where} is {other}, the card declares layout = {card.layout!r}")
        raise BadInputError(
            f"{where} has {ch} input channels, the card names {card.channels} leads"
        )
    if n is not None and n != card.samples:
        raise BadInputError(
            f"{where} takes {n} samples; the card's fs × seconds = {card.fs:g} × "
            f"{card.seconds:g} = {card.samples}"
        )


def _fmt(shape: tuple[int | None, ...]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def run_once(mf: ModelFile, card: ModelCard, x: np.ndarray) -> np.ndarray:
    """One inference of the file as brought (ORT for ONNX, OpenVINO f32 for IR): its output."""
    from ecgbench.backends import LoadSpec, backend_for_artifact, get_backend

    b = get_backend(backend_for_artifact(mf.main))
    try:
        b.load(
            LoadSpec(
                artifact=mf.main,
                channels=card.channels,
                samples=x.shape[1 if card.layout == "NLC" else 2],
                layout=card.layout,
                inference_precision="f32",
            )
        )
        return b.infer(x)
    except BadInputError:
        raise
    except Exception as e:  # each runtime raises its own types; the line says what it said
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise BadInputError(f"{mf.main.name}: does not run on the card's input ({first})") from None
    finally:
        b.close()


def check_output(mf: ModelFile, card: ModelCard, y: np.ndarray) -> None:
    if y.ndim != 2 or y.shape[1] != len(card.classes):
        raise BadInputError(
            f"{mf.main.name}: output {list(y.shape)} does not give one value per class "
            f"([batch, {len(card.classes)}] for {len(card.classes)} output.classes)"
        )
